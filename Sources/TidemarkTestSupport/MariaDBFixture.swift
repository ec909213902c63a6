import Foundation
import TidemarkCore
import TidemarkMySQL

/// MariaDB under the conformance suite: every target is a fresh database on the test server
/// (`TestMariaDB.url`), so tests are independent and may run in parallel. Databases are left for
/// the throwaway server to take away. Thread-safe value: each call opens its own connection.
package struct MariaDBFixture: BackendFixture {
    /// The test server's URL (root of a throwaway server).
    package let url: String

    package var backend: any Backend { MySQLBackend() }
    package var description: String { "MariaDB" }

    /// Nil when no test server is configured (`TestMariaDB.url` is nil).
    package init?() {
        guard let url = TestMariaDB.url else { return nil }
        self.url = url
    }

    package func makeTarget(name: String) throws -> Target {
        Target(
            name: name, environment: "test", connection: .url(url), schema: try TestMariaDB.createDatabase(for: name))
    }

    package func makeSiblingTarget(of target: Target, name: String) throws -> Target? {
        var sibling = try makeTarget(name: name)
        sibling.connection = target.connection
        return sibling
    }

    package func createTableSQL(_ table: String) -> String {
        "CREATE TABLE \(TestMariaDB.quoted(table)) (id integer)"
    }

    /// MariaDB and MySQL commit DDL implicitly.
    package var transactionalDDL: Bool { false }

    package var failingSQL: String { "SELECT * FROM tidemark_fixture_missing_table" }

    package func slowSQL(seconds: Int) -> String { "SELECT SLEEP(\(seconds))" }

    package func createForeignTable(_ table: String, columns: [String], rows: [[String?]], in target: Target) throws {
        let name = TestMariaDB.quoted(target.schema ?? "") + "." + TestMariaDB.quoted(table)
        var sql =
            "CREATE TABLE \(name) (\(columns.map { "\(TestMariaDB.quoted($0)) text" }.joined(separator: ", ")));\n"
        for row in rows {
            let values = row.map { value in
                value.map {
                    "'" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''")
                        + "'"
                } ?? "NULL"
            }
            sql += "INSERT INTO \(name) VALUES (\(values.joined(separator: ", ")));\n"
        }
        try TestMariaDB.execute(sql)
    }

    package func tableExists(_ table: String, in target: Target) throws -> Bool {
        try TestMariaDB.tableExists(table, inDatabase: target.schema ?? "")
    }
}
