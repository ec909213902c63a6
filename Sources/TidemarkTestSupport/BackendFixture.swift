import Logging
import TidemarkCore

/// A backend under conformance test: it makes fresh targets and can look at their schema
/// through its own means, so the suite checks real effects, not just history rows.
/// Implementations are thread-safe.
package protocol BackendFixture: Sendable, CustomStringConvertible {
    var backend: any Backend { get }

    /// A fresh target with an empty schema and no history; unique per call.
    func makeTarget(name: String) throws -> Target

    /// Another target in the same database as `target` but in its own schema, or nil when the
    /// backend has no schemas (SQLite, memory).
    func makeSiblingTarget(of target: Target, name: String) throws -> Target?

    /// SQL that creates a table called `table` with one integer column `id`.
    func createTableSQL(_ table: String) -> String

    /// SQL that fails when it runs (not when parsed), e.g. selecting from a missing table.
    var failingSQL: String { get }

    /// SQL that keeps the server busy for about `seconds` seconds (for timeouts and cancel).
    func slowSQL(seconds: Int) -> String

    /// Creates `table` (text columns) in the target's schema with these rows, outside Tidemark's
    /// history, as another migration tool would have left it.
    func createForeignTable(_ table: String, columns: [String], rows: [[String?]], in target: Target) throws

    /// Whether `table` exists in the target's schema, checked outside Tidemark's history.
    func tableExists(_ table: String, in target: Target) throws -> Bool

    /// Whether DDL (`CREATE TABLE`) can be rolled back with its transaction. False on MySQL and
    /// MariaDB, where DDL commits implicitly: a step with DDL then runs statement by statement
    /// and is recorded as non-transactional, and the checks expect that honest record instead
    /// (a transactional step's rollback is checked with DML there).
    var transactionalDDL: Bool { get }
}

extension BackendFixture {
    /// PostgreSQL, SQLite and the in-memory backend roll DDL back.
    package var transactionalDDL: Bool { true }
}

/// `CREATE TABLE` and `INSERT` statements for a fixture's foreign table, in SQL both PostgreSQL
/// and SQLite read.
enum ForeignTableSQL {
    static func statements(_ table: String, columns: [String], rows: [[String?]], qualifier: String? = nil) -> String {
        let name = (qualifier.map { quote($0) + "." } ?? "") + quote(table)
        var sql = "CREATE TABLE \(name) (\(columns.map { "\(quote($0)) text" }.joined(separator: ", ")));\n"
        for row in rows {
            let values = row.map { value in
                value.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL"
            }
            sql += "INSERT INTO \(name) VALUES (\(values.joined(separator: ", ")));\n"
        }
        return sql
    }

    static func quote(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
