import Foundation
import TidemarkCore

/// The in-memory backend under conformance test, on a private `MemoryStore`. Thread-safe.
///
/// Its sibling targets are schemas of one `memory:` database, so the suite's two-schema check
/// runs here too (the store keys a database by name and schema).
package struct MemoryFixture: BackendFixture {
    package let store: MemoryStore

    package init(store: MemoryStore = MemoryStore()) {
        self.store = store
    }

    package var description: String { "memory" }

    package var backend: any Backend { MemoryBackend(store: store) }

    package func makeTarget(name: String) throws -> Target {
        Target(name: name, environment: "conformance", connection: .url("memory:\(name)-\(UUID().uuidString)"))
    }

    package func makeSiblingTarget(of target: Target, name: String) throws -> Target? {
        Target(name: name, environment: target.environment, connection: target.connection, schema: "sibling_\(name)")
    }

    package func createTableSQL(_ table: String) -> String {
        "CREATE TABLE \(table) (id INTEGER)"
    }

    package var failingSQL: String { "SELECT * FROM tidemark_missing_table" }

    /// The fake's "server" sleeps like PostgreSQL's `pg_sleep`, honouring timeout and cancel.
    package func slowSQL(seconds: Int) -> String {
        "SELECT pg_sleep(\(seconds))"
    }

    package func createForeignTable(_ table: String, columns: [String], rows: [[String?]], in target: Target) throws {
        try store.setForeignTable(table, columns: columns, rows: rows, for: target)
    }

    package func tableExists(_ table: String, in target: Target) throws -> Bool {
        store.columns(of: table, in: target) != nil
    }
}
