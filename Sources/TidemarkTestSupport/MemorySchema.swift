/// The schema of one in-memory database: its tables and indexes. Thread-safe value.
///
/// Names are stored as PostgreSQL folds them: unquoted identifiers lower-cased, quoted ones as
/// written, schema qualifiers dropped.
package struct MemorySchema: Sendable, Hashable {
    /// Tables by name.
    package var tables: [String: MemoryTable]
    /// Indexes by name.
    package var indexes: [String: MemoryIndex]

    package init(tables: [String: MemoryTable] = [:], indexes: [String: MemoryIndex] = [:]) {
        self.tables = tables
        self.indexes = indexes
    }

    /// Table names, sorted.
    package var tableNames: [String] { tables.keys.sorted() }
}

/// One table: its columns in the order they were added. Thread-safe value.
package struct MemoryTable: Sendable, Hashable {
    package var name: String
    /// Column names in physical order (a re-added column goes last, as in a real database).
    package var columns: [String]

    package init(name: String, columns: [String]) {
        self.name = name
        self.columns = columns
    }
}

/// One index and the table it belongs to. Thread-safe value.
package struct MemoryIndex: Sendable, Hashable {
    package var name: String
    package var table: String
    package var isUnique: Bool

    package init(name: String, table: String, isUnique: Bool) {
        self.name = name
        self.table = table
        self.isUnique = isUnique
    }
}
