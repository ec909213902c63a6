import Foundation
import Logging
import TidemarkCore

/// Scratch databases for `tidemark rehearse` on a PostgreSQL server: a temporary database per
/// rehearsal (`tidemark_rehearse_<random>`), or, when the role may not `CREATE DATABASE`, a
/// temporary schema in the URL's database. Dropped afterwards. Thread-safe value.
public struct PostgresScratchProvider: ScratchDatabaseProvider {
    /// The server to use, as a URI or conninfo string.
    public let url: String
    public let passwordEnv: String?
    private let logger: Logger

    public init(url: String, passwordEnv: String? = nil, logger: Logger) {
        self.url = url
        self.passwordEnv = passwordEnv
        self.logger = logger
    }

    public var backend: any Backend { PostgresBackend() }
    public var location: String { Redaction.redactConnectionString(url) }

    public func create() throws(BackendError) -> Target {
        let name = "tidemark_rehearse_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let admin = try connectAdmin()
        do {
            try admin.execute("CREATE DATABASE \(PostgresSQL.quoteIdentifier(name))")
            logger.debug("scratch database created", metadata: ["database": "\(name)"])
            return scratchTarget(connection: .url(Self.url(url, withDatabase: name)), schema: nil)
        } catch where error.sqlState == "42501" {
            // No CREATEDB privilege: a schema of the URL's database isolates just as well.
            do {
                try admin.execute("CREATE SCHEMA \(PostgresSQL.quoteIdentifier(name))")
            } catch {
                throw .queryFailed(target: "scratch", message: "cannot create a scratch database or schema: \(error.fullMessage)", sqlState: error.sqlState)
            }
            logger.debug("scratch schema created (no CREATEDB privilege)", metadata: ["schema": "\(name)"])
            return scratchTarget(connection: .url(url), schema: name)
        } catch {
            throw .queryFailed(target: "scratch", message: "cannot create a scratch database: \(error.fullMessage)", sqlState: error.sqlState)
        }
    }

    public func drop(_ target: Target) {
        guard let admin = try? connectAdmin() else {
            logger.warning("cannot connect to drop the scratch database; drop it by hand", metadata: ["target": "\(target.redactedLocation)"])
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
        Target(name: "scratch", environment: "rehearse", connection: connection, schema: schema, passwordEnv: passwordEnv)
    }

    private func connectAdmin() throws(BackendError) -> PGConnection {
        let target = scratchTarget(connection: .url(url), schema: nil)
        let parameters = ConnectParameters(target: target, timeouts: .standard, environment: ProcessInfo.processInfo.environment)
        do {
            return try PGConnection.connect(parameters, logger: logger)
        } catch {
            throw .connectionFailed(target: "scratch", message: parameters.redact(error.message), transient: false)
        }
    }

    /// `url` pointing at database `name`: the path of a URI replaced, or `dbname=` appended to a
    /// conninfo string (libpq keeps the last value of a repeated keyword).
    static func url(_ url: String, withDatabase name: String) -> String {
        guard let schemeEnd = url.range(of: "://") else {
            return "\(url) dbname='\(name)'"
        }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let queryStart = rest[authorityEnd...].firstIndex(of: "?") ?? rest.endIndex
        return String(url[..<authorityEnd]) + "/" + name + String(rest[queryStart...])
    }

    /// The database a URL made by `url(_:withDatabase:)` names.
    static func database(in url: String) -> String? {
        if url.range(of: "://") == nil {
            guard let range = url.range(of: "dbname='", options: .backwards) else { return nil }
            return url[range.upperBound...].split(separator: "'").first.map(String.init)
        }
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let path = rest[rest.index(after: slash)...].prefix { $0 != "?" }
        return path.isEmpty ? nil : String(path)
    }
}
