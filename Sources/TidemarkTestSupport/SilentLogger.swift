import Logging

extension Logger {
    /// A logger that drops everything: what tests and fixtures pass where a logger is required
    /// and nothing should be printed. Thread-safe.
    package static let silent = Logger(label: "tidemark.test") { _ in SwiftLogNoOpLogHandler() }
}
