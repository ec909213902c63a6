import Logging
import TidemarkCore

/// Reads every target's state from its history table, concurrently on dedicated threads.
/// Thread-safe value.
package struct FleetReader: Sendable {
    package var registry: BackendRegistry
    package var retry: RetryPolicy
    package var logger: Logger

    package init(registry: BackendRegistry, retry: RetryPolicy = RetryPolicy(attempts: 2), logger: Logger) {
        self.registry = registry
        self.retry = retry
        self.logger = logger
    }

    /// Each target's state by name, or the error that kept it from being read. Connections are
    /// read-only, so reading never creates a database; `missingDatabases` says whether one that
    /// does not exist yet is an error (`status`) or reads as empty (`plan`, `apply`, which creates it).
    /// `relations`: the tables the plan's lock-risky statements touch; their catalog size
    /// estimates are read in the same connection (one query), for the planner's lock-risk check.
    package func readStates(
        of targets: [Target], inventory: Inventory, pool: DispatchWorkers,
        missingDatabases: MissingDatabases = .reported,
        relations: [String] = [], batches: [String: BatchSpec] = [:]
    ) async -> [String: Result<TargetState, BackendError>] {
        // Targets that differ only in schema are read together, a few round trips for hundreds
        // of schemas (docs/tenants.md#shared-sessions-per-server); the lock-risk estimates are
        // per schema, so a plan with lock-risky statements reads each target on its own.
        var groups: [String: [Target]] = [:]
        var groupOrder: [String] = []
        var alone: [Target] = []
        for target in targets {
            if relations.isEmpty, let reader = try? registry.backend(for: target) as? any BatchHistoryReading,
                let key = reader.historyGroup(of: target, timeouts: inventory.timeouts(for: target))
            {
                if groups[key] == nil { groupOrder.append(key) }
                groups[key, default: []].append(target)
            } else {
                alone.append(target)
            }
        }
        var results: [String: Result<TargetState, BackendError>] = [:]
        results.reserveCapacity(targets.count)
        let chunks = groupOrder.flatMap { key -> [[Target]] in
            let members = groups[key] ?? []
            return stride(from: 0, to: members.count, by: Self.batch).map {
                Array(members[$0..<min($0 + Self.batch, members.count)])
            }
        }
        let batched = await withTaskGroup(of: [String: Result<TargetState, BackendError>]?.self) { group in
            for chunk in chunks {
                group.addTask { await pool.run { self.readTogether(chunk, inventory: inventory) } }
            }
            var read: [String: Result<TargetState, BackendError>] = [:]
            for await part in group {
                guard let part else { continue }
                read.merge(part) { first, _ in first }
            }
            return read
        }
        results.merge(batched) { first, _ in first }
        // Alone: the targets no batch could read, those read as empty (another tool's history
        // may be there), and those of a batch whose session failed (each fails on its own).
        // An unfinished backfill is read alone too: its progress needs the table's key range.
        let rest =
            alone
            + chunks.flatMap { $0 }.filter { target in
                guard case .success(let state)? = results[target.name] else { return true }
                return state.applied.isEmpty || state.backfill != nil
            }
        let single = await pool.each(rest, inventory: inventory) { [self] target, timeouts in
            readOne(
                target, timeouts: timeouts, missingDatabases: missingDatabases, relations: relations, batches: batches)
        }
        results.merge(single) { _, second in second }
        return results
    }

    /// Schemas read together in one job.
    static let batch = 250

    /// One group's histories on one session; nil when the session could not be had (each is
    /// then read on its own, so one broken server or session fails only its own targets).
    private func readTogether(_ chunk: [Target], inventory: Inventory) -> [String: Result<TargetState, BackendError>]? {
        guard let first = chunk.first, let reader = try? registry.backend(for: first) as? any BatchHistoryReading else {
            return nil
        }
        guard
            let (histories, server) = try? reader.readHistoriesAndServer(
                of: chunk, timeouts: inventory.timeouts(for: first), logger: logger)
        else { return nil }
        return histories.mapValues {
            $0.map {
                var state = TargetState(history: $0)
                state.server = server
                return state
            }
        }
    }

    /// One target's state on a connection of its own.
    private func readOne(
        _ target: Target, timeouts: Timeouts, missingDatabases: MissingDatabases, relations: [String],
        batches: [String: BatchSpec]
    ) -> Result<TargetState, BackendError> {
        do {
            let backend = try registry.backend(for: target)
            let connection = try retry.connect(
                target: target, backend: backend, access: .readOnly, timeouts: timeouts, logger: logger)
            defer { connection.close() }
            var state = TargetState(history: try connection.readHistory())
            state.server = connection.databaseServer
            if !relations.isEmpty { state.estimatedRows = try connection.estimatedRows(of: relations) }
            if state.applied.isEmpty { state.foreignHistory = try Self.foreignHistory(on: connection) }
            if let backfill = state.backfill,
                let spec = batches[BatchSpec.key(version: backfill.version, kind: backfill.kind)]
            {
                state.backfillStatus = Self.backfillStatus(
                    of: backfill, spec: spec, on: connection, estimates: state.estimatedRows)
            }
            return .success(state)
        } catch BackendError.databaseNotFound(_, _) where missingDatabases == .readAsEmpty {
            return .success(.empty)
        } catch {
            return .failure(error)
        }
    }
}

extension FleetReader {
    /// The first tool whose history table, in its exact shape, holds a row: a table that only
    /// shares the name (an application's own `schema_migrations`) or is empty does not count.
    /// Read only for targets with no Tidemark version in effect, so a Tidemark fleet pays nothing.
    static func foreignHistory(on connection: any BackendConnection) throws(BackendError) -> ForeignTool? {
        for tool in ForeignTool.readable {
            guard let rows = try connection.readRows(of: tool.historyTable), !rows.isEmpty else { continue }
            // Sqitch's MySQL registry is the server's database `sqitch`, shared by every database
            // there: a database with no table or view is not one Sqitch deployed to
            // (docs/mysql.md#adopting-on-mysql).
            if tool == .sqitch, connection.target.backendKind == .mysql, try connection.fingerprint().lines.isEmpty {
                continue
            }
            return tool
        }
        return nil
    }

    /// Where an unfinished backfill is: its checkpoint against the key range (two index probes).
    /// A table that cannot be read leaves the range out rather than failing the state.
    static func backfillStatus(
        of entry: HistoryEntry, spec: BatchSpec, on connection: any BackendConnection, estimates: [String: Double]
    ) -> BackfillStatus {
        var status = BackfillStatus(
            version: entry.version, table: spec.table, lastKey: entry.batch?.lastKey, rows: entry.batch?.rows ?? 0,
            minKey: nil,
            maxKey: nil, tableRows: estimates[spec.table])
        if case .ready(let low, let high)? = try? connection.batchTable(spec) {
            status.minKey = low
            status.maxKey = high
        }
        return status
    }

    /// What a target whose database does not exist yet (a new SQLite file) reads as. Thread-safe value.
    package enum MissingDatabases: Sendable, Hashable {
        /// An error naming the target and the path: `status` and `history` say so.
        case reported
        /// An empty history: what `plan` and `apply` work from (`apply` creates the database).
        case readAsEmpty
    }
}
