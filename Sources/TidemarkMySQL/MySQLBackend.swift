import Foundation
import Logging
import TidemarkCore

/// The MySQL and MariaDB backend, over MariaDB Connector/C: MySQL 5.7/8.x and MariaDB
/// 10.x/11.x servers, `mysql://` and `mariadb://` URLs (`MySQLURL`), the client's option files.
///
/// Thread-safe value: it holds no state. Each connection it opens belongs to the thread that
/// opened it.
package struct MySQLBackend: Backend {
    /// Sessions shared per server when a target's `Timeouts.sessionsPerServer` is set.
    let pool = MySQLSessionPool()

    package init() {}

    package var kind: BackendKind { .mysql }

    /// Connects within `timeouts.connectTimeout` (whole seconds), then sets the session's lock
    /// waits, statement bound (MariaDB) and time zone. The database is the target's `schema`,
    /// else the URL's. The password comes from the variable `target.passwordEnv` names, if set,
    /// else the URL, else the option files. Blocks: call it on an executor-owned thread.
    package func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger)
        throws(BackendError)
        -> any BackendConnection
    {
        try MySQLConnection(
            target: target, access: access, timeouts: timeouts, logger: logger,
            environment: ProcessInfo.processInfo.environment,
            pool: timeouts.sessionsPerServer == nil ? nil : pool)
    }
}
