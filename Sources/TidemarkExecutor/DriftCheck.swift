import Logging
import TidemarkCore

/// How a target's live schema compares with the fingerprint `rehearse` recorded for its version.
/// Thread-safe value.
public struct DriftResult: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable {
        /// The live schema is the recorded one.
        case none
        /// Someone changed the schema outside the plan; `differences` says how.
        case drift
        /// Same structure, columns in another physical order (e.g. an undo re-added one last).
        case columnOrder = "column-order"
        /// No fingerprint recorded for this version and backend: run `tidemark rehearse --record`.
        case unrecorded
        /// The target's schema could not be read; `error` says why.
        case unreadable
    }

    public var status: Status
    /// `- line` (recorded, missing live) and `+ line` (live, not recorded), the first few.
    public var differences: [String]
    /// How many differences there are in all.
    public var differenceCount: Int
    public var error: String?

    public init(status: Status, differences: [String] = [], differenceCount: Int = 0, error: String? = nil) {
        self.status = status
        self.differences = differences
        self.differenceCount = differenceCount
        self.error = error
    }
}

/// `status --drift`: fingerprints every target concurrently on dedicated threads and compares
/// each with the recorded fingerprint of the version it is at. Opt-in because it reads the whole
/// catalog of every target, where plain `status` reads one small table. Thread-safe value.
public struct DriftCheck: Sendable {
    public var registry: BackendRegistry
    public var logger: Logger
    /// How many differences each result keeps.
    public var differenceLimit: Int

    /// The command that records the missing fingerprints, as the user can run it.
    public var recordHint = "tidemark rehearse --record"

    public init(registry: BackendRegistry, logger: Logger, differenceLimit: Int = 5) {
        self.registry = registry
        self.logger = logger
        self.differenceLimit = differenceLimit
    }

    /// Each target's drift by name. `versions` holds each target's version (nil: nothing applied,
    /// not checked); `recorded` gives the fingerprint of a version for a backend kind.
    public func check(
        _ targets: [Target], versions: [String: String], inventory: Inventory, pool: DispatchWorkers,
        recorded: @escaping @Sendable (_ version: String, _ backend: BackendKind) -> SchemaFingerprint?
    ) async -> [String: DriftResult] {
        let checked = targets.filter { versions[$0.name] != nil }
        return await pool.each(checked, inventory: inventory) { [registry, logger, differenceLimit] target, timeouts in
            guard let version = versions[target.name] else { return DriftResult(status: .unrecorded) }
            guard let expected = recorded(version, target.backendKind) else {
                return DriftResult(
                    status: .unrecorded,
                    error: "no fingerprint recorded for version \(version) on \(target.backendKind.rawValue); run `\(recordHint)`")
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
                    return DriftResult(status: .columnOrder, differences: Array(diff.lines.prefix(differenceLimit)), differenceCount: diff.lines.count)
                case .different(let diff):
                    return DriftResult(status: .drift, differences: Array(diff.lines.prefix(differenceLimit)), differenceCount: diff.lines.count)
                }
            } catch {
                return DriftResult(status: .unreadable, error: "\(error)")
            }
        }
    }
}
