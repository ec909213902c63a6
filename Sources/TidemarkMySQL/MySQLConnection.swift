import Foundation
import Logging
import TidemarkCore
import TidemarkSQLCheck

/// An open connection to one MySQL or MariaDB target: one database on a server.
///
/// Not thread-safe: used by one thread at a time, the executor's worker that opened it
/// (blocking Connector/C calls stay off the Swift concurrency pool). Only `canceller` may be used
/// from other threads. Closing, by `close()` or `deinit`, ends the session, which also releases
/// the `GET_LOCK` lock, even when the process is killed.
package final class MySQLConnection: BackendConnection {
    package let target: Target
    /// The database that holds `tidemark_history` and names the lock.
    package let database: String
    package let access: ConnectionAccess
    package let canceller: any StatementCanceller
    /// What the server is (flavour and version), read once when connecting.
    package let server: MySQLServer
    package var databaseServer: DatabaseServer? { server.identity }

    private var connection: MySQLHandle?
    let timeouts: Timeouts
    let logger: Logger
    private let redactedPassword: String?
    /// `` `db`.`tidemark_history` ``: always qualified, so a script's `USE` cannot send a row elsewhere.
    let historyTable: String
    private let lockName: String
    /// Whether `tidemark_history` is known to be version 2 on this connection.
    var historyIsCurrent = false
    /// The process environment: the replicas' `password_env` are read from it.
    let environment: [String: String]
    /// Open sessions to the target's replicas, by URL (`max_lag`).
    var replicaHandles: [String: MySQLHandle] = [:]
    /// The unique index each batched table's key is walked by (`table.key` → index name).
    var batchIndexes: [String: String] = [:]
    private var holdsLock = false
    private var databaseExists: Bool
    /// The session's `sql_mode` when it connected, a literal: restored after every step, so a
    /// script's `SET sql_mode` (a dump header's, say) does not change how the next step parses.
    private var sqlMode = "''"
    /// Where the session came from and goes back to when it is shared (nil: this target's own).
    private let pool: MySQLSessionPool?
    private let options: MySQLConnectOptions

    init(
        target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger, environment: [String: String],
        pool: MySQLSessionPool? = nil
    ) throws(BackendError) {
        let (options, missingPasswordEnv) = try Self.connectOptions(
            for: target, timeouts: timeouts, environment: environment)
        let url = options.url
        let password = options.password
        guard let database = target.schema ?? url.database, !database.isEmpty else {
            throw .unsupported(
                target: target.name,
                message:
                    "\(target.redactedLocation) names no database; add one to the URL (mysql://host/app) or set schema: app."
            )
        }
        guard database.count <= MySQLSQL.maximumIdentifierLength, !database.hasSuffix(" "), !database.contains("/"),
            !database.unicodeScalars.contains(where: { $0.value == 0 })
        else {
            throw .unsupported(
                target: target.name,
                message:
                    "database name '\(database)' must be 1 to \(MySQLSQL.maximumIdentifierLength) characters without '/', NUL or a trailing space; MySQL would reject it."
            )
        }
        var logger = logger
        logger[metadataKey: "target"] = "\(target.name)"
        if let missingPasswordEnv {
            logger.warning(
                "password_env \(missingPasswordEnv) is not set; the client library falls back to its option files")
        }
        self.redactedPassword = password.flatMap { $0.isEmpty ? nil : $0 }

        let handle: MySQLHandle
        do {
            if let pool, let limit = timeouts.sessionsPerServer {
                handle = try pool.take(options, limit: limit)
            } else {
                handle = try MySQLHandle.connect(options)
            }
        } catch {
            var message = Self.redact(error.fullMessage, password: password)
            if let missingPasswordEnv, error.code == 1045 {
                message += " (password_env \(missingPasswordEnv) is not set)"
            }
            throw .connectionFailed(target: target.name, message: message, transient: Self.isTransient(error))
        }
        self.target = target
        self.environment = environment
        self.database = database
        self.access = access
        self.timeouts = timeouts
        self.logger = logger
        self.historyTable = MySQLSQL.quoteIdentifier(database) + ".tidemark_history"
        self.lockName = MySQLSQL.lockName(database: database)
        self.server = MySQLServer(versionText: handle.serverVersion)
        self.canceller = MySQLCanceller(options: options, threadID: handle.threadID, logger: logger)
        self.connection = handle
        self.databaseExists = false
        self.pool = pool
        self.options = options

        do {
            try handle.query(sessionSettings())
            if access == .readOnly { try handle.query("SET SESSION TRANSACTION READ ONLY") }
            if let mode = try handle.query("SELECT @@SESSION.sql_mode").first?.first ?? nil {
                sqlMode = MySQLSQL.literal(mode)
            }
            databaseExists = try Self.exists(database, on: handle)
            if databaseExists { try handle.query("USE \(MySQLSQL.quoteIdentifier(database))") }
        } catch {
            close()
            throw failure("cannot apply the session settings (timeouts, time zone)", error)
        }
        if !databaseExists && access == .readOnly {
            close()
            throw .databaseNotFound(target: target.name, location: "\(target.redactedLocation) (database \(database))")
        }
        logger.debug("connected", metadata: ["mysql.server": "\(server)", "database": "\(database)"])
    }

    /// What a session for `target` is opened with: its URL parsed, the password from the
    /// variable `password_env` names (else the URL's), its option files; and the variable named
    /// but unset, if any.
    static func connectOptions(for target: Target, timeouts: Timeouts, environment: [String: String])
        throws(BackendError) -> (MySQLConnectOptions, missingPasswordEnv: String?)
    {
        let url = try MySQLURL(of: target)
        var password = url.password
        var missingPasswordEnv: String?
        if let variable = target.passwordEnv {
            if let value = environment[variable] { password = value } else { missingPasswordEnv = variable }
        }
        let seconds = max(1, Int((timeouts.connectTimeout.milliseconds + 999) / 1000))
        let options = MySQLConnectOptions(
            url: url, password: password, optionFile: target.optionFile, optionGroup: target.optionGroup,
            connectTimeoutSeconds: UInt32(clamping: seconds))
        return (options, missingPasswordEnv)
    }

    // MARK: - Lock

    package func tryLock(timeout: Duration) throws(BackendError) -> Bool {
        let handle = try openWritable("take the migration lock")
        if holdsLock { return true }
        let taken = try LockPolling.poll(timeout: timeout) { () throws(BackendError) -> Bool in
            let rows: [MySQLRow]
            do throws(MySQLFailure) {
                rows = try handle.query("SELECT GET_LOCK(\(MySQLSQL.literal(lockName)), 0)")
            } catch {
                throw failure("cannot take the migration lock", error)
            }
            return rows.first?.first == "1"
        }
        if taken {
            holdsLock = true
        } else {
            logger.debug("migration lock held by another session", metadata: ["lock_name": "\(lockName)"])
        }
        return taken
    }

    package func unlock() throws(BackendError) {
        guard let handle = connection, holdsLock else { return }
        holdsLock = false
        do {
            try handle.query("SELECT RELEASE_LOCK(\(MySQLSQL.literal(lockName)))")
        } catch {
            throw failure("cannot release the migration lock", error)
        }
    }

    // MARK: - History

    package func ensureHistoryTable() throws(BackendError) {
        let handle = try openWritable("create \(historyTable)")
        if historyIsCurrent { return }
        if databaseExists {
            switch try historyShape(handle) {
            case .current:
                historyIsCurrent = true
                return
            case .version1:
                try upgradeHistoryTable(handle)
                historyIsCurrent = true
                return
            case .absent: break
            }
        }
        do throws(MySQLFailure) {
            if !databaseExists {
                try handle.query(
                    "CREATE DATABASE IF NOT EXISTS \(MySQLSQL.quoteIdentifier(database)) CHARACTER SET utf8mb4")
                try handle.query("USE \(MySQLSQL.quoteIdentifier(database))")
                databaseExists = true
            }
            try handle.query(
                """
                CREATE TABLE IF NOT EXISTS \(historyTable) (
                    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    version VARCHAR(255) NOT NULL,
                    description TEXT NOT NULL,
                    kind VARCHAR(32) NOT NULL,
                    script TEXT NOT NULL,
                    checksum VARCHAR(255) NOT NULL,
                    run_id VARCHAR(255) NOT NULL,
                    applied_by VARCHAR(255) NOT NULL,
                    started_at DATETIME(6) NOT NULL,
                    finished_at DATETIME(6) NULL,
                    execution_ms BIGINT NOT NULL DEFAULT 0,
                    success BOOLEAN NULL,
                    transactional BOOLEAN NOT NULL,
                    error TEXT NULL,
                    attempt INT NOT NULL DEFAULT 1,
                    batch_last_key BIGINT NULL,
                    batch_rows BIGINT NULL,
                    statements_done INT NULL
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
                """)
        } catch {
            throw failure("cannot create \(historyTable)", error)
        }
        // A table another run created a moment ago (IF NOT EXISTS kept it) may still be version 1.
        if try historyShape(handle) == .version1 { try upgradeHistoryTable(handle) }
        historyIsCurrent = true
    }

    /// What `tidemark_history` looks like here: missing, version 1 (before the batch and
    /// progress columns), or version 2.
    enum HistoryShape {
        case absent, version1, current
    }

    func historyShape(_ handle: MySQLHandle) throws(BackendError) -> HistoryShape {
        do {
            let rows = try handle.query(
                """
                SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = \(MySQLSQL.literal(database))
                AND TABLE_NAME = 'tidemark_history'
                """)
            let names = Set(rows.compactMap { $0.first ?? nil }.map { $0.lowercased() })
            if names.isEmpty { return .absent }
            return names.contains("statements_done") ? .current : .version1
        } catch {
            throw failure("cannot look for \(historyTable)", error)
        }
    }

    /// Brings a version 1 table (written by an older Tidemark) to version 2, in place: the
    /// checkpoint columns `batch_last_key` and `batch_rows` (NULL: not a batched step),
    /// `statements_done` (NULL: not recorded), and `success` nullable (NULL: a batched step in
    /// progress); docs/mysql.md#the-history-table. Under a `GET_LOCK` of its own, so two runs
    /// starting together do not both alter it; the columns are read again once it is held.
    /// Older binaries keep working: they name their columns and the new ones default to NULL.
    private func upgradeHistoryTable(_ handle: MySQLHandle) throws(BackendError) {
        let lock = MySQLSQL.literal(MySQLSQL.creationLockName(database: database))
        do throws(MySQLFailure) {
            let taken = try handle.query(
                "SELECT GET_LOCK(\(lock), \(max(1, timeouts.lockTimeout.milliseconds / 1000)))")
            guard taken.first?.first == "1" else {
                throw MySQLFailure(
                    code: 0, sqlState: nil, message: "another session holds the history table's upgrade lock; run again"
                )
            }
            defer { _ = try? handle.query("SELECT RELEASE_LOCK(\(lock))") }
            let rows = try handle.query(
                """
                SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = \(MySQLSQL.literal(database))
                AND TABLE_NAME = 'tidemark_history'
                """)
            let names = Set(rows.compactMap { $0.first ?? nil }.map { $0.lowercased() })
            var changes: [String] = []
            if !names.contains("batch_last_key") { changes.append("ADD COLUMN batch_last_key BIGINT NULL") }
            if !names.contains("batch_rows") { changes.append("ADD COLUMN batch_rows BIGINT NULL") }
            if !names.contains("statements_done") { changes.append("ADD COLUMN statements_done INT NULL") }
            guard !changes.isEmpty else { return }
            changes.append("MODIFY COLUMN success BOOLEAN NULL")
            try handle.query("ALTER TABLE \(historyTable) \(changes.joined(separator: ", "))")
            logger.notice(
                "upgraded \(historyTable) to version 2 (batch_last_key, batch_rows, statements_done; written by an older Tidemark)"
            )
        } catch {
            throw failure("cannot upgrade \(historyTable) to version 2 (written by an older Tidemark)", error)
        }
    }

    package func readHistory() throws(BackendError) -> [HistoryEntry] {
        let handle = try open()
        guard databaseExists else { return [] }
        let shape = try historyShape(handle)
        guard shape != .absent else { return [] }
        // A read-only connection cannot upgrade a version 1 table: its rows read without
        // checkpoints or progress.
        let columns = shape == .current ? Self.columns : Self.columnsOfVersion1
        let rows: [MySQLRow]
        do {
            rows = try handle.query("SELECT \(columns) FROM \(historyTable) ORDER BY id")
        } catch {
            throw failure("cannot read \(historyTable)", error)
        }
        var entries: [HistoryEntry] = []
        entries.reserveCapacity(rows.count)
        for row in rows { entries.append(try entry(from: row)) }
        return entries
    }

    /// `information_schema.TABLES.TABLE_ROWS`: InnoDB's estimate, for an index its table's.
    package func estimatedRows(of relations: [String]) throws(BackendError) -> [String: Double] {
        guard !relations.isEmpty, databaseExists else { return [:] }
        let handle = try open()
        var result: [String: Double] = [:]
        do {
            for relation in relations {
                let parts = relation.split(separator: ".").map(String.init)
                let schema = parts.count == 2 ? parts[0] : database
                let name = parts.last ?? relation
                let rows = try handle.query(
                    """
                    SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = \(MySQLSQL.literal(schema))
                    AND TABLE_NAME = \(MySQLSQL.literal(name))
                    UNION ALL
                    SELECT t.TABLE_ROWS FROM information_schema.STATISTICS s JOIN information_schema.TABLES t
                    ON t.TABLE_SCHEMA = s.TABLE_SCHEMA AND t.TABLE_NAME = s.TABLE_NAME
                    WHERE s.TABLE_SCHEMA = \(MySQLSQL.literal(schema)) AND s.INDEX_NAME = \(MySQLSQL.literal(name))
                    AND t.TABLE_SCHEMA = \(MySQLSQL.literal(schema)) LIMIT 1
                    """)
                if let value = rows.first?.first.flatMap({ $0 }).flatMap(Double.init) {
                    result[relation] = max(0, value)
                }
            }
        } catch {
            throw failure("cannot read the row estimates", error)
        }
        return result
    }

    /// Runs one query and returns its rows as text. Visible inside this package only: the test
    /// helpers read `information_schema` with it directly, since `readRows(of:)` answers nil
    /// (not an error) when the connection's own database is absent, which let a catalog check
    /// pass by reading nothing.
    package func catalogRows(_ sql: String) throws(BackendError) -> [[String?]] {
        let handle = try open()
        do {
            return try handle.query(sql)
        } catch {
            throw failure("cannot read the catalog", error)
        }
    }

    package func readRows(of table: ForeignTable) throws(BackendError) -> [[String?]]? {
        let handle = try open()
        guard databaseExists else { return nil }
        let schema = table.schema ?? database
        do {
            let present = try handle.query(
                """
                SELECT COLUMN_NAME FROM information_schema.COLUMNS
                WHERE TABLE_SCHEMA = \(MySQLSQL.literal(schema)) AND TABLE_NAME = \(MySQLSQL.literal(table.name))
                """)
            guard !present.isEmpty else { return nil }
            let names = Set(present.compactMap { $0.first ?? nil }.map { $0.lowercased() })
            guard table.columns.allSatisfy({ names.contains($0.lowercased()) }) else { return nil }
            // No columns asked: only whether the table is there (an empty answer, not nil).
            if table.columns.isEmpty { return [] }
            let columns = table.columns.map { "CAST(\(MySQLSQL.quoteIdentifier($0)) AS CHAR)" }.joined(separator: ", ")
            return try handle.query(
                "SELECT \(columns) FROM \(MySQLSQL.quoteIdentifier(schema)).\(MySQLSQL.quoteIdentifier(table.name))")
        } catch {
            throw failure("cannot read \(table.qualifiedName)", error)
        }
    }

    // MARK: - Steps

    @discardableResult
    package func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry {
        let handle = try openWritable("run version \(step.version)")
        if !historyIsCurrent { try ensureHistoryTable() }
        // A shared session still has the previous target's database selected until this one's
        // exists: never run a script there.
        guard databaseExists else {
            throw .queryFailed(
                target: target.name,
                message: "database \(database) does not exist yet; create its history table first", sqlState: nil)
        }
        let recordOnly =
            step.kind == .skip || step.kind == .baseline || step.kind == .repair || step.sql.allSatisfy(\.isWhitespace)
        if recordOnly { return try record(step, on: handle) }
        let statements: [MySQLScript.Statement]
        do {
            statements = try MySQLScript.statements(in: step.sql)
        } catch {
            let place = step.scriptPath.isEmpty ? "script line \(error.line)" : "\(step.scriptPath):\(error.line)"
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind,
                message:
                    "\(place): DELIMITER is a command of the mysql client, not SQL; remove the DELIMITER lines and end each statement, a CREATE PROCEDURE … END included, with ';' (Tidemark splits compound statements itself).",
                sqlState: nil, dirty: false)
        }
        defer { _ = try? handle.query("SET SESSION sql_mode = \(sqlMode)") }
        if step.transactional && MySQLScript.isAllDML(statements) {
            return try runInTransaction(step, statements: statements, on: handle)
        }
        return try runStatementByStatement(step, statements: statements, on: handle)
    }

    /// A verify must change nothing, and DDL commits implicitly, so a verify script may hold
    /// only DML and transaction control (`BEGIN`, `START TRANSACTION`, `ROLLBACK`); anything else
    /// is refused before it runs, naming its line. The rest runs in a transaction rolled back.
    package func verify(_ request: VerifyRequest) throws(BackendError) {
        let handle = try openWritable("run verify script \(request.scriptPath)")
        let statements: [MySQLScript.Statement]
        do {
            statements = try MySQLScript.statements(in: request.sql)
        } catch {
            throw .verifyFailed(
                target: target.name, version: request.version, script: request.scriptPath,
                message:
                    "\(request.scriptPath):\(error.line): DELIMITER is a command of the mysql client, not SQL; remove it.",
                sqlState: nil)
        }
        if let writer = statements.first(where: { !$0.isDML && !$0.isTransactionControl }) {
            throw .verifyFailed(
                target: target.name, version: request.version, script: request.scriptPath,
                message:
                    "\(request.scriptPath):\(writer.line): a verify script on MySQL may only read (SELECT and other DML, rolled back); this statement would commit implicitly, so it was not run.",
                sqlState: nil)
        }
        do throws(MySQLFailure) {
            if request.transactional { try handle.query("START TRANSACTION") }
            defer { _ = try? handle.query("ROLLBACK") }
            for statement in statements { try handle.query(statement.text) }
        } catch {
            throw .verifyFailed(
                target: target.name, version: request.version, script: request.scriptPath,
                message: redact(error.fullMessage),
                sqlState: error.sqlState)
        }
    }

    package func fingerprint() throws(BackendError) -> SchemaFingerprint {
        let handle = try open()
        guard databaseExists else { return SchemaFingerprintBuilder().fingerprint }
        do {
            return try MySQLFingerprint.read(database: database, server: server, on: handle)
        } catch {
            throw failure("cannot read the schema fingerprint", error)
        }
    }

    package func close() {
        holdsLock = false
        replicaHandles = [:]
        if let pool {
            // A shared session goes back reset (mysql_reset_connection also releases GET_LOCK),
            // or closed when it broke.
            let session = connection
            connection = nil
            if let session { pool.giveBack(session, options: options) }
            return
        }
        connection = nil // MySQLHandle.deinit calls mysql_close; the server drops GET_LOCK with the session
    }

    deinit {
        // A shared session must go back even when nobody called close(), or its server's count
        // would never come down.
        if pool != nil { close() }
    }

    /// `skip`, `baseline`, `repair` and empty scripts: only a row, in autocommit.
    private func record(_ step: StepRequest, on handle: MySQLHandle) throws(BackendError) -> HistoryEntry {
        let now = Date()
        do {
            return try insertRow(
                step, on: handle, startedAt: now, finishedAt: now, executionMS: 0, success: true,
                transactional: step.transactional,
                error: nil)
        } catch {
            throw failure("cannot record the \(step.kind.rawValue) row of version \(step.version)", error)
        }
    }

    /// DML only: every statement and the success row commit together; a failure rolls back and
    /// leaves a failed row.
    private func runInTransaction(
        _ step: StepRequest, statements: [MySQLScript.Statement], on handle: MySQLHandle
    ) throws(BackendError) -> HistoryEntry {
        let startedAt = Date()
        let clock = ContinuousClock()
        let start = clock.now
        var current: MySQLScript.Statement?
        do throws(MySQLFailure) {
            try handle.query("START TRANSACTION")
            for statement in statements {
                current = statement
                try handle.query(statement.text)
            }
            current = nil
            let entry = try insertRow(
                step, on: handle, startedAt: startedAt, finishedAt: Date(),
                executionMS: (clock.now - start).milliseconds,
                success: true, transactional: true, error: nil)
            try handle.query("COMMIT")
            return entry
        } catch {
            _ = try? handle.query("ROLLBACK")
            var message: String
            if let current {
                message = describe(error, in: step, line: current.line)
            } else {
                message = redact("recording the step in \(historyTable) failed: \(error.fullMessage)")
            }
            if error.connectionLost {
                message += "; the connection was lost, so the server rolled the transaction back"
            } else {
                do {
                    _ = try insertRow(
                        step, on: handle, startedAt: startedAt, finishedAt: Date(),
                        executionMS: (clock.now - start).milliseconds,
                        success: false, transactional: true, error: historyError(message, error))
                } catch {
                    logger.warning("could not record the failed step in \(historyTable): \(redact(error.fullMessage))")
                }
            }
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind, message: message,
                sqlState: error.reportedState, dirty: false)
        }
    }

    /// A step with DDL: MySQL commits each DDL statement implicitly, so nothing can roll the
    /// step back. The row is written first as running, the statements run one by one, and the
    /// row is completed; a failure leaves it failed at `statement N of M`, so the target reads
    /// as dirty until `tidemark repair` resolves it.
    private func runStatementByStatement(
        _ step: StepRequest, statements: [MySQLScript.Statement], on handle: MySQLHandle
    ) throws(BackendError) -> HistoryEntry {
        let startedAt = Date()
        let clock = ContinuousClock()
        let start = clock.now
        let running: HistoryEntry
        do {
            running = try insertRow(
                step, on: handle, startedAt: startedAt, finishedAt: nil, executionMS: 0, success: false,
                transactional: false,
                error: nil, statementsDone: 0)
        } catch {
            throw failure("cannot record the start of version \(step.version) in \(historyTable)", error)
        }
        var failed: (error: MySQLFailure, message: String)?
        for (index, statement) in statements.enumerated() {
            var lockWaits = 0
            while true {
                do throws(MySQLFailure) {
                    try handle.query(statement.text)
                    recordProgress(index + 1, of: running.id, on: handle)
                    break
                } catch {
                    // docs/mysql.md#locks-and-timeouts: a lock wait (1205) or deadlock (1213)
                    // changed nothing of this statement; it alone runs again, up to lock_retries.
                    if error.isLockWait && lockWaits < step.lockRetries {
                        lockWaits += 1
                        logger.notice(
                            "statement \(index + 1) of \(statements.count) timed out waiting for a lock; running it again",
                            metadata: [
                                "version": "\(step.version)", "line": "\(statement.line)", "retry": "\(lockWaits)",
                                "of": "\(step.lockRetries)",
                            ])
                        Thread.sleep(forTimeInterval: min(2, 0.1 * Double(1 << min(lockWaits, 5))))
                        continue
                    }
                    let progress = StatementProgress(completed: index, total: statements.count, line: statement.line)
                    let retried = lockWaits > 0 ? " (after \(lockWaits + 1) attempts of that statement)" : ""
                    failed = (error, "\(progress): \(describe(error, in: step, line: statement.line))\(retried)")
                    break
                }
            }
            if failed != nil { break }
        }
        let elapsed = (clock.now - start).milliseconds
        // A script's own START TRANSACTION left open must not swallow the row's update.
        if failed != nil { _ = try? handle.query("ROLLBACK") }
        if let (error, message) = failed {
            var message = message
            if error.connectionLost {
                message += "; the connection was lost, so its history row still reads as running"
            } else {
                do {
                    try handle.query(sessionSettings())
                    _ = try completeRow(
                        running.id, on: handle, finishedAt: Date(), executionMS: elapsed, success: false,
                        error: historyError(message, error))
                } catch {
                    logger.warning("could not record the failure in \(historyTable): \(redact(error.fullMessage))")
                }
            }
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind, message: message, sqlState: error.sqlState,
                dirty: true)
        }
        do {
            // A script may have changed the session (time zone, sql_mode): restored before the row.
            try handle.query(sessionSettings())
            try handle.query("COMMIT")
            return try completeRow(
                running.id, on: handle, finishedAt: Date(), executionMS: elapsed, success: true, error: nil)
        } catch {
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind,
                message:
                    "the script ran, but recording its success in \(historyTable) failed: \(redact(error.fullMessage))",
                sqlState: error.sqlState, dirty: true)
        }
    }

    /// Records that `done` statements of the step in row `id` completed: each DDL statement
    /// committed as it ran, so a run killed before the next one leaves the row saying exactly
    /// where it stopped (docs/mysql.md#a-half-applied-step). In autocommit, or inside a
    /// transaction the script opened, where it commits (or rolls back) with the statements it
    /// counts. Not being able to record it is a warning: the step itself goes on.
    private func recordProgress(_ done: Int, of id: Int64, on handle: MySQLHandle) {
        do {
            try handle.query("UPDATE \(historyTable) SET statements_done = \(done) WHERE id = \(id)")
        } catch {
            logger.warning(
                "could not record statement \(done)'s completion in \(historyTable): \(redact(error.fullMessage))")
        }
    }

    // MARK: - Rows

    /// The columns every history query returns, in `entry(from:)` order; times as epoch seconds
    /// with microseconds (the session's time zone is UTC).
    static let columns = """
        id, version, description, kind, script, checksum, run_id, applied_by, \
        UNIX_TIMESTAMP(started_at), UNIX_TIMESTAMP(finished_at), execution_ms, success, transactional, error, attempt, \
        batch_last_key, batch_rows, statements_done
        """

    /// `columns` for a version 1 table (before the checkpoint and progress columns).
    static let columnsOfVersion1 = columns.replacingOccurrences(
        of: "batch_last_key, batch_rows, statements_done", with: "NULL, NULL, NULL")

    private func insertRow(
        _ step: StepRequest, on handle: MySQLHandle, startedAt: Date, finishedAt: Date?, executionMS: Int64,
        success: Bool,
        transactional: Bool, error: String?, statementsDone: Int? = nil
    ) throws(MySQLFailure) -> HistoryEntry {
        let values = [
            MySQLSQL.literal(step.version), MySQLSQL.literal(step.description), MySQLSQL.literal(step.kind.rawValue),
            MySQLSQL.literal(step.scriptPath), MySQLSQL.literal(step.checksum), MySQLSQL.literal(step.runID),
            MySQLSQL.literal(step.appliedBy), MySQLSQL.timestamp(startedAt),
            finishedAt.map(MySQLSQL.timestamp) ?? "NULL",
            String(executionMS), success ? "TRUE" : "FALSE", transactional ? "TRUE" : "FALSE",
            error.map(MySQLSQL.literal) ?? "NULL",
            String(step.attempt), statementsDone.map(String.init) ?? "NULL",
        ]
        try handle.query(
            """
            INSERT INTO \(historyTable) (version, description, kind, script, checksum, run_id, applied_by, started_at,
                finished_at, execution_ms, success, transactional, error, attempt, statements_done)
            VALUES (\(values.joined(separator: ", ")))
            """)
        return try parsedRow(handle.query("SELECT \(Self.columns) FROM \(historyTable) WHERE id = LAST_INSERT_ID()"))
    }

    private func completeRow(
        _ id: Int64, on handle: MySQLHandle, finishedAt: Date, executionMS: Int64, success: Bool, error: String?
    ) throws(MySQLFailure) -> HistoryEntry {
        try handle.query(
            """
            UPDATE \(historyTable) SET success = \(success ? "TRUE" : "FALSE"), finished_at = \(MySQLSQL.timestamp(finishedAt)),
                execution_ms = \(executionMS), error = \(error.map(MySQLSQL.literal) ?? "NULL")
            WHERE id = \(id)
            """)
        return try parsedRow(handle.query("SELECT \(Self.columns) FROM \(historyTable) WHERE id = \(id)"))
    }

    func parsedRow(_ rows: [MySQLRow]) throws(MySQLFailure) -> HistoryEntry {
        guard let row = rows.first else {
            throw MySQLFailure(code: 0, sqlState: nil, message: "\(historyTable) returned no row")
        }
        do {
            return try entry(from: row)
        } catch {
            throw MySQLFailure(code: 0, sqlState: nil, message: error.description)
        }
    }

    private func entry(from row: MySQLRow) throws(BackendError) -> HistoryEntry {
        try Self.entry(from: row, target: target.name, historyTable: historyTable)
    }

    /// A history row read with `columns`, in its order.
    static func entry(from row: ArraySlice<String?>, target: String, historyTable: String) throws(BackendError)
        -> HistoryEntry
    {
        try entry(from: Array(row), target: target, historyTable: historyTable)
    }

    static func entry(from row: MySQLRow, target: String, historyTable: String) throws(BackendError) -> HistoryEntry {
        func text(_ index: Int) -> String? { index < row.count ? row[index] : nil }
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
        var entry = HistoryEntry(
            id: id, version: version, description: description, kind: kind, script: script, checksum: checksum,
            runID: runID,
            appliedBy: appliedBy, startedAt: startedAt, finishedAt: text(9).flatMap(Self.date),
            executionMS: executionMS,
            // NULL success: a batched step in progress (version 2).
            success: text(11) == "1", transactional: transactional == "1", error: text(13),
            attempt: text(14).flatMap { Int($0) } ?? 1,
            batch: text(16).flatMap { Int64($0) }.map {
                BatchCheckpoint(lastKey: text(15).flatMap { Int64($0) }, rows: $0)
            }
        )
        entry.statementsDone = text(17).flatMap { Int($0) }
        return entry
    }

    // MARK: - Helpers

    func open() throws(BackendError) -> MySQLHandle {
        guard let connection else { throw .closed(target: target.name) }
        return connection
    }

    func openWritable(_ operation: String) throws(BackendError) -> MySQLHandle {
        let handle = try open()
        guard access == .readWrite else { throw .readOnly(target: target.name, operation: operation) }
        return handle
    }

    private static func exists(_ database: String, on handle: MySQLHandle) throws(MySQLFailure) -> Bool {
        try !handle.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = \(MySQLSQL.literal(database))")
            .isEmpty
    }

    /// The session's settings: UTC (history times), the lock waits bounded by `lock_timeout`
    /// (metadata locks wait a year by default), and on MariaDB `max_statement_time`; MySQL has
    /// no bound for a statement other than SELECT, so `statement_timeout` is not applied there.
    private func sessionSettings() -> String {
        let lockSeconds = max(1, (timeouts.lockTimeout.milliseconds + 999) / 1000)
        var settings = [
            "time_zone = '+00:00'", "lock_wait_timeout = \(lockSeconds)", "innodb_lock_wait_timeout = \(lockSeconds)",
        ]
        if server.flavour == .mariadb {
            settings.append("max_statement_time = \(Double(max(0, timeouts.statementTimeout.milliseconds)) / 1000)")
        }
        return "SET SESSION " + settings.joined(separator: ", ")
    }

    func failure(_ what: String, _ error: MySQLFailure) -> BackendError {
        .queryFailed(target: target.name, message: redact("\(what): \(error.fullMessage)"), sqlState: error.sqlState)
    }

    /// `V3__add_email.sql:4: Table 'x' doesn't exist (MySQL error 1146)`.
    private func describe(_ error: MySQLFailure, in step: StepRequest, line: Int) -> String {
        let prefix = step.scriptPath.isEmpty ? "script line \(line)" : "\(step.scriptPath):\(line)"
        return redact("\(prefix): \(error.fullMessage)")
    }

    private func historyError(_ message: String, _ error: MySQLFailure) -> String {
        error.sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message
    }

    func redact(_ text: String) -> String {
        Self.redact(text, password: redactedPassword)
    }

    static func redact(_ text: String, password: String?) -> String {
        var text = Redaction.redactConnectionString(text)
        if let password, !password.isEmpty { text = text.replacingOccurrences(of: password, with: "***") }
        return text
    }

    /// Failures worth another try before a step starts: the server is not there yet or went away.
    static func isTransient(_ error: MySQLFailure) -> Bool {
        [2002, 2003, 2005, 2006, 2013, 1040, 1203].contains(error.code)
    }

    static func date(_ epoch: String) -> Date? {
        Double(epoch).map { Date(timeIntervalSince1970: $0) }
    }

}

extension MySQLURL {
    /// The target's `mysql://` or `mariadb://` URL, parsed; a clear error naming the target when
    /// it is not one or does not parse.
    init(of target: Target) throws(BackendError) {
        guard case .mysql(let text) = target.location else {
            throw .unsupported(
                target: target.name,
                message: "\(target.redactedLocation) is not a MySQL connection; use a mysql:// or mariadb:// URL.")
        }
        do {
            self = try MySQLURL(parsing: text)
        } catch {
            throw .unsupported(
                target: target.name,
                message:
                    "url \(MySQLURLError.echo(text)) is not a valid MySQL URL: \(error.description) (see docs/mysql.md)."
            )
        }
    }
}
