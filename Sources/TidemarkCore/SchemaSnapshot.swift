/// The shape of a target's schema as its catalog tells it: tables and their columns in
/// physical order, the history table left out. Thread-safe value.
public struct SchemaSnapshot: Sendable, Hashable, Codable {
    /// Table name → column names in physical order (a re-added column comes last).
    public var tables: [String: [String]]

    public init(tables: [String: [String]] = [:]) {
        self.tables = tables
    }
}
