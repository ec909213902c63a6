/// The schema of one in-memory database: its tables and indexes. Thread-safe value.
///
/// Names are stored as PostgreSQL folds them: unquoted identifiers lower-cased, quoted ones as
/// written, schema qualifiers dropped.
public struct MemorySchema: Sendable, Hashable {
    /// Tables by name.
    public var tables: [String: MemoryTable]
    /// Indexes by name.
    public var indexes: [String: MemoryIndex]

    public init(tables: [String: MemoryTable] = [:], indexes: [String: MemoryIndex] = [:]) {
        self.tables = tables
        self.indexes = indexes
    }

    /// Table names, sorted.
    public var tableNames: [String] { tables.keys.sorted() }
}

/// One table: its columns in the order they were added. Thread-safe value.
public struct MemoryTable: Sendable, Hashable {
    public var name: String
    /// Column names in physical order (a re-added column goes last, as in a real database).
    public var columns: [String]

    public init(name: String, columns: [String]) {
        self.name = name
        self.columns = columns
    }
}

/// One index and the table it belongs to. Thread-safe value.
public struct MemoryIndex: Sendable, Hashable {
    public var name: String
    public var table: String
    public var isUnique: Bool

    public init(name: String, table: String, isUnique: Bool) {
        self.name = name
        self.table = table
        self.isUnique = isUnique
    }
}
