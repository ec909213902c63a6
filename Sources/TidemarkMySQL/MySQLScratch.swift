import Foundation
import Logging
import TidemarkCore

/// Scratch databases for `tidemark rehearse --url mysql://…`: a database per rehearsal
/// (`tidemark_rehearse_<random>`) on the URL's server, dropped afterwards. Thread-safe value.
package struct MySQLScratchProvider: ScratchDatabaseProvider {
    /// The server to use (`mysql://` or `mariadb://`); its database part is ignored.
    package let url: String
    package let passwordEnv: String?
    private let logger: Logger

    package init(url: String, passwordEnv: String? = nil, logger: Logger) {
        self.url = url
        self.passwordEnv = passwordEnv
        self.logger = logger
    }

    package var backend: any Backend { MySQLBackend() }
    package var location: String { Redaction.redactConnectionString(url) }

    package func create() throws(BackendError) -> Target {
        let name = "tidemark_rehearse_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let admin = try connectAdmin()
        do {
            try admin.query("CREATE DATABASE \(MySQLSQL.quoteIdentifier(name)) CHARACTER SET utf8mb4")
        } catch {
            throw .queryFailed(
                target: "scratch", message: "cannot create a scratch database: \(error.fullMessage)",
                sqlState: error.sqlState)
        }
        logger.debug("scratch database created", metadata: ["database": "\(name)"])
        return Target(
            name: "scratch", environment: "rehearse", connection: .url(url), schema: name, passwordEnv: passwordEnv)
    }

    package func drop(_ target: Target) {
        guard let name = target.schema, name.hasPrefix("tidemark_rehearse_") else { return }
        do {
            try connectAdmin().query("DROP DATABASE IF EXISTS \(MySQLSQL.quoteIdentifier(name))")
        } catch {
            logger.warning("cannot drop the scratch database \(name); drop it by hand: \(error)")
        }
    }

    private func connectAdmin() throws(BackendError) -> MySQLHandle {
        let parsed: MySQLURL
        do {
            parsed = try MySQLURL(parsing: url)
        } catch {
            throw .unsupported(
                target: "scratch",
                message:
                    "--url \(MySQLURLError.echo(url)) is not a valid MySQL URL: \(error.description) (see docs/mysql.md)."
            )
        }
        let password = passwordEnv.flatMap { ProcessInfo.processInfo.environment[$0] } ?? parsed.password
        do {
            return try MySQLHandle.connect(
                MySQLConnectOptions(
                    url: parsed, password: password, optionFile: nil, optionGroup: nil, connectTimeoutSeconds: 10))
        } catch {
            throw .connectionFailed(
                target: "scratch", message: MySQLConnection.redact(error.fullMessage, password: password),
                transient: MySQLConnection.isTransient(error))
        }
    }
}
