import Foundation
import Logging
import TidemarkCore
@testable import TidemarkPostgres
import TidemarkTestSupport

/// PostgreSQL under the conformance suite: every target is a fresh schema in the test database
/// that `TIDEMARK_TEST_POSTGRES_URL` names (`scripts/with-postgres` starts one), so tests are
/// independent and may run in parallel. Thread-safe value: each call opens its own connection.
struct PostgresFixture: BackendFixture {
    /// The test database's URL (a superuser on a throwaway cluster).
    let url: String

    var backend: any Backend { PostgresBackend() }
    var description: String { "PostgreSQL" }

    init(url: String) {
        self.url = url
    }

    /// Nil when no test server is configured.
    init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let url = environment["TIDEMARK_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        self.init(url: url)
    }

    /// Whether the PostgreSQL tests can run (`scripts/with-postgres` sets the variable).
    static var isAvailable: Bool { PostgresFixture() != nil }

    func makeTarget(name: String) throws -> Target {
        let schema = Self.uniqueSchemaName(for: name)
        try admin { try $0.execute("CREATE SCHEMA \(PostgresSQL.quoteIdentifier(schema))") }
        return Target(name: name, environment: "test", connection: .url(url), schema: schema)
    }

    func makeSiblingTarget(of target: Target, name: String) throws -> Target? {
        var sibling = try makeTarget(name: name)
        sibling.connection = target.connection
        return sibling
    }

    func createTableSQL(_ table: String) -> String {
        "CREATE TABLE \(PostgresSQL.quoteIdentifier(table)) (id integer)"
    }

    var failingSQL: String { "SELECT * FROM tidemark_fixture_missing_table" }

    func slowSQL(seconds: Int) -> String { "SELECT pg_sleep(\(seconds))" }

    func tableExists(_ table: String, in target: Target) throws -> Bool {
        let name = PostgresSQL.quoteIdentifier(target.schema ?? "public") + "." + PostgresSQL.quoteIdentifier(table)
        return try admin { try $0.query("SELECT to_regclass($1) IS NOT NULL", [name]).first?.first == "t" }
    }

    /// Runs `body` on a fresh connection to the test database, outside any target.
    @discardableResult
    func admin<T>(_ body: (PGConnection) throws -> T) throws -> T {
        let target = Target(name: "fixture", environment: "test", connection: .url(url))
        let parameters = ConnectParameters(target: target, timeouts: .standard, environment: [:])
        let connection = try PGConnection.connect(parameters, logger: Logger(label: "tidemark.test.fixture"))
        return try body(connection)
    }

    /// `tm_<name>_<random>`: lower-case, unique per call, within PostgreSQL's 63-byte limit.
    static func uniqueSchemaName(for name: String) -> String {
        let cleaned = String(
            name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }.prefix(32))
        let random = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        return "tm_\(cleaned)_\(random)"
    }
}
