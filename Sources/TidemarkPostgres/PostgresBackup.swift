import Foundation
import Logging
import TidemarkCore
import TidemarkFiles

extension PostgresBackend: BackupCapableBackend {
    package func backupWait(timeouts: Timeouts) -> String {
        let milliseconds = timeouts.lockTimeout.milliseconds
        guard milliseconds > 0 else {
            return "pg_dump waits as long as it takes for a lock on each table (lock_timeout is 0)"
        }
        return "pg_dump waits at most \(DurationText.text(timeouts.lockTimeout)) for a lock on each table"
    }

    /// `pg_dump -Fc` of the target's schema (or, without `schema:`, its whole database), checked
    /// before it counts: written to `PATH.partial`, listed with `pg_restore -l`, and renamed to
    /// `path` (mode 0600) only when the list holds the table and its data for every table the
    /// catalog showed before the dump. Otherwise the partial file is removed and the backup
    /// fails, so the data-losing step that needed it does not run; an existing file at `path`
    /// is left as it was.
    ///
    /// The schema goes to pg_dump as an exact name (`--schema="Billing"`: unquoted, pg_dump reads
    /// a pattern, so `billing`, `t?` or `a.b` would pick other schemas or none). The password
    /// reaches the tools only through their environment (see `PostgresTool`).
    package func backup(_ target: Target, to path: String, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> BackupRecord
    {
        let invocation = try PostgresTool.invocation(for: target, timeouts: timeouts)
        let expected = try PostgresTool.tables(of: target, invocation: invocation, timeouts: timeouts, logger: logger)
        let partial = try BackupFile.prepare(path, target: target.name)
        do throws(BackendError) {
            var arguments = ["--format=custom", "--file=\(partial)", "--dbname=\(invocation.connection)"]
            if timeouts.lockTimeout.milliseconds > 0 {
                arguments.append("--lock-wait-timeout=\(timeouts.lockTimeout.milliseconds)")
            }
            if let schema = target.schema { arguments.append("--schema=\(PostgresTool.exactPattern(schema))") }
            try PostgresTool.run(
                "pg_dump", arguments, invocation: invocation, target: target, what: "back up to \(path)",
                timeouts: timeouts)
            let listing = try PostgresTool.list(
                partial, schema: target.schema, invocation: invocation, target: target, timeouts: timeouts)
            let missing = expected.missing(from: listing)
            guard missing.isEmpty else {
                throw .backupFailed(
                    target: target.name,
                    message:
                        "the dump \(target.schema.map { "of schema \(PostgresSQL.quoteIdentifier($0)) " } ?? "")lacks "
                        + "\(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? " and \(missing.count - 5) more" : ""), "
                        + "so it is not kept as a backup (pg_restore -l checked it against the catalog)")
            }
            try BackupFile.commit(partial, to: path, target: target.name)
        } catch {
            BackupFile.discard(partial)
            throw error
        }
        logger.info(
            "backup written and checked",
            metadata: ["target": "\(target.name)", "path": "\(path)", "tables": "\(expected.tables.count)"])
        let method = target.schema.map { "pg_dump -Fc --schema=\(PostgresTool.exactPattern($0))" } ?? "pg_dump -Fc"
        return BackupRecord(
            target: target.name, path: path,
            method: "\(method), \(expected.tables.count) table\(expected.tables.count == 1 ? "" : "s") checked",
            bytes: BackupFile.size(of: path))
    }

    /// `pg_restore --clean --if-exists --single-transaction` of a backup made by `backup`: every
    /// object of the target's schema in the file is dropped and recreated with its rows (the
    /// history table included, so the target's version is the backup's again), all or nothing.
    /// Objects created after the backup and absent from it are left alone. A file that holds no
    /// table of the target's schema (`pg_restore -l --schema`) is refused: restoring it would
    /// restore nothing and say it succeeded.
    package func restore(_ target: Target, from path: String, timeouts: Timeouts, logger: Logger) throws(BackendError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .backupFailed(target: target.name, message: "cannot restore from \(path): the file does not exist.")
        }
        var invocation = try PostgresTool.invocation(for: target, timeouts: timeouts)
        let listing = try PostgresTool.list(
            path, schema: target.schema, invocation: invocation, target: target, timeouts: timeouts)
        guard listing.contains(where: { $0.isTable }) else {
            let whose = target.schema.map { "of schema \(PostgresSQL.quoteIdentifier($0))" } ?? "at all"
            throw .backupFailed(
                target: target.name,
                message:
                    "refusing to restore from \(path): pg_restore -l lists no table \(whose) in it; it is a backup of another schema or database."
            )
        }
        // pg_restore has no --lock-wait-timeout; its DROPs wait for locks within lock_timeout
        // instead of forever (the session setting, through libpq's PGOPTIONS).
        if timeouts.lockTimeout.milliseconds > 0 {
            let options = invocation.environment["PGOPTIONS"].map { $0 + " " } ?? ""
            invocation.environment["PGOPTIONS"] = options + "-c lock_timeout=\(timeouts.lockTimeout.milliseconds)"
        }
        var arguments = [
            "--clean", "--if-exists", "--single-transaction", "--no-owner", "--dbname=\(invocation.connection)",
        ]
        // pg_restore takes exact schema names (no pattern), so no quoting.
        if let schema = target.schema { arguments.append("--schema=\(schema)") }
        arguments.append(path)
        try PostgresTool.run(
            "pg_restore", arguments, invocation: invocation, target: target, what: "restore from \(path)",
            timeouts: timeouts)
        logger.info("restored", metadata: ["target": "\(target.name)", "path": "\(path)"])
    }
}

