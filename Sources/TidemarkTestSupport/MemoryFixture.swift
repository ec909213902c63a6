import Foundation
import TidemarkCore

/// The in-memory backend under conformance test, on a private `MemoryStore`. Thread-safe.
///
/// Its sibling targets are schemas of one `memory:` database, so the suite's two-schema check
/// runs here too (the store keys a database by name and schema).
public struct MemoryFixture: BackendFixture {
    public let store: MemoryStore

    public init(store: MemoryStore = MemoryStore()) {
        self.store = store
    }

    public var description: String { "memory" }

    public var backend: any Backend { MemoryBackend(store: store) }

    public func makeTarget(name: String) throws -> Target {
        Target(name: name, environment: "conformance", connection: .url("memory:\(name)-\(UUID().uuidString)"))
    }

    public func makeSiblingTarget(of target: Target, name: String) throws -> Target? {
        Target(name: name, environment: target.environment, connection: target.connection, schema: "sibling_\(name)")
    }

    public func createTableSQL(_ table: String) -> String {
        "CREATE TABLE \(table) (id INTEGER)"
    }

    public var failingSQL: String { "SELECT * FROM tidemark_missing_table" }

    /// The fake's "server" sleeps like PostgreSQL's `pg_sleep`, honouring timeout and cancel.
    public func slowSQL(seconds: Int) -> String {
        "SELECT pg_sleep(\(seconds))"
    }

    public func createForeignTable(_ table: String, columns: [String], rows: [[String?]], in target: Target) throws {
        try store.setForeignTable(table, columns: columns, rows: rows, for: target)
    }

    public func tableExists(_ table: String, in target: Target) throws -> Bool {
        store.columns(of: table, in: target) != nil
    }
}
