import Foundation
import TidemarkCore
import TidemarkPostgres

/// PostgreSQL under the conformance suite: every target is a fresh schema in the test database
/// (`TestPostgres.url`), so tests are independent and may run in parallel. Schemas are left for
/// the throwaway cluster to take away. Thread-safe value: each call opens its own connection.
package struct PostgresFixture: BackendFixture {
    /// The test database's URL (a superuser on a throwaway cluster).
    package let url: String

    package var backend: any Backend { PostgresBackend() }
    package var description: String { "PostgreSQL" }

    /// Nil when no test server is configured (`TestPostgres.url` is nil).
    package init?() {
        guard let url = TestPostgres.url else { return nil }
        self.url = url
    }

    package func makeTarget(name: String) throws -> Target {
        Target(name: name, environment: "test", connection: .url(url), schema: try TestPostgres.createSchema(for: name))
    }

    package func makeSiblingTarget(of target: Target, name: String) throws -> Target? {
        var sibling = try makeTarget(name: name)
        sibling.connection = target.connection
        return sibling
    }

    package func createTableSQL(_ table: String) -> String {
        "CREATE TABLE \(TestPostgres.quoted(table)) (id integer)"
    }

    package var failingSQL: String { "SELECT * FROM tidemark_fixture_missing_table" }

    package func slowSQL(seconds: Int) -> String { "SELECT pg_sleep(\(seconds))" }

    package func createForeignTable(_ table: String, columns: [String], rows: [[String?]], in target: Target) throws {
        try TestPostgres.execute(
            ForeignTableSQL.statements(table, columns: columns, rows: rows, qualifier: target.schema ?? "public"))
    }

    package func tableExists(_ table: String, in target: Target) throws -> Bool {
        try TestPostgres.tableExists(table, inSchema: target.schema ?? "public")
    }
}