/// Spawning `pg_dump` and `pg_restore`: found on PATH or in Debian's versioned folders, run with
/// an argument array (no shell), the password in the child's environment only. Thread-safe
/// (stateless).
enum PostgresTool {
    struct Invocation {
        /// What goes after `--dbname=`: a conninfo string of the keywords libpq's parser read
        /// from the target's connection string, without `password`.
        var connection: String
        /// The child's environment: ours, with `PGPASSWORD` when there is a password.
        var environment: [String: String]
        var secrets: [String]
        /// The target's connection keywords, parsed once, for Tidemark's own catalog session.
        var parameters: ConnectParameters
    }

    /// The variable that names a folder to take `pg_dump` and `pg_restore` from instead of the
    /// installed ones. For tests, which put wrapper scripts there that record how they were
    /// called (reading `/proc/<pid>/cmdline` of a short-lived process is racy).
    static let binDirectoryVariable = "TIDEMARK_PG_BIN_DIR"

    /// The password goes in `PGPASSWORD`, never an argument: on Linux a process's environment is
    /// readable only by its user and root (`/proc/<pid>/environ` is mode 0400), while its
    /// arguments are readable by every local user; unlike a password file, nothing is left on
    /// disk if Tidemark is killed.
    static func invocation(for target: Target, timeouts: Timeouts) throws(BackendError) -> Invocation {
        var environment = ProcessInfo.processInfo.environment
        let parameters = ConnectParameters(target: target, timeouts: timeouts, environment: environment)
        if let problem = parameters.problem {
            throw .connectionFailed(target: target.name, message: parameters.redact(problem), transient: false)
        }
        // client_encoding stays the tools' own choice (pg_dump sets it from the archive).
        let connection = ConnInfo.conninfoString(parameters.pairs, excluding: ["password", "client_encoding"])
        if let password = parameters.password { environment["PGPASSWORD"] = password }
        return Invocation(
            connection: connection, environment: environment, secrets: parameters.secrets, parameters: parameters)
    }

