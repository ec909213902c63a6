import Logging
import TidemarkCore

/// Reads every target's state from its history table, concurrently on dedicated threads.
/// Thread-safe value.
public struct FleetReader: Sendable {
    public var registry: BackendRegistry
    public var retry: RetryPolicy
    public var logger: Logger

    public init(registry: BackendRegistry, retry: RetryPolicy = RetryPolicy(attempts: 2), logger: Logger) {
        self.registry = registry
        self.retry = retry
        self.logger = logger
    }

    /// Each target's state by name, or the error that kept it from being read.
    public func readStates(of targets: [Target], inventory: Inventory, pool: DispatchWorkers) async -> [String: Result<TargetState, BackendError>] {
        await withTaskGroup(of: (String, Result<TargetState, BackendError>).self) { group in
            for target in targets {
                let timeouts = inventory.environment(named: target.environment)?.timeouts ?? inventory.defaults
                group.addTask { [registry, retry, logger] in
                    let result: Result<TargetState, BackendError>
                    do {
                        result = .success(
                            try await pool.run { () throws -> TargetState in
                                let backend = try registry.backend(for: target)
                                let connection = try retry.connect(target: target, backend: backend, timeouts: timeouts, logger: logger)
                                defer { connection.close() }
                                return TargetState(history: try connection.readHistory())
                            })
                    } catch let error as BackendError {
                        result = .failure(error)
                    } catch {
                        result = .failure(.queryFailed(target: target.name, message: "\(error)", sqlState: nil))
                    }
                    return (target.name, result)
                }
            }
            var states: [String: Result<TargetState, BackendError>] = [:]
            for await (name, result) in group { states[name] = result }
            return states
        }
    }
}
