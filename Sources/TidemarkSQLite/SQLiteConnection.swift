import CSQLite
import Foundation
import Logging
import TidemarkCore
import TidemarkFiles
import TidemarkSQLCheck

/// An open SQLite database file: the one owner of its `sqlite3` handle.
///
/// Not thread-safe and not `Sendable`: the executor's worker that opened it uses it alone
/// (ARCHITECTURE.md#concurrency); only `canceller` may be called from other threads. The handle is
/// closed by `close()` or, at the latest, in `deinit`; closing also drops the migration lock.
package final class SQLiteConnection: BackendConnection {
    package let target: Target
    /// The absolute path of the database file.
    package let databasePath: String
    package let canceller: any StatementCanceller
    package let access: ConnectionAccess
    /// The path, when this connection created the database file.
    package let createdDatabase: String?
    /// The SQLite library linked in: SQLite has no server, the library is the engine.
    package var databaseServer: DatabaseServer? {
        DatabaseServer(product: .sqlite, version: String(cString: sqlite3_libversion()))
    }

    private(set) var handle: OpaquePointer?
    private let watch: SQLiteStatementWatch
    private let lockFile: SQLiteLockFile
    private let timeouts: Timeouts
    private let logger: Logger
    /// Set once this connection saw (or made) a history table with every column `run` writes.
    private var historyIsCurrent = false

    /// Opens the target's file, switches it to WAL and applies the timeouts. Read-write creates
    /// the file (and its folders) when missing; read-only never does: a missing file is
    /// `BackendError.databaseNotFound`.
    init(target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger) throws(BackendError) {
        let path = try SQLiteBackend.databasePath(of: target)
        let existed = FileManager.default.fileExists(atPath: path)
        let flags: Int32
        switch access {
        case .readOnly:
            guard existed else { throw .databaseNotFound(target: target.name, location: path) }
            flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        case .readWrite:
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            do {
                try OwnerOnlyFile.makeFolders(URL(fileURLWithPath: directory))
                // SQLite would create the file 0644; an empty file is a valid database, so
                // make it first, readable by its owner only (its journal and WAL follow its mode).
                if !existed {
                    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                    if descriptor >= 0 {
                        fchmod(descriptor, 0o600)
                        Glibc.close(descriptor)
                    }
                }
            } catch {
                throw .connectionFailed(
                    target: target.name,
                    message: "cannot create the folder \(directory): \(error.localizedDescription)",
                    transient: false)
            }
            flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        }

        var opened: OpaquePointer?
        let openCode = sqlite3_open_v2(path, &opened, flags, nil)
        guard openCode == SQLITE_OK, let db = opened else {
            let message = opened.map { SQLiteError.message(of: $0) } ?? SQLiteError.text(of: openCode)
            // sqlite3_open_v2 allocates a handle even when it fails; it must still be closed.
            sqlite3_close_v2(opened)
            throw .connectionFailed(
                target: target.name, message: "cannot open \(path): \(message)",
                transient: SQLiteError.isTransient(openCode))
        }
        sqlite3_extended_result_codes(db, 1)
        // Switching to WAL needs a moment of exclusive access; wait for it within the connect timeout.
        sqlite3_busy_timeout(db, Self.clampedMilliseconds(timeouts.connectTimeout))
        // A read-only connection cannot switch the journal mode; it reads whatever mode the file has.
        if access == .readWrite, let failure = Self.runScript("PRAGMA journal_mode = WAL", on: db).failure {
            sqlite3_close_v2(db)
            throw .connectionFailed(
                target: target.name, message: "cannot open \(path): \(failure.message)",
                transient: SQLiteError.isTransient(failure.code))
        }
        // From here on, waiting for another writer is bounded by the lock timeout (zero: no
        // bound, as `lock_timeout = 0` means in PostgreSQL).
        let lockWait = timeouts.lockTimeout > .zero ? Self.clampedMilliseconds(timeouts.lockTimeout) : Int32.max
        sqlite3_busy_timeout(db, lockWait)

        let watch = SQLiteStatementWatch(handle: db)
        // The context is unretained: the connection keeps `watch` alive for as long as the
        // handle exists, and removes the handler before closing.
        sqlite3_progress_handler(
            db, Self.progressInterval, sqliteProgressHandler, Unmanaged.passUnretained(watch).toOpaque())

        self.target = target
        self.databasePath = path
        self.access = access
        self.createdDatabase = existed ? nil : path
        self.handle = db
        self.watch = watch
        self.canceller = SQLiteCanceller(watch: watch)
        self.lockFile = SQLiteLockFile(path: SQLiteBackend.lockFilePath(forDatabaseAt: path))
        self.timeouts = timeouts
        var logger = logger
        logger[metadataKey: "target"] = "\(target.name)"
        self.logger = logger
        logger.debug("opened SQLite database", metadata: ["path": "\(path)"])
    }

    deinit {
        close()
    }

    /// Virtual machine instructions between two progress checks: often enough for a timeout to
    /// land within milliseconds, rare enough to cost nothing measurable.
    private static let progressInterval: Int32 = 1_000

    private static func clampedMilliseconds(_ duration: Duration) -> Int32 {
        Int32(clamping: max(0, duration.milliseconds))
    }

    // MARK: Lock

    package func tryLock(timeout: Duration) throws(BackendError) -> Bool {
        _ = try writableHandle("take the migration lock")
        do {
            let acquired = try lockFile.acquire(timeout: timeout)
            logger.debug(acquired ? "took the migration lock" : "migration lock held elsewhere")
            return acquired
        } catch {
            throw .queryFailed(target: target.name, message: error.message, sqlState: nil)
        }
    }

    package func unlock() throws(BackendError) {
        _ = try openHandle()
        lockFile.release()
    }

    // MARK: History

    package func ensureHistoryTable() throws(BackendError) {
        let db = try writableHandle("create tidemark_history")
        if let failure = Self.runScript(Self.createHistoryTableSQL, on: db).failure {
            throw .queryFailed(
                target: target.name, message: "cannot create tidemark_history: \(failure.message)", sqlState: nil)
        }
        try upgradeHistoryTable(db)
    }

    /// Brings an older Tidemark's table to version 2 (docs/guide.md#history-table), once per
    /// connection: rebuilt under the write lock, after looking again, so two processes upgrading
    /// at once do it once.
    private func upgradeHistoryTable(_ db: OpaquePointer) throws(BackendError) {
        guard !historyIsCurrent else { return }
        do throws(SQLiteFailure) {
            switch try Self.historyShape(db) {
            case .absent: return // the row's INSERT names the missing table
            case .current: break
            case .withoutAttempt, .version1:
                if let failure = Self.runScript("BEGIN IMMEDIATE", on: db).failure { throw failure }
                let shape = try Self.historyShape(db)
                if shape == .withoutAttempt || shape == .version1 {
                    if let failure = Self.runScript(Self.upgradeHistorySQL(from: shape), on: db).failure {
                        rollbackIfOpen(db)
                        throw failure
                    }
                }
                if let failure = Self.runScript("COMMIT", on: db).failure {
                    rollbackIfOpen(db)
                    throw failure
                }
                logger.notice(
                    "upgraded tidemark_history to version 2 (attempt, batch_last_key, batch_rows; written by an older Tidemark)"
                )
            }
            historyIsCurrent = true
        } catch {
            throw .queryFailed(
                target: target.name,
                message:
                    "cannot upgrade tidemark_history to version 2 (written by an older Tidemark): \(error.message)",
                sqlState: nil)
        }
    }

    /// None: SQLite keeps no row estimates without ANALYZE, and takes no PostgreSQL-style table
    /// locks (one writer at a time; busy waits are `lock_retries`' business).
    package func estimatedRows(of relations: [String]) throws(BackendError) -> [String: Double] {
        _ = try openHandle()
        return [:]
    }

    package func readHistory() throws(BackendError) -> [HistoryEntry] {
        let db = try openHandle()
        do {
            let shape = try Self.historyShape(db)
            guard shape != .absent else { return [] }
            // A read-only connection cannot upgrade an older table: it reads every row as attempt 1.
            return try Self.query(Self.selectHistorySQL(shape), on: db) { row throws(SQLiteFailure) in
                try Self.historyEntry(from: row)
            }
        } catch {
            throw .queryFailed(
                target: target.name, message: "cannot read tidemark_history: \(error.message)", sqlState: nil)
        }
    }

    // MARK: Steps

    /// SQLite has no schemas. A table another tool names with a schema lives in the database file
    /// beside the target's, named as the schema with the target's extension, as Sqitch keeps its
    /// registry (`sqitch.db` beside `shop.db`); that file is opened read-only, never created.
    package func readRows(of table: ForeignTable) throws(BackendError) -> [[String?]]? {
        let db = try openHandle()
        guard let schema = table.schema else { return try Self.readRows(of: table, on: db, target: target.name) }
        let path = Self.siblingDatabasePath(of: databasePath, named: schema)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, nil)
        defer { sqlite3_close_v2(handle) }
        guard code == SQLITE_OK, let handle else {
            throw .queryFailed(
                target: target.name, message: "cannot open \(path): \(SQLiteError.text(of: code))", sqlState: nil)
        }
        sqlite3_busy_timeout(handle, 5_000)
        return try Self.readRows(of: table, on: handle, target: target.name)
    }

    /// `<folder>/<name>.<ext>` for a database at `<folder>/<base>.<ext>` (no extension: `<folder>/<name>`).
    static func siblingDatabasePath(of path: String, named name: String) -> String {
        let url = URL(fileURLWithPath: path)
        let base = url.lastPathComponent
        let sibling = base.firstIndex(of: ".").map { name + base[$0...] } ?? name
        return url.deletingLastPathComponent().appendingPathComponent(sibling).path
    }

    private static func readRows(of table: ForeignTable, on db: OpaquePointer, target: String) throws(BackendError)
        -> [[String?]]?
    {
        do {
            let found = try query(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [.text(table.name)], on: db
            ) { _ in true }
            guard !found.isEmpty else { return nil }
            // A missing column must say so: SQLite would read "version" as a string literal.
            let present = try query("SELECT name FROM pragma_table_info(?1)", [.text(table.name)], on: db) { row in
                row.optionalText(0)
            }
            guard Set(table.columns).isSubset(of: Set(present.compactMap { $0 })) else { return nil }
            let columns = table.columns.map(quoteIdentifier).joined(separator: ", ")
            let count = Int32(table.columns.count)
            return try query("SELECT \(columns) FROM \(quoteIdentifier(table.name))", on: db) { row in
                (0..<count).map { row.optionalText($0) }
            }
        } catch {
            throw .queryFailed(
                target: target, message: "cannot read \(table.qualifiedName): \(error.message)", sqlState: nil)
        }
    }

    /// `"name"`, with quotes doubled.
    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    @discardableResult
    package func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry {
        let db = try writableHandle("run version \(step.version)")
        // A writer that never called ensureHistoryTable (repair, adopt) upgrades an older table too.
        try upgradeHistoryTable(db)
        logger.debug(
            "running step",
            metadata: [
                "version": "\(step.version)", "kind": "\(step.kind.rawValue)", "transactional": "\(step.transactional)",
            ])
        let entry: HistoryEntry
        switch step.kind {
        case .skip, .baseline, .repair:
            // These record that a version is in effect (or how a dirty step was resolved)
            // without running anything; any SQL is ignored.
            entry = try recordOnly(step, on: db)
        case .forward, .undo, .compensate:
            entry = step.transactional ? try runInTransaction(step, on: db) : try runAsWritten(step, on: db)
        }
        logger.debug(
            "step succeeded", metadata: ["version": "\(step.version)", "execution_ms": "\(entry.executionMS)"])
        return entry
    }

    package func verify(_ request: VerifyRequest) throws(BackendError) {
        let db = try writableHandle("run verify script \(request.scriptPath)")
        rollbackIfOpen(db)
        // Whatever happens, no transaction stays open: a verify changes nothing.
        defer { rollbackIfOpen(db) }
        if request.transactional, let failure = Self.runScript("BEGIN", on: db).failure {
            throw .verifyFailed(
                target: target.name, version: request.version, script: request.scriptPath, message: failure.message,
                sqlState: nil)
        }
        watch.arm(timeout: timeouts.statementTimeout)
        let outcome = Self.runScript(request.sql, on: db)
        let stop = watch.disarm()
        if let failure = outcome.failure {
            throw .verifyFailed(
                target: target.name, version: request.version, script: request.scriptPath,
                message: describe(failure, stop: stop), sqlState: nil)
        }
    }

    /// A `skip` or `baseline` row: committed on its own, nothing runs.
    private func recordOnly(_ step: StepRequest, on db: OpaquePointer) throws(BackendError) -> HistoryEntry {
        let now = SQLiteTimestamp.now()
        var entry = makeEntry(step, startedAt: now)
        entry.finishedAt = now.date
        entry.success = true
        do {
            entry.id = try insert(entry, on: db)
        } catch {
            throw stepFailure(step, "cannot record the history row: \(error.message)", dirty: false)
        }
        return entry
    }

    /// BEGIN IMMEDIATE, the script, the success row, COMMIT; on failure ROLLBACK and a failed row.
    private func runInTransaction(_ step: StepRequest, on db: OpaquePointer) throws(BackendError) -> HistoryEntry {
        let started = SQLiteTimestamp.now()
        let clockStart = ContinuousClock.now
        // IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so the script
        // cannot fail half-way with SQLITE_BUSY when it first writes.
        if let failure = Self.runScript("BEGIN IMMEDIATE", on: db).failure {
            throw stepFailure(
                step, "cannot begin a transaction: \(failure.message)", dirty: false,
                busy: SQLiteError.isTransient(failure.code))
        }
        watch.arm(timeout: timeouts.statementTimeout)
        let outcome = Self.runScript(step.sql, on: db, tracksTransaction: true)
        let stop = watch.disarm()
        let executionMS = Self.elapsedMilliseconds(since: clockStart)

        if outcome.endedTransaction {
            // The script committed or rolled back Tidemark's transaction itself: whatever ran
            // before that is committed, and the history row can no longer commit with it.
            rollbackIfOpen(db)
            var message =
                "the script ended Tidemark's transaction itself (its own COMMIT, ROLLBACK or END); mark it `-- tidemark:no-transaction`"
            if let failure = outcome.failure { message += "; then \(describe(failure, stop: stop))" }
            recordFailedRow(
                step, startedAt: started, executionMS: executionMS, transactional: false, error: message, on: db)
            throw stepFailure(step, message, dirty: true)
        }
        if let failure = outcome.failure {
            rollbackIfOpen(db)
            let message = describe(failure, stop: stop)
            recordFailedRow(
                step, startedAt: started, executionMS: executionMS, transactional: true, error: message, on: db)
            if stop == .cancelled { throw .cancelled(target: target.name, version: step.version) }
            throw stepFailure(step, message, dirty: false, busy: stop == nil && SQLiteError.isTransient(failure.code))
        }

        var entry = makeEntry(step, startedAt: started)
        entry.finishedAt = SQLiteTimestamp.now().date
        entry.executionMS = executionMS
        entry.success = true
        do throws(SQLiteFailure) {
            entry.id = try insert(entry, on: db)
            if let failure = Self.runScript("COMMIT", on: db).failure { throw failure }
        } catch {
            rollbackIfOpen(db)
            let message = "cannot commit the step and its history row: \(error.message)"
            recordFailedRow(
                step, startedAt: started, executionMS: executionMS, transactional: true, error: message, on: db)
            throw stepFailure(step, message, dirty: false)
        }
        return entry
    }

    /// A dirty-first row, the script as written, then the row completed (or left failed).
    private func runAsWritten(_ step: StepRequest, on db: OpaquePointer) throws(BackendError) -> HistoryEntry {
        let started = SQLiteTimestamp.now()
        var entry = makeEntry(step, startedAt: started)
        entry.transactional = false
        do {
            // Committed before the script runs: if the process dies mid-way, the row without
            // finished_at is what tells the next run that this target is dirty.
            entry.id = try insert(entry, on: db)
        } catch {
            throw stepFailure(step, "cannot record the history row before running: \(error.message)", dirty: false)
        }

        let clockStart = ContinuousClock.now
        watch.arm(timeout: timeouts.statementTimeout)
        let outcome = Self.runScript(step.sql, on: db)
        let stop = watch.disarm()
        var failureMessage = outcome.failure.map { failure in
            let progress = StatementProgress(
                completed: outcome.completed, total: SQLScanner.statements(in: step.sql).count, line: failure.line ?? 1)
            var unplaced = failure
            unplaced.line = nil // the progress names the line
            return "\(progress): \(describe(unplaced, stop: stop))"
        }
        if sqlite3_get_autocommit(db) == 0 {
            // The script opened a transaction and failed inside it (or never closed it): roll it
            // back so the history row update below is not swallowed by it.
            rollbackIfOpen(db)
            if failureMessage == nil {
                failureMessage = "the script left a transaction open (BEGIN without COMMIT); it was rolled back"
            }
        }
        entry.executionMS = Self.elapsedMilliseconds(since: clockStart)
        entry.finishedAt = SQLiteTimestamp.now().date

        if let failureMessage {
            entry.error = failureMessage
            if let updateFailure = update(entry, on: db) {
                logger.warning(
                    "cannot record the failure in tidemark_history; the row stays unfinished (dirty)",
                    metadata: ["version": "\(step.version)", "error": "\(updateFailure.message)"])
            }
            throw stepFailure(step, failureMessage, dirty: true)
        }
        entry.success = true
        if let updateFailure = update(entry, on: db) {
            throw stepFailure(
                step, "the script ran but its history row could not be completed: \(updateFailure.message)", dirty: true
            )
        }
        return entry
    }

    // MARK: Batched steps (docs/backfills.md)

    package func batchTable(_ spec: BatchSpec) throws(BackendError) -> BatchTable {
        let db = try openHandle()
        do {
            let exists = try Self.query(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE", [.text(spec.table)],
                on: db
            ) { _ in true }
            guard !exists.isEmpty else {
                return .unusable(
                    problem:
                        "table \(spec.table) does not exist here; create it before this version, or correct table= in the directive"
                )
            }
            let columns = try Self.query(
                "SELECT type, pk FROM pragma_table_info(?1) WHERE name = ?2 COLLATE NOCASE",
                [.text(spec.table), .text(spec.key)], on: db
            ) { row in (row.text(0), row.integer(1)) }
            guard let column = columns.first else {
                return .unusable(
                    problem: "table \(spec.table) has no column \(spec.key); correct key= in the directive")
            }
            // SQLite's integer affinity: a declared type containing INT.
            guard column.0.uppercased().contains("INT") else {
                return .unusable(
                    problem:
                        "key \(spec.table).\(spec.key) is \(column.0.isEmpty ? "untyped" : column.0), not an integer; batch on an integer key (the INTEGER PRIMARY KEY, or a unique integer column)"
                )
            }
            let primaryKeyColumns = try Self.query(
                "SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0", [.text(spec.table)], on: db
            ) { $0.integer(0) }
            // An INTEGER PRIMARY KEY is the rowid itself: the table is its index.
            let isRowID = column.1 == 1 && primaryKeyColumns.first == 1 && column.0.uppercased() == "INTEGER"
            let uniqueIndexes = try Self.query(
                """
                SELECT count(*) FROM pragma_index_list(?1) AS l
                WHERE l."unique" = 1 AND l.partial = 0
                  AND (SELECT count(*) FROM pragma_index_info(l.name)) = 1
                  AND (SELECT name FROM pragma_index_info(l.name)) = ?2 COLLATE NOCASE
                """, [.text(spec.table), .text(spec.key)], on: db
            ) { $0.integer(0) }
            guard isRowID || (uniqueIndexes.first ?? 0) > 0 else {
                return .unusable(
                    problem:
                        "key \(spec.table).\(spec.key) has no unique index of its own, so batches cannot be found by walking an index; create one (CREATE UNIQUE INDEX …) in an earlier version"
                )
            }
            let key = Self.quoteIdentifier(spec.key)
            let bounds = try Self.query(
                "SELECT min(\(key)), max(\(key)) FROM \(Self.quoteIdentifier(spec.table))", on: db
            ) { row in
                (row.optionalText(0).flatMap { Int64($0) }, row.optionalText(1).flatMap { Int64($0) })
            }
            return .ready(minKey: bounds.first?.0, maxKey: bounds.first?.1)
        } catch {
            throw .queryFailed(
                target: target.name, message: "cannot read \(spec.table) for its batches: \(error.message)",
                sqlState: nil)
        }
    }

    package func batchEnd(_ spec: BatchSpec, from start: Int64) throws(BackendError) -> Int64? {
        let db = try openHandle()
        let key = Self.quoteIdentifier(spec.key)
        do {
            // ORDER BY the key with a range on it: SQLite walks the key's index (or the rowid).
            let rows = try Self.query(
                "SELECT \(key) FROM \(Self.quoteIdentifier(spec.table)) WHERE \(key) >= ?1 ORDER BY \(key) LIMIT 1 OFFSET ?2",
                [.integer(start), .integer(Int64(spec.size))], on: db
            ) { row in row.integer(0) }
            return rows.first
        } catch {
            throw .queryFailed(
                target: target.name, message: "cannot find the next batch of \(spec.table): \(error.message)",
                sqlState: nil)
        }
    }

    package func beginBatchedStep(_ step: StepRequest, from checkpoint: BatchCheckpoint) throws(BackendError)
        -> HistoryEntry
    {
        let db = try writableHandle("run version \(step.version)")
        try upgradeHistoryTable(db)
        rollbackIfOpen(db)
        var entry = makeEntry(step, startedAt: SQLiteTimestamp.now())
        entry.transactional = true
        entry.batch = checkpoint
        do {
            try Self.execute(
                """
                INSERT INTO tidemark_history
                    (version, description, kind, script, checksum, run_id, applied_by, started_at, finished_at,
                     execution_ms, success, transactional, error, attempt, batch_last_key, batch_rows)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, 0, NULL, 1, NULL, ?9, ?10, ?11)
                """,
                [
                    .text(entry.version), .text(entry.description), .text(entry.kind.rawValue), .text(entry.script),
                    .text(entry.checksum), .text(entry.runID), .text(entry.appliedBy),
                    .text(SQLiteTimestamp(entry.startedAt).text),
                    .integer(Int64(entry.attempt)), checkpoint.lastKey.map { .integer($0) } ?? .null,
                    .integer(checkpoint.rows),
                ], on: db)
            entry.id = sqlite3_last_insert_rowid(db)
        } catch {
            throw stepFailure(step, "cannot record the start of the batched step: \(error.message)", dirty: false)
        }
        return entry
    }

    package func runBatch(_ step: StepRequest, row: Int64, start: Int64, end: Int64) throws(BackendError) -> Int64 {
        let db = try writableHandle("run version \(step.version)")
        if let failure = Self.runScript("BEGIN IMMEDIATE", on: db).failure {
            throw stepFailure(
                step, "batch \(start)..<\(end): cannot begin a transaction: \(failure.message)", dirty: false,
                busy: SQLiteError.isTransient(failure.code))
        }
        watch.arm(timeout: timeouts.statementTimeout)
        let outcome = Self.runScript(BatchStatement.bind(step.sql, start: start, end: end), on: db)
        let stop = watch.disarm()
        if let failure = outcome.failure {
            rollbackIfOpen(db)
            if stop == .cancelled { throw .cancelled(target: target.name, version: step.version) }
            throw stepFailure(
                step, "batch \(start)..<\(end): \(describe(failure, stop: stop))", dirty: false,
                busy: stop == nil && SQLiteError.isTransient(failure.code))
        }
        let changed = sqlite3_changes64(db)
        do throws(SQLiteFailure) {
            try Self.execute(
                "UPDATE tidemark_history SET batch_last_key = ?2, batch_rows = coalesce(batch_rows, 0) + ?3 WHERE id = ?1",
                [.integer(row), .integer(end - 1), .integer(changed)], on: db)
            if let failure = Self.runScript("COMMIT", on: db).failure { throw failure }
        } catch {
            rollbackIfOpen(db)
            throw stepFailure(
                step, "batch \(start)..<\(end): cannot commit the batch with its checkpoint: \(error.message)",
                dirty: false)
        }
        return changed
    }

    package func finishBatchedStep(row: Int64, success: Bool, executionMS: Int64, error: String?) throws(BackendError)
        -> HistoryEntry
    {
        let db = try writableHandle("finish a batched step")
        do throws(SQLiteFailure) {
            try Self.execute(
                """
                UPDATE tidemark_history SET success = ?2, finished_at = ?3, execution_ms = execution_ms + ?4, error = ?5
                WHERE id = ?1
                """,
                [
                    .integer(row), .integer(success ? 1 : 0), .text(SQLiteTimestamp.now().text), .integer(executionMS),
                    error.map { .text($0) } ?? .null,
                ], on: db)
            let select = Self.selectHistorySQL(.current).replacingOccurrences(of: "ORDER BY id", with: "WHERE id = ?1")
            let rows = try Self.query(select, [.integer(row)], on: db) { row throws(SQLiteFailure) in
                try Self.historyEntry(from: row)
            }
            guard let entry = rows.first else {
                throw SQLiteFailure(code: SQLITE_NOTFOUND, message: "row \(row) is gone")
            }
            return entry
        } catch {
            throw .queryFailed(
                target: target.name, message: "cannot finish the batched step's row \(row): \(error.message)",
                sqlState: nil)
        }
    }

    /// SQLite has no replicas Tidemark can see.
    package func replicationLag() throws(BackendError) -> ReplicationLag { .noReplicas }

    private func makeEntry(_ step: StepRequest, startedAt: SQLiteTimestamp) -> HistoryEntry {
        HistoryEntry(
            id: 0, version: step.version, description: step.description, kind: step.kind, script: step.scriptPath,
            checksum: step.checksum, runID: step.runID, appliedBy: step.appliedBy, startedAt: startedAt.date,
            finishedAt: nil, executionMS: 0, success: false, transactional: step.transactional, error: nil,
            attempt: step.attempt)
    }

    /// Records a failed step in its own (autocommit) transaction; a failure here is logged, not
    /// thrown, because the step's own error is the one the caller needs.
    private func recordFailedRow(
        _ step: StepRequest, startedAt: SQLiteTimestamp, executionMS: Int64, transactional: Bool, error: String,
        on db: OpaquePointer
    ) {
        var entry = makeEntry(step, startedAt: startedAt)
        entry.finishedAt = SQLiteTimestamp.now().date
        entry.executionMS = executionMS
        entry.transactional = transactional
        entry.error = error
        do {
            _ = try insert(entry, on: db)
        } catch {
            logger.warning(
                "cannot record the failed step in tidemark_history",
                metadata: ["version": "\(step.version)", "error": "\(error.message)"])
        }
    }

    private func rollbackIfOpen(_ db: OpaquePointer) {
        guard sqlite3_get_autocommit(db) == 0 else { return }
        if let failure = Self.runScript("ROLLBACK", on: db).failure {
            logger.warning("ROLLBACK failed", metadata: ["error": "\(failure.message)"])
        }
    }

    private func describe(_ failure: SQLiteFailure, stop: SQLiteStatementWatch.StopReason?) -> String {
        let place = failure.line.map { "line \($0): " } ?? ""
        switch stop {
        case .timeout(let limit):
            return
                "\(place)ran longer than the statement timeout (\(limit.milliseconds) ms) and was stopped; raise statement_timeout if it needs longer"
        case .cancelled:
            return "\(place)cancelled while running"
        case nil:
            return place + failure.message
        }
    }

    /// `busy`: another connection held the database past busy_timeout (SQLite's lock timeout),
    /// reported as SQLSTATE-like `SQLITE_BUSY` so the executor may retry the step (`lock_retries`).
    private func stepFailure(_ step: StepRequest, _ message: String, dirty: Bool, busy: Bool = false) -> BackendError {
        logger.debug("step failed", metadata: ["version": "\(step.version)", "error": "\(message)"])
        return .stepFailed(
            target: target.name, version: step.version, kind: step.kind, message: message,
            sqlState: busy ? "SQLITE_BUSY" : nil,
            dirty: dirty)
    }

    // MARK: Close

    package func close() {
        guard let db = handle else { return }
        lockFile.release()
        // Under the watch's lock, so no concurrent cancel() can reach the handle once freed.
        watch.detach()
        sqlite3_progress_handler(db, 0, nil, nil)
        sqlite3_close_v2(db)
        handle = nil
        logger.debug("closed SQLite database")
    }

    private func openHandle() throws(BackendError) -> OpaquePointer {
        guard let handle else { throw .closed(target: target.name) }
        return handle
    }

    /// The handle, for a change: refused on a read-only connection before SQLite is asked.
    private func writableHandle(_ operation: String) throws(BackendError) -> OpaquePointer {
        let db = try openHandle()
        guard access == .readWrite else { throw .readOnly(target: target.name, operation: operation) }
        return db
    }
}

/// The progress handler: a C function, so it reaches its watch through the context pointer.
private func sqliteProgressHandler(_ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    let watch = Unmanaged<SQLiteStatementWatch>.fromOpaque(context).takeUnretainedValue()
    return watch.shouldStop() ? 1 : 0
}
