import Logging
import TidemarkCore
import TidemarkExecutor

/// The history use case: every row of one target's history table, oldest first.
package enum TargetHistory {
    /// The named target and its history rows, through a read-only connection: nothing is
    /// created, neither the history table nor a missing SQLite file.
    package static func read(
        target name: String, inventoryFile: String, registry: BackendRegistry, logger: Logger
    ) async throws(FleetError) -> (target: Target, entries: [HistoryEntry]) {
        let inventory = try await FleetInputs.fleet(at: inventoryFile, registry: registry, logger: logger)
        let target = try inventory.requireTarget(name)
        let timeouts = inventory.timeouts(for: target)
        do {
            let entries = try await DispatchWorkers(count: 1, label: "tidemark-history").run {
                () throws(BackendError) -> [HistoryEntry] in
                let connection = try registry.backend(for: target).connect(
                    to: target, access: .readOnly, timeouts: timeouts, logger: logger)
                defer { connection.close() }
                return try connection.readHistory()
            }
            return (target, entries)
        } catch let error as BackendError {
            throw .unreadable(error)
        } catch {
            throw .unreadable(.queryFailed(target: target.name, message: "\(error)", sqlState: nil))
        }
    }
}
