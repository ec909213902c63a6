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

    /// Each target's state by name, or the error that kept it from being read. Connections are
    /// read-only, so reading never creates a database; `missingDatabases` says whether one that
    /// does not exist yet is an error (`status`) or reads as empty (`plan`, `apply`, which creates it).
    /// `relations`: the tables the plan's lock-risky statements touch; their catalog size
    /// estimates are read in the same connection (one query), for the planner's lock-risk check.
    public func readStates(
        of targets: [Target], inventory: Inventory, pool: DispatchWorkers, missingDatabases: MissingDatabases = .reported,
        relations: [String] = [], batches: [String: BatchSpec] = [:]
    ) async -> [String: Result<TargetState, BackendError>] {
        await pool.each(targets, inventory: inventory) { [registry, retry, logger] target, timeouts in
            do {
                let backend = try registry.backend(for: target)
                let connection = try retry.connect(target: target, backend: backend, access: .readOnly, timeouts: timeouts, logger: logger)
                defer { connection.close() }
                var state = TargetState(history: try connection.readHistory())
                if !relations.isEmpty { state.estimatedRows = try connection.estimatedRows(of: relations) }
                if state.applied.isEmpty { state.foreignHistory = try Self.foreignHistory(on: connection) }
                if let backfill = state.backfill, let spec = batches[BatchSpec.key(version: backfill.version, kind: backfill.kind)] {
                    state.backfillStatus = Self.backfillStatus(of: backfill, spec: spec, on: connection, estimates: state.estimatedRows)
                }
                return .success(state)
            } catch BackendError.databaseNotFound(_, _) where missingDatabases == .readAsEmpty {
                return .success(.empty)
            } catch let error as BackendError {
                return .failure(error)
            } catch {
                return .failure(.queryFailed(target: target.name, message: "\(error)", sqlState: nil))
            }
        }
    }
}

extension FleetReader {
    /// The first tool whose history table, in its exact shape, holds a row: a table that only
    /// shares the name (an application's own `schema_migrations`) or is empty does not count.
    /// Read only for targets with no Tidemark version in effect, so a Tidemark fleet pays nothing.
    static func foreignHistory(on connection: any BackendConnection) throws(BackendError) -> ForeignTool? {
        for tool in ForeignTool.readable {
            if let rows = try connection.readRows(of: tool.historyTable), !rows.isEmpty { return tool }
        }
        return nil
    }

    /// Where an unfinished backfill is: its checkpoint against the key range (two index probes).
    /// A table that cannot be read leaves the range out rather than failing the state.
    static func backfillStatus(
        of entry: HistoryEntry, spec: BatchSpec, on connection: any BackendConnection, estimates: [String: Double]
    ) -> BackfillStatus {
        var status = BackfillStatus(
            version: entry.version, table: spec.table, lastKey: entry.batch?.lastKey, rows: entry.batch?.rows ?? 0, minKey: nil,
            maxKey: nil, tableRows: estimates[spec.table])
        if case .ready(let low, let high)? = try? connection.batchTable(spec) {
            status.minKey = low
            status.maxKey = high
        }
        return status
    }

    /// What a target whose database does not exist yet (a new SQLite file) reads as. Thread-safe value.
    public enum MissingDatabases: Sendable, Hashable {
        /// An error naming the target and the path: `status` and `history` say so.
        case reported
        /// An empty history: what `plan` and `apply` work from (`apply` creates the database).
        case readAsEmpty
    }
}
