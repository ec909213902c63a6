import Foundation
import Logging
import TidemarkCore

/// The PostgreSQL backend, over libpq: URIs, conninfo strings, service files, `.pgpass`,
/// `PG*` variables and `sslmode` work because libpq does them, exactly as in psql.
///
/// Thread-safe value: it holds no state. Each connection it opens belongs to the thread that
/// opened it.
package struct PostgresBackend: Backend {
    /// Sessions shared per server when a target's `Timeouts.sessionsPerServer` is set.
    let pool = PostgresSessionPool()

    package init() {}

    package var kind: BackendKind { .postgres }

    /// Connects within `timeouts.connectTimeout` (whole seconds, at least 2, per host as libpq
    /// counts it), then sets `statement_timeout`, `lock_timeout` and, for a target with a schema,
    /// `search_path`. The password comes from the variable `target.passwordEnv` names, if set.
    /// Blocks: call it on an executor-owned thread.
    ///
    /// Read-only sessions refuse every change and create nothing (no schema, no history table).
    package func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger)
        throws(BackendError)
        -> any BackendConnection
    {
        try PostgresConnection(
            target: target, access: access, timeouts: timeouts, logger: logger,
            environment: ProcessInfo.processInfo.environment,
            pool: timeouts.sessionsPerServer == nil ? nil : pool)
    }
}

extension PostgresBackend: DiscoveryCapableBackend {
    package func databaseName(of target: Target) -> String? {
        switch target.connection {
        case .service(let name): return name.isEmpty ? nil : name
        case .url(let url):
            guard case .success(let info) = ConnInfo.parse(url) else { return nil }
            // A service names its database in pg_service.conf.
            let named = info.options.last { $0.keyword == "dbname" || $0.keyword == "service" }?.value
            return named.flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    package func schemas(matching pattern: String, on target: Target, timeouts: Timeouts, logger: Logger)
        throws(BackendError) -> [String]
    {
        let session = try Self.readOnlySession(target, timeouts: timeouts, logger: logger)
        return try session.query(
            "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname LIKE $1 ORDER BY nspname COLLATE \"C\"",
            [pattern]
        ).compactMap { $0.first ?? nil }
    }

    package func rows(of sql: String, on target: Target, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> [String]
    {
        let session = try Self.readOnlySession(target, timeouts: timeouts, logger: logger)
        // The query as a subquery, so each row arrives as one JSON object with its column names
        // (a text[] column as a JSON array): the form a command source prints.
        var body = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        while body.hasSuffix(";") { body = String(body.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
        return try session.query("SELECT row_to_json(discovered)::text FROM (\n\(body)\n) AS discovered").compactMap {
            $0.first ?? nil
        }
    }

    /// A session that cannot write, even if the query tries.
    private static func readOnlySession(_ target: Target, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> PostgresSession
    {
        let session = try PostgresSession(target: target, timeouts: timeouts, logger: logger)
        try session.execute("SET default_transaction_read_only = on")
        return session
    }
}
