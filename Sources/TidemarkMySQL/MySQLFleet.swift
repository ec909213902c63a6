import Foundation
import Logging
import TidemarkCore

/// Discovery sources on MySQL and MariaDB (docs/tenants.md#on-mysql-and-mariadb): databases
/// matching a pattern, and catalog queries whose rows become JSON objects by column name.
extension MySQLBackend: DiscoveryCapableBackend {
    package func databaseName(of target: Target) -> String? {
        guard case .mysql(let text) = target.location, let url = try? MySQLURL(parsing: text) else { return nil }
        return target.schema ?? url.database.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A MySQL schema is a database: `databases:` reads them (the inventory says so at its line).
    package func schemas(matching pattern: String, on target: Target, timeouts: Timeouts, logger: Logger)
        throws(BackendError) -> [String]
    {
        throw .unsupported(
            target: target.name,
            message: "on a MySQL or MariaDB server a tenant is a database: write databases: instead of schemas:")
    }

    package func databases(matching pattern: String, on target: Target, timeouts: Timeouts, logger: Logger)
        throws(BackendError) -> [String]
    {
        try readOnly(target, timeouts: timeouts, what: "list the databases") { handle throws(MySQLFailure) in
            // BINARY: name order by bytes, as PostgreSQL's COLLATE "C", whatever the collation.
            try handle.query(
                """
                SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE \(MySQLSQL.literal(pattern))
                ORDER BY BINARY SCHEMA_NAME
                """
            ).compactMap { $0.first ?? nil }
        }
    }

    package func rows(of sql: String, on target: Target, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> [String]
    {
        var body = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        while body.hasSuffix(";") { body = String(body.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
        let result = try readOnly(target, timeouts: timeouts, what: "run the query") {
            handle throws(MySQLFailure) in
            try handle.queryWithColumns(body)
        }
        // Each row as one JSON object of its columns, the form a command source prints; MySQL
        // has no arrays, so tags come as text (`a,b`) or a JSON array's text (JSON_ARRAY).
        return result.rows.map { row in
            var object: [String: Any] = [:]
            for (index, column) in result.columns.enumerated() where index < row.count {
                object[column] = row[index].map { $0 as Any } ?? NSNull()
            }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// Runs `body` on a session of its own (not a shared one: a source is read before any
    /// target), in a read-only transaction, with the environment's statement bound on MariaDB.
    private func readOnly<T>(
        _ target: Target, timeouts: Timeouts, what: String, _ body: (MySQLHandle) throws(MySQLFailure) -> T
    ) throws(BackendError) -> T {
        let (options, missing) = try MySQLConnection.connectOptions(
            for: target, timeouts: timeouts, environment: ProcessInfo.processInfo.environment)
        let handle: MySQLHandle
        do {
            handle = try MySQLHandle.connect(options)
        } catch {
            var message = MySQLConnection.redact(error.fullMessage, password: options.password)
            if let missing, error.code == 1045 { message += " (password_env \(missing) is not set)" }
            throw .connectionFailed(
                target: target.name, message: message, transient: MySQLConnection.isTransient(error))
        }
        do throws(MySQLFailure) {
            let server = MySQLServer(versionText: handle.serverVersion)
            if server.flavour == .mariadb {
                try handle.query(
                    "SET SESSION max_statement_time = \(Double(max(0, timeouts.statementTimeout.milliseconds)) / 1000)")
            }
            if let database = options.url.database, !database.isEmpty {
                try handle.query("USE \(MySQLSQL.quoteIdentifier(database))")
            }
            try handle.query("START TRANSACTION READ ONLY")
            let result = try body(handle)
            try handle.query("ROLLBACK")
            return result
        } catch {
            throw .queryFailed(
                target: target.name,
                message: MySQLConnection.redact("cannot \(what): \(error.fullMessage)", password: options.password),
                sqlState: error.sqlState)
        }
    }
}

/// Reading many databases' history on one shared session (docs/tenants.md#on-mysql-and-mariadb).
extension MySQLBackend: BatchHistoryReading {
    /// Targets with the same connection settings (everything but the database) read together.
    package func historyGroup(of target: Target, timeouts: Timeouts) -> String? {
        guard target.backendKind == .mysql,
            let (options, missing) = try? MySQLConnection.connectOptions(
                for: target, timeouts: timeouts, environment: ProcessInfo.processInfo.environment),
            missing == nil
        else { return nil }
        let (session, _) = MySQLSessionPool.keys(of: options)
        return
            "mysql\u{0}\(session.url)\u{0}\(session.password ?? "")\u{0}\(session.optionFile ?? "")\u{0}\(session.optionGroup ?? "")"
    }

    /// Reads the history of every target in `targets` (one group) on one session, shared when
    /// `per_server` is set: two round trips per `historyChunk` databases.
    package func readHistories(of targets: [Target], timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> [String: Result<[HistoryEntry], BackendError>]
    {
        try readHistoriesAndServer(of: targets, timeouts: timeouts, logger: logger).histories
    }

    /// The histories and the server they were read from (flavour and version, for `status`).
    package func readHistoriesAndServer(of targets: [Target], timeouts: Timeouts, logger: Logger)
        throws(BackendError) -> (histories: [String: Result<[HistoryEntry], BackendError>], server: DatabaseServer?)
    {
        guard let first = targets.first else { return ([:], nil) }
        let (options, _) = try MySQLConnection.connectOptions(
            for: first, timeouts: timeouts, environment: ProcessInfo.processInfo.environment)
        let handle: MySQLHandle
        do {
            if let limit = timeouts.sessionsPerServer {
                handle = try pool.take(options, limit: limit)
            } else {
                handle = try MySQLHandle.connect(options)
            }
        } catch {
            throw .connectionFailed(
                target: first.name, message: MySQLConnection.redact(error.fullMessage, password: options.password),
                transient: MySQLConnection.isTransient(error))
        }
        defer { if timeouts.sessionsPerServer != nil { pool.giveBack(handle, options: options) } }
        var results: [String: Result<[HistoryEntry], BackendError>] = [:]
        do throws(MySQLFailure) {
            // History times are read as epoch seconds of UTC DATETIMEs.
            try handle.query("SET SESSION time_zone = '+00:00'")
            for start in stride(from: 0, to: targets.count, by: Self.historyChunk) {
                let chunk = Array(targets[start..<min(start + Self.historyChunk, targets.count)])
                let read = try readChunk(chunk, url: options.url, on: handle)
                results.merge(read) { first, _ in first }
            }
        } catch {
            throw .queryFailed(
                target: first.name,
                message: MySQLConnection.redact(
                    "cannot read the history of \(targets.count) databases: \(error.fullMessage)",
                    password: options.password), sqlState: error.sqlState)
        }
        return (results, MySQLServer(versionText: handle.serverVersion).identity)
    }

    /// Databases per `UNION ALL`.
    static let historyChunk = 250

    private func readChunk(_ chunk: [Target], url: MySQLURL, on handle: MySQLHandle) throws(MySQLFailure)
        -> [String: Result<[HistoryEntry], BackendError>]
    {
        var results: [String: Result<[HistoryEntry], BackendError>] = [:]
        var nameOf: [String: [String]] = [:]
        for target in chunk {
            guard let database = target.schema ?? url.database, !database.isEmpty else { continue }
            nameOf[database, default: []].append(target.name)
            results[target.name] = .success([])
        }
        guard !nameOf.isEmpty else { return results }
        let list = nameOf.keys.sorted().map(MySQLSQL.literal).joined(separator: ", ")
        let present = try handle.query(
            """
            SELECT TABLE_SCHEMA FROM information_schema.TABLES
            WHERE TABLE_NAME = 'tidemark_history' AND TABLE_SCHEMA IN (\(list))
            """
        ).compactMap { $0.first ?? nil }.filter { nameOf[$0] != nil }.sorted()
        guard !present.isEmpty else { return results }
        let selects = present.enumerated().map { position, database in
            "SELECT \(position) AS tm_database, \(MySQLConnection.columns) FROM \(MySQLSQL.quoteIdentifier(database)).tidemark_history"
        }
        let rows = try handle.query(selects.joined(separator: "\nUNION ALL ") + "\nORDER BY 1, 2")
        var entries: [String: [HistoryEntry]] = [:]
        var broken: [String: BackendError] = [:]
        for row in rows {
            guard let position = row.first.flatMap({ $0 }).flatMap({ Int($0) }), position < present.count else {
                continue
            }
            let database = present[position]
            guard broken[database] == nil else { continue }
            do {
                let entry = try MySQLConnection.entry(
                    from: row.dropFirst(), target: nameOf[database]?.first ?? database,
                    historyTable: MySQLSQL.quoteIdentifier(database) + ".tidemark_history")
                entries[database, default: []].append(entry)
            } catch {
                broken[database] = error
            }
        }
        for (database, names) in nameOf {
            for name in names {
                if let error = broken[database] {
                    results[name] = .failure(error)
                } else if let list = entries[database] {
                    results[name] = .success(list)
                }
            }
        }
        return results
    }
}
