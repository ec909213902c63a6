import Foundation
import Logging
import TidemarkCore
import TidemarkMySQL

/// The MariaDB server tests may use, named by `TIDEMARK_TEST_MARIADB_URL` (`scripts/test` and
/// `scripts/with-mariadb` start a throwaway server and set it). The variables are read here and
/// nowhere else. Thread-safe: immutable state.
///
/// Under `TIDEMARK_REQUIRE_MARIADB=1` (set by `scripts/test`, which starts the server) a MariaDB
/// test that finds no server fails instead of skipping: tests are enabled by `isEnabled` and then
/// `#require` the URL.
package enum TestMariaDB {
    /// The name of the variable that holds the URL.
    package static let variable = "TIDEMARK_TEST_MARIADB_URL"

    /// The name of the variable that turns a missing server into a failure.
    package static let requireVariable = "TIDEMARK_REQUIRE_MARIADB"

    /// The test server's URL (`mysql://root@127.0.0.1:PORT/`, the root of a throwaway server);
    /// nil when the variable is unset or empty.
    package static let url: String? = url(in: ProcessInfo.processInfo.environment)

    /// Whether a missing server is a failure rather than a skip.
    package static let isRequired: Bool = isRequired(in: ProcessInfo.processInfo.environment)

    /// Whether MariaDB tests can run.
    package static var isAvailable: Bool { url != nil }

    /// Whether MariaDB tests run: a server is there, or one is required (and its absence fails).
    package static var isEnabled: Bool { isAvailable || isRequired }

    /// Why MariaDB tests are skipped (or, when required, why they fail).
    package static let skipReason =
        "\(variable) not set: MariaDB tests skipped; run scripts/with-mariadb swift test (scripts/install-deps --mariadb installs the server)"

    /// The URL as `environment` sets it; nil when unset or empty.
    package static func url(in environment: [String: String]) -> String? {
        guard let url = environment[variable], !url.isEmpty else { return nil }
        return url
    }

    /// Whether `environment` requires the server.
    package static func isRequired(in environment: [String: String]) -> Bool {
        environment[requireVariable] == "1"
    }

    /// The URL, or a thrown error naming the variable and the fix (a failure under
    /// `TIDEMARK_REQUIRE_MARIADB=1`).
    package static func requireURL() throws -> String {
        guard let url else {
            throw TestMariaDBError.noServer(
                isRequired
                    ? "\(requireVariable)=1 but \(variable) is not set: a MariaDB server is required here; run the tests through scripts/test or scripts/with-mariadb"
                    : skipReason)
        }
        return url
    }

    /// A database name unique per call: `tm_<name>_<random>`, lower-case letters, digits and
    /// `_`, within MySQL's 64-character limit.
    package static func uniqueDatabaseName(for name: String) -> String {
        let cleaned = String(name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }.prefix(32))
        let random = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        return "tm_\(cleaned)_\(random)"
    }

    /// `name` as a quoted MySQL identifier.
    package static func quoted(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }

    /// Creates an empty database with a unique name (see `uniqueDatabaseName`) and returns it.
    package static func createDatabase(for name: String) throws -> String {
        let database = uniqueDatabaseName(for: name)
        try execute("CREATE DATABASE \(quoted(database)) CHARACTER SET utf8mb4")
        return database
    }

    /// Drops `database` and everything in it; a no-op when it does not exist.
    package static func dropDatabase(_ database: String) throws {
        try execute("DROP DATABASE IF EXISTS \(quoted(database))")
    }

    /// Whether `table` exists in `database`, read from `information_schema.TABLES`.
    package static func tableExists(_ table: String, inDatabase database: String) throws -> Bool {
        try !catalog(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = \(literal(database)) AND TABLE_NAME = \(literal(table))"
        ).isEmpty
    }

    /// The databases on the server whose names start with `prefix`, read from
    /// `information_schema.SCHEMATA`.
    package static func databases(prefixed prefix: String) throws -> [String] {
        try catalog("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
            .compactMap { $0.first ?? nil }.filter { $0.hasPrefix(prefix) }
    }

    /// Whether `database`.`table` has a column `column`, read from `information_schema.COLUMNS`.
    package static func columnExists(_ column: String, table: String, inDatabase database: String) throws -> Bool {
        try !catalog(
            """
            SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = \(literal(database))
            AND TABLE_NAME = \(literal(table)) AND COLUMN_NAME = \(literal(column))
            """
        ).isEmpty
    }

    /// The rows of one catalog query, run on a fresh connection to the server.
    package static func catalog(_ sql: String) throws -> [[String?]] {
        let opened = try MySQLBackend().connect(to: adminTarget(), timeouts: .standard, logger: .silent)
        defer { opened.close() }
        guard let connection = opened as? MySQLConnection else {
            throw TestMariaDBError.noServer("the MySQL backend returned a \(type(of: opened)), not a MySQLConnection")
        }
        return try connection.catalogRows(sql)
    }

    /// `text` as a MySQL string literal (backslashes and quotes escaped).
    package static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// Runs `sql` (statements split as the backend splits them) as the URL's user, outside every
    /// test target: as a step on an administration database, `tidemark_test_admin`, whose history
    /// collects these rows and is never a test's target. Errors are the backend's `BackendError`.
    package static func execute(_ sql: String) throws {
        let connection = try MySQLBackend().connect(to: adminTarget(), timeouts: .standard, logger: .silent)
        defer { connection.close() }
        try connection.ensureHistoryTable()
        try connection.run(
            StepRequest(
                version: UUID().uuidString, description: "test administration", kind: .forward, scriptPath: "",
                sql: sql, checksum: "", transactional: false, runID: "test-admin", appliedBy: "tests"))
    }

    private static func adminTarget() throws -> Target {
        Target(
            name: "test-admin", environment: "test", connection: .url(try requireURL()), schema: "tidemark_test_admin")
    }
}

/// Why a MariaDB test could not reach its server.
package enum TestMariaDBError: Error, CustomStringConvertible {
    case noServer(String)

    package var description: String {
        switch self {
        case .noServer(let reason): reason
        }
    }
}
