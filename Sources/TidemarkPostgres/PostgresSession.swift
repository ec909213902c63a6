import Foundation
import Logging
import TidemarkCore

/// A plain PostgreSQL session for Tidemark's own bookkeeping (the control database,
/// docs/many-runners.md#one-run-across-runners-a-control-database): parameterised queries and
/// transactions, nothing about migrations.
///
/// Not thread-safe and not `Sendable`: like every libpq handle it belongs to one thread at a time;
/// the type that confines it (the control store) says why it may cross threads. Blocks: call it
/// from an executor-owned thread, never from the Swift concurrency pool.
package final class PostgresSession {
    /// Who the session is about in error messages (`control database`), never the URL.
    package let name: String
    private var connection: PGConnection?
    private let parameters: ConnectParameters

    /// Connects to `target`'s database (its `url`, `service` and `password_env`, as for a
    /// migration target) within `timeouts.connectTimeout`, and sets `statement_timeout`.
    package init(
        target: Target, timeouts: Timeouts, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws(BackendError)
    {
        let parameters = ConnectParameters(target: target, timeouts: timeouts, environment: environment)
        self.name = target.name
        self.parameters = parameters
        do {
            let pg = try PGConnection.connect(parameters, logger: logger)
            try pg.execute("SET statement_timeout = \(max(0, timeouts.statementTimeout.milliseconds))")
            connection = pg
        } catch {
            let transient = ConnectionFailure.isTransient(error.message)
            var message = parameters.redact(error.message)
            if let missing = parameters.missingPasswordEnv, !transient {
                message += " (password_env \(missing) is not set)"
            }
            throw .connectionFailed(target: target.name, message: message, transient: transient)
        }
    }

    /// Runs one statement with `$1…` parameters (never spliced into the SQL); returns its rows,
    /// each column in PostgreSQL's text format, nil for NULL.
    @discardableResult
    package func query(_ sql: String, _ parameters: [String?] = []) throws(BackendError) -> [[String?]] {
        let pg = try open()
        do {
            return try pg.query(sql, parameters)
        } catch {
            throw failure(error)
        }
    }

    /// Runs a script of several statements (simple query protocol), e.g. a schema migration.
    package func execute(_ sql: String) throws(BackendError) {
        let pg = try open()
        do {
            try pg.execute(sql)
        } catch {
            throw failure(error)
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    package func transaction<T>(_ body: (PostgresSession) throws(BackendError) -> T) throws(BackendError) -> T {
        try execute("BEGIN")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Whether the server connection is gone (it cannot be used again).
    package var isBroken: Bool { connection?.isBroken ?? true }

    /// Closes the connection; later calls fail with `closed`.
    package func close() {
        connection = nil
    }

    private func open() throws(BackendError) -> PGConnection {
        guard let connection else { throw .closed(target: name) }
        return connection
    }

    private func failure(_ error: PGError) -> BackendError {
        if error.connectionLost {
            return .connectionFailed(target: name, message: parameters.redact(error.fullMessage), transient: true)
        }
        return .queryFailed(target: name, message: parameters.redact(error.fullMessage), sqlState: error.sqlState)
    }
}
