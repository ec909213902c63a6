import TidemarkCore

/// Every problem found in one inventory file, ordered by position. Thread-safe value.
package struct InventoryProblems: Error, Sendable, CustomStringConvertible {
    package var errors: [InventoryError]

    package init(errors: [InventoryError]) {
        self.errors = errors
    }

    /// One `file:line:column: message` per line.
    package var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
