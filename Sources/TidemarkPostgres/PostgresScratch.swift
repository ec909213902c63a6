import Foundation
import Logging
import TidemarkCore

/// Scratch databases for `tidemark rehearse` on a PostgreSQL server: a temporary database per
/// rehearsal (`tidemark_rehearse_<random>`), or, when the role may not `CREATE DATABASE`, a
/// temporary schema in the URL's database. Dropped afterwards. Thread-safe value.
package struct PostgresScratchProvider: ScratchDatabaseProvider {
    /// The server to use, as a URI or conninfo string.
    package let url: String
    package let passwordEnv: String?
    private let logger: Logger

    package init(url: String, passwordEnv: String? = nil, logger: Logger) {
        self.url = url
        self.passwordEnv = passwordEnv
        self.logger = logger
    }

    package var backend: any Backend { PostgresBackend() }
    package var location: String { Redaction.redactConnectionString(url) }

    package func create() throws(BackendError) -> Target {
        let name = "tidemark_rehearse_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let admin = try connectAdmin()
        do {
            try admin.execute("CREATE DATABASE \(PostgresSQL.quoteIdentifier(name))")
            logger.debug("scratch database created", metadata: ["database": "\(name)"])
            return scratchTarget(connection: .url(Self.url(url, withDatabase: name)), schema: nil)
        } catch  where error.sqlState == "42501" {
            // No CREATEDB privilege: a schema of the URL's database isolates just as well.
            do {
                try admin.execute("CREATE SCHEMA \(PostgresSQL.quoteIdentifier(name))")
            } catch {
                throw .queryFailed(
                    target: "scratch", message: "cannot create a scratch database or schema: \(error.fullMessage)",
                    sqlState: error.sqlState)
            }
            logger.debug("scratch schema created (no CREATEDB privilege)", metadata: ["schema": "\(name)"])
            return scratchTarget(connection: .url(url), schema: name)
        } catch {
            throw .queryFailed(
                target: "scratch", message: "cannot create a scratch database: \(error.fullMessage)",
                sqlState: error.sqlState)
        }
    }

    package func drop(_ target: Target) {
        guard let admin = try? connectAdmin() else {
            logger.warning(
                "cannot connect to drop the scratch database; drop it by hand",
                metadata: ["target": "\(target.redactedLocation)"])
            return
        }
        do {
            if let schema = target.schema {
                try admin.execute("DROP SCHEMA IF EXISTS \(PostgresSQL.quoteIdentifier(schema)) CASCADE")
            } else if case .url(let scratchURL) = target.connection, let name = Self.database(in: scratchURL) {
                // WITH (FORCE): a session left over from a failed step must not keep it alive.
                try admin.execute("DROP DATABASE IF EXISTS \(PostgresSQL.quoteIdentifier(name)) WITH (FORCE)")
            }
        } catch {
            logger.warning("cannot drop the scratch database: \(error.fullMessage)")
        }
    }

    private func scratchTarget(connection: Connection, schema: String?) -> Target {
        Target(
            name: "scratch", environment: "rehearse", connection: connection, schema: schema, passwordEnv: passwordEnv)
    }

    private func connectAdmin() throws(BackendError) -> PGConnection {
        let target = scratchTarget(connection: .url(url), schema: nil)
        let parameters = ConnectParameters(
            target: target, timeouts: .standard, environment: ProcessInfo.processInfo.environment)
        do {
            return try PGConnection.connect(parameters, logger: logger)
        } catch {
            throw .connectionFailed(target: "scratch", message: parameters.redact(error.message), transient: false)
        }
    }

    /// `url` pointing at database `name`: the keywords libpq's parser reads from it, as a
    /// conninfo string, with `dbname` replaced (editing the URL's text would cut a password
    /// holding `/` or `?` in two). An unparsable URL is returned as it is: connecting to it
    /// fails with the parse problem.
    static func url(_ url: String, withDatabase name: String) -> String {
        guard case .success(let info) = ConnInfo.parse(url) else { return url }
        let pairs =
            info.options.filter { $0.keyword != "dbname" } + [ConnectParameters.Pair(keyword: "dbname", value: name)]
        return ConnInfo.conninfoString(pairs, excluding: [])
    }

    /// The database a URL made by `url(_:withDatabase:)` names.
    static func database(in url: String) -> String? {
        guard case .success(let info) = ConnInfo.parse(url) else { return nil }
        return info.options.last { $0.keyword == "dbname" }?.value
    }
}
