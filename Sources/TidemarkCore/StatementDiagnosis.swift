import Foundation

/// A half-applied MySQL step read statement by statement (docs/mysql.md#a-half-applied-step):
/// which of the step's statements the live schema shows took effect. MySQL commits each DDL
/// statement, so the statements before the failing one should be there and the rest should not;
/// when the schema proves exactly that, `repair --auto` can finish the step (run the rest) or,
/// when that fails again, undo what took effect. Thread-safe value.
package struct StatementDiagnosis: Sendable, Hashable, Codable {
    /// One statement of the step and what the schema says about it.
    package struct Check: Sendable, Hashable, Codable {
        package enum State: String, Sendable, Hashable, Codable {
            case applied
            case notApplied = "not-applied"
            /// Tidemark cannot tell from the statement's text (`MODIFY`, DML) or the schema shows part of it.
            case unknown
        }

        /// 1-based, in the original script.
        package var number: Int
        package var line: Int
        /// The statement's start, on one line.
        package var summary: String
        package var state: State
        /// The statement that takes it back, when one is known.
        package var inverse: String?
        /// The statement's text (for finishing the step).
        package var text: String

        package init(number: Int, line: Int, summary: String, state: State, inverse: String?, text: String) {
            self.number = number
            self.line = line
            self.summary = summary
            self.state = state
            self.inverse = inverse
            self.text = text
        }
    }

    /// 1-based number of the statement that failed.
    package var failedAt: Int
    package var statements: [Check]

    package init(failedAt: Int, statements: [Check]) {
        self.failedAt = failedAt
        self.statements = statements
    }

    /// The statements before the failing one all took effect, and none from it on did.
    package var isCleanBreak: Bool {
        statements.allSatisfy { $0.number < failedAt ? $0.state == .applied : $0.state == .notApplied }
    }

    /// No statement took effect: the target is as before the step.
    package var nothingApplied: Bool { statements.allSatisfy { $0.state == .notApplied } }

    /// The statements to run to finish the step (the failing one and after), on a clean break.
    package var remaining: [Check] { statements.filter { $0.number >= failedAt } }

    /// The statements undoing what took effect, last first; nil unless every applied statement has one.
    package var undo: [String]? {
        let applied = statements.filter { $0.number < failedAt }
        let inverses = applied.reversed().compactMap(\.inverse)
        return inverses.count == applied.count ? inverses : nil
    }

    /// What `repair --auto` may record from this alone: rolled back when nothing took effect,
    /// resolved (by finishing the step) on a clean break; nil otherwise.
    package var autoResolution: RepairResolution? {
        if nothingApplied { return .rolledBack }
        if isCleanBreak { return .resolved }
        return nil
    }

    /// The description of a row that finishes a step from statement `number`: read back by
    /// `finishOffset(of:)` when that row fails in turn.
    package static func finishDescription(from number: Int, failedRow: Int64) -> String {
        "repair: finish from statement \(number) (failed row \(failedRow))"
    }

    /// How many statements of the original script a finishing row's script leaves out (0 for any other row).
    package static func finishOffset(of description: String) -> Int {
        let prefix = "repair: finish from statement "
        guard description.hasPrefix(prefix),
            let number = Int(description.dropFirst(prefix.count).prefix { $0.isNumber }), number >= 1
        else { return 0 }
        return number - 1
    }
}
