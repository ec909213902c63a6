import Logging
import TidemarkCore

/// `status --drift`: fingerprints every target concurrently on dedicated threads and compares
/// each with the recorded fingerprint of the version it is at. Opt-in because it reads the whole
/// catalog of every target, where plain `status` reads one small table. Thread-safe value.
package struct DriftCheck: Sendable {
    package var registry: BackendRegistry
    package var logger: Logger
    /// How many differences each result keeps.
    package var differenceLimit: Int

    /// The command that records the missing fingerprints, as the user can run it.
    package var recordHint = "tidemark rehearse --record"

    package init(registry: BackendRegistry, logger: Logger, differenceLimit: Int = 5) {
        self.registry = registry
        self.logger = logger
        self.differenceLimit = differenceLimit
    }

    /// Each target's drift by name. `versions` holds each target's version (nil: nothing applied,
    /// not checked); `recorded` gives the fingerprint of a version for a backend kind.
    package func check(
        _ targets: [Target], versions: [String: String], inventory: Inventory, pool: DispatchWorkers,
        recorded: @escaping @Sendable (_ version: String, _ backend: BackendKind) -> SchemaFingerprint?
    ) async -> [String: DriftResult] {
        let checked = targets.filter { versions[$0.name] != nil }
        return await pool.each(checked, inventory: inventory) { [registry, logger, differenceLimit] target, timeouts in
            guard let version = versions[target.name] else { return DriftResult(status: .unrecorded) }
            guard let expected = recorded(version, target.backendKind) else {
                return DriftResult(
                    status: .unrecorded,
                    error:
                        "no fingerprint recorded for version \(version) on \(target.backendKind.rawValue); run `\(recordHint)`"
                )
            }
            do {
                let backend = try registry.backend(for: target)
                let connection = try backend.connect(to: target, access: .readOnly, timeouts: timeouts, logger: logger)
                defer { connection.close() }
                let live = try connection.fingerprint().withoutForeignHistories
                switch live.compare(to: expected) {
                case .equal:
                    return DriftResult(status: .none)
                case .columnOrder(let diff):
                    return DriftResult(
                        status: .columnOrder, differences: Array(diff.lines.prefix(differenceLimit)),
                        differenceCount: diff.lines.count)
                case .different(let diff):
                    return DriftResult(
                        status: .drift, differences: Array(diff.lines.prefix(differenceLimit)),
                        differenceCount: diff.lines.count)
                }
            } catch {
                return DriftResult(status: .unreadable, error: "\(error)")
            }
        }
    }
}
