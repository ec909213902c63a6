import TidemarkCore

/// Every problem found in one plan directory, in the order they were found. Thread-safe value.
package struct PlanProblems: Error, Sendable, CustomStringConvertible {
    package var errors: [PlanError]

    package init(errors: [PlanError]) {
        self.errors = errors
    }

    /// One error per line.
    package var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