    /// `name` as a pg_dump pattern that matches exactly that name: double-quoted, inner `"`
    /// doubled, so `*`, `?`, `.` and upper case stay literal.
    static func exactPattern(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The tables a dump must hold, read from the catalog just before it is taken.
    struct ExpectedTables {
        struct Table {
            var oid: String
            var name: String
            /// A partitioned table has no rows of its own: its partitions carry TABLE DATA.
            var hasData: Bool
        }
        var tables: [Table]

        /// What the listing lacks, as `TABLE "s"."t"` / `TABLE DATA "s"."t"`.
        func missing(from listing: [ListEntry]) -> [String] {
            let tableOIDs = Set(listing.filter(\.isTable).map(\.oid))
            let dataOIDs = Set(listing.filter(\.isTableData).map(\.oid))
            var missing: [String] = []
            for table in tables {
                if !tableOIDs.contains(table.oid) { missing.append("TABLE \(table.name)") }
                if table.hasData && !dataOIDs.contains(table.oid) { missing.append("TABLE DATA \(table.name)") }
            }
            return missing
        }
    }

    /// Every table pg_dump must write for `target`: those of its schema, or, without one, of
    /// every schema but PostgreSQL's own (`pg_catalog`, `information_schema`, `pg_toast…`,
    /// `pg_temp…`), as pg_dump without `--schema` does; tables that belong to an extension are
    /// dumped as the extension, so they are left out.
    static func tables(of target: Target, invocation: Invocation, timeouts: Timeouts, logger: Logger)
        throws(BackendError) -> ExpectedTables
    {
        let parameters = invocation.parameters
        let pg: PGConnection
        do {
            pg = try PGConnection.connect(parameters, logger: logger)
        } catch {
            throw .connectionFailed(
                target: target.name, message: parameters.redact(error.message),
                transient: ConnectionFailure.isTransient(error.message))
        }
        let filter =
            target.schema == nil
            ? "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
            : "n.nspname = $1"
        let sql = """
            SELECT c.oid::text, c.relkind::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE \(filter) AND c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            ORDER BY 3
            """
        do {
            try pg.execute("SET statement_timeout = \(max(0, timeouts.statementTimeout.milliseconds))")
            if let schema = target.schema {
                guard !(try pg.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema])).isEmpty else {
                    throw BackendError.backupFailed(
                        target: target.name,
                        message:
                            "cannot back up schema \(PostgresSQL.quoteIdentifier(schema)): it does not exist in the database"
                    )
                }
            }
            let rows = try pg.query(sql, target.schema.map { [$0] } ?? [])
            return ExpectedTables(
                tables: rows.map { row in
                    ExpectedTables.Table(oid: row[0] ?? "", name: row[2] ?? "", hasData: row[1] == "r")
                })
        } catch let error as PGError {
            throw .queryFailed(
                target: target.name,
                message: parameters.redact("reading the tables to back up failed: \(error.fullMessage)"),
                sqlState: error.sqlState)
        } catch let error as BackendError {
            throw error
        } catch {
            throw .backupFailed(target: target.name, message: "\(error)")
        }
    }

    /// One line of `pg_restore -l`: `ID; TABLEOID OID DESC SCHEMA NAME OWNER`. Table entries
    /// carry pg_class's OID (1259) as their catalog, data entries 0, and both the table's OID;
    /// matching on OIDs avoids parsing names that may hold spaces.
    struct ListEntry {
        var catalog: String
        var oid: String
        var rest: Substring

        var isTable: Bool { catalog == "1259" && rest.hasPrefix("TABLE ") }
        var isTableData: Bool { catalog == "0" && rest.hasPrefix("TABLE DATA ") }

        init?(_ line: Substring) {
            guard let semicolon = line.firstIndex(of: ";"), line[..<semicolon].allSatisfy(\.isNumber),
                !line[..<semicolon].isEmpty
            else { return nil }
            let fields = line[line.index(after: semicolon)...].drop { $0 == " " }.split(
                separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { return nil }
            catalog = String(fields[0])
            oid = String(fields[1])
            rest = fields[2]
        }
    }

    /// `pg_restore -l` of `file`, limited to `schema` when given (the listing honours the same
    /// selection a restore would).
    static func list(_ file: String, schema: String?, invocation: Invocation, target: Target, timeouts: Timeouts)
        throws(BackendError) -> [ListEntry]
    {
        var arguments = ["--list"]
        if let schema { arguments.append("--schema=\(schema)") }
        arguments.append(file)
        let output = try run(
            "pg_restore", arguments, invocation: invocation, target: target, what: "list \(file)", timeouts: timeouts)
        return String(decoding: output, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap(ListEntry.init)
    }

    /// The `name` binary: from `TIDEMARK_PG_BIN_DIR` when it is set (and only there); else the
    /// newest of Debian's /usr/lib/postgresql/<major>/bin (pg_dump must be at least as new as
    /// the server), then PATH.
    static func executable(_ name: String) -> String? {
        let manager = FileManager.default
        if let folder = ProcessInfo.processInfo.environment[binDirectoryVariable], !folder.isEmpty {
            return manager.isExecutableFile(atPath: "\(folder)/\(name)") ? "\(folder)/\(name)" : nil
        }
        let root = "/usr/lib/postgresql"
        let majors = ((try? manager.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        for major in majors where manager.isExecutableFile(atPath: "\(root)/\(major)/bin/\(name)") {
            return "\(root)/\(major)/bin/\(name)"
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") where manager.isExecutableFile(atPath: "\(folder)/\(name)") {
            return "\(folder)/\(name)"
        }
        return nil
    }

    /// Runs the tool to completion and returns its standard output; a non-zero exit is an error
    /// carrying its (redacted) standard error.
    @discardableResult
    static func run(
        _ name: String, _ arguments: [String], invocation: Invocation, target: Target, what: String, timeouts: Timeouts
    ) throws(BackendError) -> Data {
        guard let executable = executable(name) else {
            let whereLooked =
                ProcessInfo.processInfo.environment[binDirectoryVariable].map { " in \(binDirectoryVariable)=\($0)" }
                ?? ""
            throw .backupFailed(
                target: target.name,
                message:
                    "cannot \(what): \(name) not found\(whereLooked); install the PostgreSQL client (apt-get install postgresql-client)."
            )
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = invocation.environment
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw .backupFailed(
                target: target.name,
                message: "cannot \(what): cannot start \(executable): \(error.localizedDescription)")
        }
        // Both pipes drain at once: a full pipe would stop the tool. The error pipe's reader is a
        // thread of its own (blocking reads never go to Dispatch's shared pools).
        let errorText = ErrorCollector()
        let reader = Thread { errorText.collect(errors.fileHandleForReading) }
        reader.start()
        let standardOutput = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let standardError = errorText.wait()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            var message = String(decoding: standardError, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            message = Redaction.redactConnectionString(message)
            for secret in invocation.secrets.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
                message = message.replacingOccurrences(of: secret, with: "***")
            }
            // One line: the tools print a line each for the error, its detail and hint.
            message = PGError.clean(message)
            if name == "pg_dump", let table = lockedTable(in: message),
                message.contains("statement timeout") || message.contains("lock timeout")
            {
                throw .backupFailed(
                    target: target.name,
                    message:
                        "cannot \(what): another session holds a lock on \(table), and pg_dump gave up after the target's "
                        + "lock_timeout (\(DurationText.text(timeouts.lockTimeout))); retry when that session has finished, or raise lock_timeout"
                )
            }
            throw .backupFailed(
                target: target.name,
                message: "cannot \(what): \(name) exited with status \(process.terminationStatus): \(message)")
        }
        return standardOutput
    }
}

extension PostgresTool {
    /// The table of `Query was: LOCK TABLE "s".t IN ACCESS SHARE MODE` in pg_dump's error.
    static func lockedTable(in message: String) -> String? {
        guard let start = message.range(of: "LOCK TABLE "),
            let end = message.range(of: " IN ACCESS SHARE MODE", range: start.upperBound..<message.endIndex)
        else { return nil }
        return String(message[start.upperBound..<end.lowerBound])
    }
}

/// Reads one pipe to its end on a thread of its own and hands the bytes over once. Thread-safe:
/// the semaphore orders the write before the read.
private final class ErrorCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    func collect(_ handle: FileHandle) {
        data = handle.readDataToEndOfFile()
        done.signal()
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
