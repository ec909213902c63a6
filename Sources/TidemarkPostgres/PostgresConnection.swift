import CLibPQ
import Foundation
import Logging
import TidemarkCore
import TidemarkSQLCheck

/// An open connection to one PostgreSQL target: a database, or one schema in it.
///
/// Not thread-safe: used by one thread at a time, the executor's worker that opened it
/// (blocking libpq calls stay off the Swift concurrency pool). Only `canceller` may be used from
/// other threads. Closing, by `close()` or `deinit`, ends the session, which also releases the
/// advisory lock.
package final class PostgresConnection: BackendConnection {
    package let target: Target
    /// The schema that holds `tidemark_history` and keys the lock: the target's, or `public`.
    package let schema: String
    package let canceller: any StatementCanceller
    package let access: ConnectionAccess
    package let databaseServer: DatabaseServer?

    private var connection: PGConnection?
    /// Where the session came from and goes back to when it is shared (nil: this target's own).
    private let pool: PostgresSessionPool?
    private let timeouts: Timeouts
    private let logger: Logger
    private let parameters: ConnectParameters
    /// `"schema".tidemark_history`: always qualified, so a script's `SET search_path` cannot
    /// send a history row elsewhere.
    private let historyTable: String
    private let lockKey: Int64
    private var holdsLock = false
    /// Set once this session saw (or made) a history table with every column `run` writes.
    private var historyIsCurrent = false

    /// Connects and applies the session settings. Blocks for up to the connect timeout.
    /// Read-only sessions also set `default_transaction_read_only`, so even a bug cannot write.
    init(
        target: Target, access: ConnectionAccess = .readWrite, timeouts: Timeouts, logger: Logger,
        environment: [String: String],
        pool: PostgresSessionPool? = nil
    ) throws(BackendError) {
        guard target.backendKind == .postgres else {
            throw .unsupported(
                target: target.name,
                message:
                    "\(target.redactedLocation) is not a PostgreSQL connection; use a postgres:// URL, a conninfo string or a service."
            )
        }
        let schema = target.schema ?? "public"
        guard !schema.isEmpty, !schema.utf8.contains(0), schema.utf8.count <= PostgresSQL.maximumIdentifierBytes else {
            throw .unsupported(
                target: target.name,
                message:
                    "schema name '\(schema)' must be 1 to \(PostgresSQL.maximumIdentifierBytes) bytes without NUL characters; PostgreSQL would truncate or reject it."
            )
        }
        var logger = logger
        logger[metadataKey: "target"] = "\(target.name)"
        let parameters = ConnectParameters(target: target, timeouts: timeouts, environment: environment)
        if let missing = parameters.missingPasswordEnv {
            logger.warning("password_env \(missing) is not set; libpq falls back to PGPASSWORD and .pgpass")
        }

        let pg: PGConnection
        do {
            if let pool, let limit = timeouts.sessionsPerServer {
                pg = try pool.take(parameters, limit: limit, logger: logger)
            } else {
                pg = try PGConnection.connect(parameters, logger: logger)
            }
        } catch {
            let transient = ConnectionFailure.isTransient(error.message)
            var message = parameters.redact(error.message)
            if let missing = parameters.missingPasswordEnv, !transient {
                message += " (password_env \(missing) is not set)"
            }
            throw .connectionFailed(target: target.name, message: message, transient: transient)
        }

        self.target = target
        self.access = access
        self.schema = schema
        self.timeouts = timeouts
        self.logger = logger
        self.parameters = parameters
        self.historyTable = PostgresSQL.historyTable(in: schema)
        self.lockKey = PostgresSQL.advisoryLockKey(schema: schema)
        self.canceller = pg.canceller
        self.connection = pg
        self.databaseServer = PostgresSQL.server(versionNumber: pg.serverVersion)
        self.pool = pool

        do {
            try pg.execute(sessionSettings(local: false))
        } catch {
            close()
            throw failure("cannot apply the session settings (timeouts, search_path)", error)
        }
        logger.debug("connected", metadata: ["postgres.server_version": "\(pg.serverVersion)", "schema": "\(schema)"])
    }

    // MARK: - Lock

    package func tryLock(timeout: Duration) throws(BackendError) -> Bool {
        let pg = try openWritable("take the migration lock")
        if holdsLock { return true } // session advisory locks stack; keep exactly one
        let taken = try LockPolling.poll(timeout: timeout) { () throws(BackendError) -> Bool in
            let rows: [PGRow]
            do throws(PGError) {
                rows = try pg.query("SELECT pg_try_advisory_lock($1::bigint)", [String(lockKey)])
            } catch {
                throw failure("cannot take the migration lock", error)
            }
            return rows.first?.first == "t"
        }
        if taken {
            holdsLock = true
        } else {
            logger.debug("migration lock held by another session", metadata: ["lock_key": "\(lockKey)"])
        }
        return taken
    }

    package func unlock() throws(BackendError) {
        guard let pg = connection, holdsLock else { return }
        // Whatever happens, the lock is not ours to release twice; a lost session dropped it anyway.
        holdsLock = false
        do {
            try pg.query("SELECT pg_advisory_unlock($1::bigint)", [String(lockKey)])
        } catch {
            throw failure("cannot release the migration lock", error)
        }
    }

    // MARK: - History

    package func ensureHistoryTable() throws(BackendError) {
        let pg = try openWritable("create \(historyTable)")
        switch try historyShape(pg) {
        case .current:
            historyIsCurrent = true
            return
        case .withoutAttempt, .version1:
            try upgradeHistoryTable(pg)
            historyIsCurrent = true
            return
        case .absent: break
        }
        do throws(PGError) {
            // Runs may start together on a new target (the executor creates the table before it
            // locks); a short transaction-scoped lock keeps their CREATEs from racing on the catalog.
            try pg.execute("BEGIN")
            try pg.query(
                "SELECT pg_advisory_xact_lock($1::bigint)", [String(PostgresSQL.creationLockKey(schema: schema))])
            // Checked first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when
            // the schema exists, which an application role often lacks.
            let schemaExists = try pg.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema])
            if schemaExists.isEmpty {
                try pg.execute("CREATE SCHEMA IF NOT EXISTS \(PostgresSQL.quoteIdentifier(schema))")
            }
            try pg.execute(
                """
                CREATE TABLE IF NOT EXISTS \(historyTable) (
                    id bigserial PRIMARY KEY,
                    version text NOT NULL,
                    description text NOT NULL,
                    kind text NOT NULL,
                    script text NOT NULL,
                    checksum text NOT NULL,
                    run_id text NOT NULL,
                    applied_by text NOT NULL,
                    started_at timestamptz NOT NULL,
                    finished_at timestamptz,
                    execution_ms bigint NOT NULL DEFAULT 0,
                    success boolean,
                    transactional boolean NOT NULL,
                    error text,
                    attempt integer NOT NULL DEFAULT 1,
                    batch_last_key bigint,
                    batch_rows bigint
                )
                """)
            try pg.execute("COMMIT")
            historyIsCurrent = true
            logger.debug("created \(historyTable)")
        } catch {
            if pg.inTransactionBlock { _ = try? pg.execute("ROLLBACK") }
            throw failure("cannot create \(historyTable)", error)
        }
    }

    /// Brings a table written by an older Tidemark up to version 2 (docs/guide.md#history-table):
    /// `attempt` (docs/decisions/0015-lock-retries-in-the-history.md) with default 1, which is
    /// what every earlier row was; then `batch_last_key` and `batch_rows` (NULL: not a batched
    /// step) and `success` nullable (NULL: a batched step in progress,
    /// docs/decisions/0033-backfill-checkpoints-in-the-history.md). Each is a catalog change on
    /// PostgreSQL 11 and later: no rewrite, a brief lock. Older binaries keep working (they name
    /// their columns and the defaults fill the new ones).
    private func upgradeHistoryTable(_ pg: PGConnection) throws(BackendError) {
        do throws(PGError) {
            try pg.execute("BEGIN")
            try pg.query(
                "SELECT pg_advisory_xact_lock($1::bigint)", [String(PostgresSQL.creationLockKey(schema: schema))])
            try pg.execute(
                """
                ALTER TABLE \(historyTable) ADD COLUMN IF NOT EXISTS attempt integer NOT NULL DEFAULT 1, \
                ADD COLUMN IF NOT EXISTS batch_last_key bigint, ADD COLUMN IF NOT EXISTS batch_rows bigint, \
                ALTER COLUMN success DROP NOT NULL
                """)
            try pg.execute("COMMIT")
            logger.notice(
                "upgraded \(historyTable) to version 2 (attempt, batch_last_key, batch_rows; written by an older Tidemark)"
            )
        } catch {
            if pg.inTransactionBlock { _ = try? pg.execute("ROLLBACK") }
            throw failure("cannot upgrade \(historyTable) to version 2 (written by an older Tidemark)", error)
        }
    }

    package func readHistory() throws(BackendError) -> [HistoryEntry] {
        let pg = try open()
        let shape = try historyShape(pg)
        guard shape != .absent else { return [] }
        // A read-only connection cannot upgrade an older table: it reads every row as attempt 1
        // (before version 2: no row is batched).
        let columns: String
        switch shape {
        case .current: columns = Self.columns
        case .version1: columns = Self.columnsOfVersion1
        case .withoutAttempt, .absent: columns = Self.columnsBeforeAttempt
        }
        let rows: [PGRow]
        do {
            rows = try pg.query("SELECT \(columns) FROM \(historyTable) ORDER BY id")
        } catch {
            throw failure("cannot read \(historyTable)", error)
        }
        var entries: [HistoryEntry] = []
        entries.reserveCapacity(rows.count)
        for row in rows { entries.append(try entry(from: row)) }
        return entries
    }

    /// `pg_class.reltuples` (for an index, its table's), or the statistics collector's live-tuple
    /// count when larger (`reltuples` is -1 before the first ANALYZE and lags behind bulk loads).
    /// Names resolve through the session's search_path, the target's schema, as its scripts do.
    package func estimatedRows(of relations: [String]) throws(BackendError) -> [String: Double] {
        guard !relations.isEmpty else { return [:] }
        let pg = try open()
        // Each name part quoted, so a name the script quoted keeps its case; to_regclass is NULL,
        // not an error, for a relation that does not exist (yet).
        let quoted = relations.map {
            $0.split(separator: ".").map { PostgresSQL.quoteIdentifier(String($0)) }.joined(separator: ".")
        }
        let rows: [PGRow]
        do {
            rows = try pg.query(
                """
                SELECT r.ordinality, greatest(t.reltuples, pg_stat_get_live_tuples(t.oid))::float8
                FROM unnest($1::text[]) WITH ORDINALITY AS r(name, ordinality)
                JOIN pg_class c ON c.oid = to_regclass(r.name)
                LEFT JOIN pg_index i ON i.indexrelid = c.oid
                JOIN pg_class t ON t.oid = coalesce(i.indrelid, c.oid)
                """, [PostgresSQL.textArray(quoted)])
        } catch {
            throw failure("cannot read the catalog's row estimates", error)
        }
        var result: [String: Double] = [:]
        for row in rows {
            guard row.count == 2, let position = row[0].flatMap({ Int($0) }), position >= 1,
                position <= relations.count,
                let estimate = row[1].flatMap({ Double($0) })
            else { continue }
            result[relations[position - 1]] = max(0, estimate)
        }
        return result
    }

    /// `SELECT col::text, …` from the table, qualified with its schema (the target's when the
    /// tool named none), after `to_regclass` says it exists.
    package func readRows(of table: ForeignTable) throws(BackendError) -> [[String?]]? {
        let pg = try open()
        let qualified =
            PostgresSQL.quoteIdentifier(table.schema ?? schema) + "." + PostgresSQL.quoteIdentifier(table.name)
        do {
            let exists = try pg.query("SELECT to_regclass($1) IS NOT NULL", [qualified])
            guard exists.first?.first == "t" else { return nil }
            let present = try pg.query(
                "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
                [qualified])
            guard Set(table.columns).isSubset(of: Set(present.compactMap { $0.first ?? nil })) else { return nil }
            let columns = table.columns.map { "\(PostgresSQL.quoteIdentifier($0))::text" }.joined(separator: ", ")
            return try pg.query("SELECT \(columns) FROM \(qualified)")
        } catch {
            throw failure("cannot read \(table.qualifiedName)", error)
        }
    }

    // MARK: - Steps

    @discardableResult
    package func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry {
        let pg = try openWritable("run version \(step.version)")
        if pg.inTransactionBlock {
            // Every path below ends its transaction; this guards against a caller's stray BEGIN.
            logger.warning("a transaction was left open on the connection; rolling it back before the step")
            _ = try? pg.execute("ROLLBACK")
        }
        // A writer that never called ensureHistoryTable (repair, adopt) upgrades an older table too.
        if !historyIsCurrent {
            switch try historyShape(pg) {
            case .withoutAttempt, .version1:
                try upgradeHistoryTable(pg)
                historyIsCurrent = true
            case .current: historyIsCurrent = true
            case .absent: break // the row's INSERT names the missing table
            }
        }
        let recordOnly =
            step.kind == .skip || step.kind == .baseline || step.kind == .repair || step.sql.allSatisfy(\.isWhitespace)
        if recordOnly { return try record(step, on: pg) }
        return step.transactional ? try runInTransaction(step, on: pg) : try runAsWritten(step, on: pg)
    }

    package func verify(_ request: VerifyRequest) throws(BackendError) {
        let pg = try openWritable("run verify script \(request.scriptPath)")
        if pg.inTransactionBlock { _ = try? pg.execute("ROLLBACK") }
        // Whatever happens, no transaction stays open: a verify changes nothing.
        defer { if pg.inTransactionBlock { _ = try? pg.execute("ROLLBACK") } }
        do throws(PGError) {
            if request.transactional { try pg.execute("BEGIN") }
            try pg.execute(request.sql)
        } catch {
            throw .verifyFailed(
                target: target.name, version: request.version, script: request.scriptPath,
                message: parameters.redact(error.fullMessage), sqlState: error.sqlState)
        }
    }

    package func close() {
        if let pool {
            // A shared session goes back reset (DISCARD ALL also drops the advisory lock),
            // or closed when it broke or was left inside a transaction.
            let session = connection
            connection = nil
            holdsLock = false
            if let session { pool.giveBack(session, parameters: parameters) }
            return
        }
        holdsLock = false
        connection = nil // PGConnection.deinit frees the cancel handle and calls PQfinish
    }

    deinit {
        // A shared session must go back even when nobody called close(), or its server's count
        // would never come down.
        if pool != nil { close() }
    }

    /// `skip`, `baseline` and empty scripts: only a row, in autocommit.
    private func record(_ step: StepRequest, on pg: PGConnection) throws(BackendError) -> HistoryEntry {
        let now = Date()
        do {
            return try insertRow(
                step, on: pg, startedAt: now, finishedAt: now, executionMS: 0, success: true,
                transactional: step.transactional, error: nil)
        } catch {
            throw failure("cannot record the \(step.kind.rawValue) row of version \(step.version)", error)
        }
    }

    /// Where a transactional step was when it failed: it decides the message and what is known.
    private enum Phase {
        case begin, script, record, commit
    }

    /// Script and success row commit together; a failure rolls back and leaves a failed row.
    private func runInTransaction(_ step: StepRequest, on pg: PGConnection) throws(BackendError) -> HistoryEntry {
        let startedAt = Date()
        let clock = ContinuousClock()
        let start = clock.now
        var phase = Phase.begin
        var selfCommittedMS: Int64 = 0
        do throws(PGError) {
            try pg.execute("BEGIN")
            // SET LOCAL: an earlier script's plain SET may have changed the session's values.
            try pg.execute(sessionSettings(local: true))
            phase = .script
            // The whole script as one query string, as psql -1 would: the server runs its
            // statements in order inside our transaction and stops at the first error.
            try pg.execute(step.sql)
            let elapsed = (clock.now - start).milliseconds
            if pg.inTransactionBlock {
                phase = .record
                let entry = try insertRow(
                    step, on: pg, startedAt: startedAt, finishedAt: Date(), executionMS: elapsed, success: true,
                    transactional: true, error: nil)
                phase = .commit
                try pg.execute("COMMIT")
                return entry
            }
            selfCommittedMS = elapsed
        } catch {
            let elapsed = (clock.now - start).milliseconds
            if pg.inTransactionBlock { _ = try? pg.execute("ROLLBACK") }
            var message: String
            switch phase {
            case .script:
                message = describe(error, in: step, at: scriptLocation(of: error, in: step.sql))
            case .begin:
                message = parameters.redact("starting the step's transaction failed: \(error.fullMessage)")
            case .record:
                message = parameters.redact("recording the step in \(historyTable) failed: \(error.fullMessage)")
            case .commit:
                message = parameters.redact("COMMIT failed: \(error.fullMessage)")
            }
            if error.connectionLost {
                message +=
                    phase == .commit
                    ? "; the connection was lost during COMMIT, so whether the step committed is unknown: check \(historyTable)"
                    : "; the connection was lost, so the server rolled the transaction back"
            } else {
                do {
                    _ = try retryingCancelled {
                        () throws(PGError) in
                        try insertRow(
                            step, on: pg, startedAt: startedAt, finishedAt: Date(), executionMS: elapsed,
                            success: false, transactional: true, error: historyError(message, error.sqlState))
                    }
                } catch {
                    logger.warning(
                        "could not record the failed step in \(historyTable): \(parameters.redact(error.fullMessage))")
                }
            }
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind, message: message,
                sqlState: error.sqlState, dirty: false)
        }
        // The script ended our transaction itself (a COMMIT the planner did not spot): its work
        // is in, so record that honestly as having run outside our transaction.
        logger.warning(
            "version \(step.version): the script ended Tidemark's transaction itself; recording it as run outside a transaction"
        )
        return try recordSelfCommitted(step, on: pg, startedAt: startedAt, executionMS: selfCommittedMS)
    }

    /// Records a "transactional" script that committed on its own: its work is in, so a failure
    /// to record it leaves the target in an unknown state, said as dirty.
    private func recordSelfCommitted(
        _ step: StepRequest, on pg: PGConnection, startedAt: Date, executionMS: Int64
    ) throws(BackendError) -> HistoryEntry {
        do {
            return try retryingCancelled {
                () throws(PGError) -> HistoryEntry in
                try insertRow(
                    step, on: pg, startedAt: startedAt, finishedAt: Date(), executionMS: executionMS, success: true,
                    transactional: false, error: nil)
            }
        } catch {
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind,
                message: parameters.redact(
                    "the script committed its own transaction, but recording it in \(historyTable) failed: \(error.fullMessage)"
                ),
                sqlState: error.sqlState, dirty: true)
        }
    }

    /// Outside Tidemark's transaction: a running row is committed first, the script's statements
    /// are sent one at a time as psql sends them, then the row is completed. A failure leaves the
    /// row unsuccessful, so the target reads as dirty until a human repairs it.
    private func runAsWritten(_ step: StepRequest, on pg: PGConnection) throws(BackendError) -> HistoryEntry {
        let startedAt = Date()
        let clock = ContinuousClock()
        let start = clock.now
        let running: HistoryEntry
        do throws(PGError) {
            try pg.execute(sessionSettings(local: false))
            running = try insertRow(
                step, on: pg, startedAt: startedAt, finishedAt: nil, executionMS: 0, success: false,
                transactional: false, error: nil)
        } catch {
            throw failure("cannot record the start of version \(step.version) in \(historyTable)", error)
        }

        // One statement per query string: a multi-statement string runs as one implicit
        // transaction, where PostgreSQL refuses CREATE INDEX CONCURRENTLY, VACUUM and friends.
        let statements = SQLScanner.statements(in: step.sql)
        let offsets = PostgresSQL.scalarOffsets(of: statements.map(\.text), in: step.sql)
        var failed: (error: PGError, message: String)?
        for (index, statement) in statements.enumerated() {
            do throws(PGError) {
                try pg.execute(statement.text)
            } catch {
                let place: (line: Int, column: Int?)
                if let offset = offsets[index], let position = error.position {
                    place = location(ofScalar: offset + position - 1, in: step.sql)
                } else {
                    place = (statement.line, nil)
                }
                let progress = StatementProgress(completed: index, total: statements.count, line: statement.line)
                failed = (error, "\(progress): \(describe(error, in: step, at: place))")
                break
            }
        }
        if failed == nil && pg.inTransactionBlock {
            failed = (
                PGError(message: "the script left a transaction open (BEGIN without COMMIT); it was rolled back"),
                "\(step.scriptPath.isEmpty ? "script" : step.scriptPath): left a transaction open (BEGIN without COMMIT); it was rolled back"
            )
        }
        if failed != nil && pg.inTransactionBlock {
            // The script's own transaction is aborted or unfinished; the row update must not join it.
            _ = try? pg.execute("ROLLBACK")
        }
        let elapsed = (clock.now - start).milliseconds

        if let (error, message) = failed {
            var message = message
            if error.connectionLost {
                message += "; the connection was lost, so its history row still reads as running"
            } else {
                do {
                    _ = try retryingCancelled {
                        () throws(PGError) in
                        try completeRow(
                            running.id, on: pg, finishedAt: Date(), executionMS: elapsed, success: false,
                            error: historyError(message, error.sqlState))
                    }
                } catch {
                    logger.warning(
                        "could not record the failure in \(historyTable): \(parameters.redact(error.fullMessage))")
                }
            }
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind, message: message,
                sqlState: error.sqlState, dirty: true)
        }

        do {
            return try retryingCancelled {
                () throws(PGError) -> HistoryEntry in
                try completeRow(running.id, on: pg, finishedAt: Date(), executionMS: elapsed, success: true, error: nil)
            }
        } catch {
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind,
                message:
                    "the script ran, but recording its success in \(historyTable) failed: \(parameters.redact(error.fullMessage))",
                sqlState: error.sqlState, dirty: true)
        }
    }

    // MARK: - Batched steps (docs/backfills.md)

    package func batchTable(_ spec: BatchSpec) throws(BackendError) -> BatchTable {
        let pg = try open()
        let table = Self.qualifiedName(spec.table)
        do {
            let found = try pg.query(
                """
                SELECT to_regclass($1) IS NOT NULL,
                    (SELECT format_type(a.atttypid, NULL) FROM pg_attribute a
                     WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped),
                    EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                            WHERE i.indrelid = to_regclass($1) AND a.attname = $2 AND i.indisunique AND i.indisvalid
                              AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL)
                """, [table, spec.key])
            guard let row = found.first, row.count == 3, row[0] == "t" else {
                return .unusable(
                    problem:
                        "table \(spec.table) does not exist here; create it before this version, or correct table= in the directive"
                )
            }
            guard let type = row[1] else {
                return .unusable(
                    problem: "table \(spec.table) has no column \(spec.key); correct key= in the directive")
            }
            guard ["smallint", "integer", "bigint"].contains(type) else {
                return .unusable(
                    problem:
                        "key \(spec.table).\(spec.key) is \(type), not an integer; batch on an integer key (the primary key, or add a bigserial column with a unique index)"
                )
            }
            guard row[2] == "t" else {
                return .unusable(
                    problem:
                        "key \(spec.table).\(spec.key) has no unique index of its own, so batches cannot be found by walking an index; create one (CREATE UNIQUE INDEX CONCURRENTLY …) in an earlier version"
                )
            }
            let key = PostgresSQL.quoteIdentifier(spec.key)
            let bounds = try walkingIndex(pg) { () throws(PGError) -> [PGRow] in
                try pg.query("SELECT min(\(key))::text, max(\(key))::text FROM \(table)")
            }
            let minKey = bounds.first?.first.flatMap { $0 }.flatMap { Int64($0) }
            let maxKey = bounds.first.flatMap { $0.count > 1 ? $0[1] : nil }.flatMap { Int64($0) }
            return .ready(minKey: minKey, maxKey: maxKey)
        } catch {
            throw failure("cannot read \(spec.table) for its batches", error)
        }
    }

    package func batchEnd(_ spec: BatchSpec, from start: Int64) throws(BackendError) -> Int64? {
        let pg = try open()
        let key = PostgresSQL.quoteIdentifier(spec.key)
        do {
            let rows = try walkingIndex(pg) { () throws(PGError) -> [PGRow] in
                try pg.query(
                    "SELECT \(key) FROM \(Self.qualifiedName(spec.table)) WHERE \(key) >= $1::bigint ORDER BY \(key) OFFSET $2::bigint LIMIT 1",
                    [String(start), String(spec.size)])
            }
            return rows.first?.first.flatMap { $0 }.flatMap { Int64($0) }
        } catch {
            throw failure("cannot find the next batch of \(spec.table)", error)
        }
    }

    /// Runs a key lookup with sequential scans disabled for its transaction only: the key has a
    /// unique index (checked by `batchTable`), and a planner misled by missing statistics must
    /// not read the whole table to find one batch's end.
    private func walkingIndex(_ pg: PGConnection, _ body: () throws(PGError) -> [PGRow]) throws(PGError) -> [PGRow] {
        do {
            try pg.execute("BEGIN READ ONLY; SET LOCAL enable_seqscan = off")
            let rows = try body()
            try pg.execute("COMMIT")
            return rows
        } catch {
            if pg.inTransactionBlock { _ = try? pg.execute("ROLLBACK") }
            throw error
        }
    }

    package func beginBatchedStep(_ step: StepRequest, from checkpoint: BatchCheckpoint) throws(BackendError)
        -> HistoryEntry
    {
        let pg = try openWritable("run version \(step.version)")
        if pg.inTransactionBlock { _ = try? pg.execute("ROLLBACK") }
        if !historyIsCurrent { try ensureHistoryTable() }
        do {
            let rows = try pg.query(
                """
                INSERT INTO \(historyTable) (version, description, kind, script, checksum, run_id, applied_by, started_at,
                    finished_at, execution_ms, success, transactional, error, attempt, batch_last_key, batch_rows)
                VALUES ($1, $2, $3, $4, $5, $6, $7, now(), NULL, 0, NULL, true, NULL, $8::integer, $9::bigint, $10::bigint)
                RETURNING \(Self.columns)
                """,
                [
                    step.version, step.description, step.kind.rawValue, step.scriptPath, step.checksum, step.runID,
                    step.appliedBy,
                    String(step.attempt), checkpoint.lastKey.map { String($0) }, String(checkpoint.rows),
                ])
            return try parsedRow(rows)
        } catch {
            throw failure("cannot record the start of batched version \(step.version) in \(historyTable)", error)
        }
    }

    package func runBatch(_ step: StepRequest, row: Int64, start: Int64, end: Int64) throws(BackendError) -> Int64 {
        let pg = try openWritable("run version \(step.version)")
        let sql = BatchStatement.bind(step.sql, start: start, end: end)
        var changed: Int64 = 0
        do throws(PGError) {
            try pg.execute("BEGIN")
            try pg.execute(sql)
            changed = pg.affectedRows
            try pg.query(
                "UPDATE \(historyTable) SET batch_last_key = $2::bigint, batch_rows = coalesce(batch_rows, 0) + $3::bigint WHERE id = $1::bigint",
                [String(row), String(end - 1), String(changed)])
            try pg.execute("COMMIT")
        } catch {
            if pg.inTransactionBlock { _ = try? pg.execute("ROLLBACK") }
            if error.isQueryCanceled { throw .cancelled(target: target.name, version: step.version) }
            let statement = SQLScanner.statements(in: step.sql).first
            let message = describe(error, in: step, at: statement.map { ($0.line, nil) })
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind,
                message: "batch \(start)..<\(end): \(message)", sqlState: error.sqlState, dirty: false)
        }
        return changed
    }

    package func finishBatchedStep(row: Int64, success: Bool, executionMS: Int64, error: String?) throws(BackendError)
        -> HistoryEntry
    {
        let pg = try openWritable("finish a batched step")
        do {
            return try retryingCancelled {
                () throws(PGError) -> HistoryEntry in
                let rows = try pg.query(
                    """
                    UPDATE \(historyTable)
                    SET success = $2::boolean, finished_at = now(), execution_ms = execution_ms + $3::bigint, error = $4
                    WHERE id = $1::bigint
                    RETURNING \(Self.columns)
                    """, [String(row), String(success), String(executionMS), error])
                return try parsedRow(rows)
            }
        } catch {
            throw failure("cannot finish the batched step's row \(row) in \(historyTable)", error)
        }
    }

    /// `pg_stat_replication.replay_lag` on this server (the primary). A row whose `state` is NULL
    /// is one this role may not read (it needs `pg_monitor`): the lag is unreadable, not zero.
    package func replicationLag() throws(BackendError) -> ReplicationLag {
        let pg = try open()
        do {
            let rows = try pg.query(
                "SELECT count(*), count(state), coalesce(max(extract(epoch FROM replay_lag)), 0)::float8 FROM pg_stat_replication"
            )
            guard let row = rows.first, row.count == 3, let total = row[0].flatMap({ Int($0) }),
                let visible = row[1].flatMap({ Int($0) }),
                let seconds = row[2].flatMap({ Double($0) })
            else { return .unreadable(reason: "pg_stat_replication returned nothing readable") }
            if total == 0 { return .noReplicas }
            if visible < total {
                return .unreadable(
                    reason: "this role cannot read pg_stat_replication's lag columns; grant it pg_monitor")
            }
            return .lag(.milliseconds(Int64(seconds * 1000)))
        } catch {
            return .unreadable(reason: parameters.redact(error.fullMessage))
        }
    }

    /// A name as a script writes it (`orders`, `app.orders`), each part quoted.
    private static func qualifiedName(_ name: String) -> String {
        name.split(separator: ".").map { PostgresSQL.quoteIdentifier(String($0)) }.joined(separator: ".")
    }

    // MARK: - Rows

    /// The columns every history query returns, in `entry(from:)` order. Times travel as epoch
    /// seconds (exact microseconds as numeric text) so `Date` values round-trip identically.
    static let columns = """
        id, version, description, kind, script, checksum, run_id, applied_by, \
        extract(epoch FROM started_at), extract(epoch FROM finished_at), execution_ms, success, transactional, error, attempt, \
        batch_last_key, batch_rows
        """

    /// `columns` for a table of version 1 (before the batch columns).
    static let columnsOfVersion1 = columns.replacingOccurrences(of: "batch_last_key, batch_rows", with: "NULL, NULL")

    /// `columns` for a table an older Tidemark created, before `attempt`.
    static let columnsBeforeAttempt = columnsOfVersion1.replacingOccurrences(of: ", attempt,", with: ", 1,")

    private func insertRow(
        _ step: StepRequest, on pg: PGConnection, startedAt: Date, finishedAt: Date?, executionMS: Int64,
        success: Bool, transactional: Bool, error: String?
    ) throws(PGError) -> HistoryEntry {
        let rows = try pg.query(
            """
            INSERT INTO \(historyTable) (version, description, kind, script, checksum, run_id, applied_by, started_at,
                finished_at, execution_ms, success, transactional, error, attempt)
            VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8::float8), to_timestamp($9::float8), $10::bigint,
                $11::boolean, $12::boolean, $13, $14::integer)
            RETURNING \(Self.columns)
            """,
            [
                step.version, step.description, step.kind.rawValue, step.scriptPath, step.checksum, step.runID,
                step.appliedBy, Self.epoch(startedAt), finishedAt.map(Self.epoch), String(executionMS),
                String(success), String(transactional), error, String(step.attempt),
            ])
        return try parsedRow(rows)
    }

    private func completeRow(
        _ id: Int64, on pg: PGConnection, finishedAt: Date, executionMS: Int64, success: Bool, error: String?
    ) throws(PGError) -> HistoryEntry {
        let rows = try pg.query(
            """
            UPDATE \(historyTable)
            SET success = $2::boolean, finished_at = to_timestamp($3::float8), execution_ms = $4::bigint, error = $5
            WHERE id = $1::bigint
            RETURNING \(Self.columns)
            """,
            [String(id), String(success), Self.epoch(finishedAt), String(executionMS), error])
        return try parsedRow(rows)
    }

    private func parsedRow(_ rows: [PGRow]) throws(PGError) -> HistoryEntry {
        guard let row = rows.first else { throw PGError(message: "\(historyTable) returned no row") }
        do {
            return try entry(from: row)
        } catch {
            throw PGError(message: error.description)
        }
    }

    private func entry(from row: PGRow) throws(BackendError) -> HistoryEntry {
        try Self.entry(from: row[...], target: target.name, historyTable: historyTable)
    }

    static func entry(from row: ArraySlice<String?>, target: String, historyTable: String) throws(BackendError)
        -> HistoryEntry
    {
        let base = row.startIndex
        func text(_ index: Int) -> String? { base + index < row.endIndex ? row[base + index] : nil }
        guard let id = text(0).flatMap({ Int64($0) }), let version = text(1), let description = text(2),
            let kind = text(3).flatMap(StepKind.init(rawValue:)), let script = text(4), let checksum = text(5),
            let runID = text(6), let appliedBy = text(7), let startedAt = text(8).flatMap(Self.date),
            let executionMS = text(10).flatMap({ Int64($0) }), let transactional = text(12)
        else {
            throw .queryFailed(
                target: target,
                message:
                    "\(historyTable) holds a row Tidemark cannot read (id \(text(0) ?? "?")); was it edited by hand?",
                sqlState: nil)
        }
        return HistoryEntry(
            id: id, version: version, description: description, kind: kind, script: script, checksum: checksum,
            runID: runID, appliedBy: appliedBy, startedAt: startedAt, finishedAt: text(9).flatMap(Self.date),
            executionMS: executionMS, success: text(11) == "t", transactional: transactional == "t", error: text(13),
            attempt: text(14).flatMap { Int($0) } ?? 1,
            batch: text(16).flatMap { Int64($0) }.map {
                BatchCheckpoint(lastKey: text(15).flatMap { Int64($0) }, rows: $0)
            })
    }

    // MARK: - Helpers

    func open() throws(BackendError) -> PGConnection {
        guard let connection else { throw .closed(target: target.name) }
        return connection
    }

    /// The connection, for a change: refused on a read-only connection before the server is asked.
    private func openWritable(_ operation: String) throws(BackendError) -> PGConnection {
        let pg = try open()
        guard access == .readWrite else { throw .readOnly(target: target.name, operation: operation) }
        return pg
    }

    /// What the history table looks like: missing, current (version 2), version 1 (before the
    /// batch columns), or written by a Tidemark from before the `attempt` column.
    private enum HistoryShape {
        case absent, withoutAttempt, version1, current
    }

    private func historyShape(_ pg: PGConnection) throws(BackendError) -> HistoryShape {
        do {
            // to_regclass is NULL, not an error, when the schema or table is missing.
            let rows = try pg.query(
                """
                SELECT to_regclass($1) IS NOT NULL,
                    EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'attempt' AND NOT attisdropped),
                    EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'batch_rows' AND NOT attisdropped)
                """, [historyTable])
            guard let row = rows.first, row.first == "t", row.count > 2 else { return .absent }
            if row[2] == "t" { return .current }
            return row[1] == "t" ? .version1 : .withoutAttempt
        } catch {
            throw failure("cannot look for \(historyTable)", error)
        }
    }

    /// `SET [LOCAL]` statement_timeout, lock_timeout and search_path, as configured.
    private func sessionSettings(local: Bool) -> String {
        let set = local ? "SET LOCAL" : "SET"
        let searchPath = target.schema.map(PostgresSQL.quoteIdentifier) ?? "DEFAULT"
        return """
            \(set) statement_timeout = \(max(0, timeouts.statementTimeout.milliseconds)); \
            \(set) lock_timeout = \(max(0, timeouts.lockTimeout.milliseconds)); \
            \(set) search_path TO \(searchPath)\
            \(access == .readOnly ? "; \(set) default_transaction_read_only = on" : "")
            """
    }

    func failure(_ what: String, _ error: PGError) -> BackendError {
        .queryFailed(
            target: target.name, message: parameters.redact("\(what): \(error.fullMessage)"), sqlState: error.sqlState)
    }

    /// `V3__add_email.sql:4:15: relation "x" does not exist (hint: …)`: the script's location first.
    private func describe(_ error: PGError, in step: StepRequest, at location: (line: Int, column: Int?)?) -> String {
        var prefix = step.scriptPath.isEmpty ? "script" : step.scriptPath
        if let location {
            prefix += step.scriptPath.isEmpty ? " line \(location.line)" : ":\(location.line)"
            if let column = location.column, !step.scriptPath.isEmpty { prefix += ":\(column)" }
        }
        return parameters.redact("\(prefix): \(error.fullMessage)")
    }

    /// Where in a script sent whole an error is: the server's position when it gave one (parse
    /// and name-resolution errors), else the first line of the statement that failed, found by
    /// counting the statements that completed before it (run-time errors carry no position).
    private func scriptLocation(of error: PGError, in script: String) -> (line: Int, column: Int?)? {
        if let position = error.position { return location(ofScalar: position - 1, in: script) }
        guard let completed = error.completedStatements else { return nil }
        let statements = SQLScanner.statements(in: script)
        return completed < statements.count ? (statements[completed].line, nil) : nil
    }

    private func location(ofScalar offset: Int, in script: String) -> (line: Int, column: Int?) {
        let found = PostgresSQL.lineAndColumn(in: script, scalarOffset: offset)
        return (found.line, found.column)
    }

    /// The `error` column: the redacted message with its SQLSTATE.
    private func historyError(_ message: String, _ sqlState: String?) -> String {
        sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message
    }

    /// Runs bookkeeping once more if a cancel meant for the script landed on it instead.
    private func retryingCancelled<T>(_ body: () throws(PGError) -> T) throws(PGError) -> T {
        do {
            return try body()
        } catch  where error.isQueryCanceled {
            return try body()
        }
    }

    private static func epoch(_ date: Date) -> String {
        String(date.timeIntervalSince1970)
    }

    private static func date(_ epoch: String) -> Date? {
        Double(epoch).map { Date(timeIntervalSince1970: $0) }
    }

}
