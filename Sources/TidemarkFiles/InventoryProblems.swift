import TidemarkCore

/// Every problem found in one inventory file, ordered by position. Thread-safe value.
public struct InventoryProblems: Error, Sendable, CustomStringConvertible {
    public var errors: [InventoryError]

    public init(errors: [InventoryError]) {
        self.errors = errors
    }

    /// One `file:line:column: message` per line.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
