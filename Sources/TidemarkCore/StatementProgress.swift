/// How far a no-transaction step got before a statement failed
/// (docs/recovery.md#when-a-target-is-dirty): the history row's error, the report and the step
/// error start with it. Thread-safe value.
package struct StatementProgress: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Statements that completed before the failing one.
    package var completed: Int
    /// Statements in the script.
    package var total: Int
    /// 1-based line where the failing statement starts.
    package var line: Int

    package init(completed: Int, total: Int, line: Int) {
        self.completed = completed
        self.total = max(total, completed + 1)
        self.line = line
    }

    /// `stopped at statement 3 of 5, line 12`.
    package var description: String {
        "stopped at statement \(completed + 1) of \(total), line \(line)"
    }

    /// The progress a failed step's message starts with, if it does.
    package init?(message: String) {
        let prefix = "stopped at statement "
        guard message.hasPrefix(prefix) else { return nil }
        let words = message.dropFirst(prefix.count).split(whereSeparator: { $0 == " " || $0 == "," || $0 == ":" })
            .prefix(5)
        guard words.count == 5, words[words.startIndex + 1] == "of", words[words.startIndex + 3] == "line",
            let number = Int(words[words.startIndex]), let total = Int(words[words.startIndex + 2]),
            let line = Int(words[words.startIndex + 4]), number >= 1
        else { return nil }
        self.init(completed: number - 1, total: total, line: line)
    }
}
