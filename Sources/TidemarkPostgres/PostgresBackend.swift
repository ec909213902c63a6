import Foundation
import Logging
import TidemarkCore

/// The PostgreSQL backend, over libpq: URIs, conninfo strings, service files, `.pgpass`,
/// `PG*` variables and `sslmode` work because libpq does them, exactly as in psql.
///
/// Thread-safe value: it holds no state. Each connection it opens belongs to the thread that
/// opened it.
public struct PostgresBackend: Backend {
    public init() {}

    public var kind: BackendKind { .postgres }

    /// Connects within `timeouts.connectTimeout` (whole seconds, at least 2, per host as libpq
    /// counts it), then sets `statement_timeout`, `lock_timeout` and, for a target with a schema,
    /// `search_path`. The password comes from the variable `target.passwordEnv` names, if set.
    /// Blocks: call it on an executor-owned thread.
    ///
    /// Read-only sessions refuse every change and create nothing (no schema, no history table).
    public func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> any BackendConnection
    {
        try PostgresConnection(
            target: target, access: access, timeouts: timeouts, logger: logger, environment: ProcessInfo.processInfo.environment)
    }
}
