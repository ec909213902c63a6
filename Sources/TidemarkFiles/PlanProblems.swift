import TidemarkCore

/// Every problem found in one plan directory, in the order they were found. Thread-safe value.
public struct PlanProblems: Error, Sendable, CustomStringConvertible {
    public var errors: [PlanError]

    public init(errors: [PlanError]) {
        self.errors = errors
    }

    /// One error per line.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
