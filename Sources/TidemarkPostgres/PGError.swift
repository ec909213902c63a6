import CLibPQ

/// A failed libpq call: the server's error fields when it sent one, libpq's message otherwise.
/// Internal; `PostgresConnection` turns it into a `BackendError` naming the target. Thread-safe value.
struct PGError: Error, Sendable, Hashable {
    /// The five-character SQLSTATE (`42P01`); nil for errors raised by libpq itself.
    var sqlState: String?
    /// The primary message, one line, without the `ERROR:` prefix.
    var message: String
    var detail: String?
    var hint: String?
    /// 1-based character offset into the query string that failed (PG_DIAG_STATEMENT_POSITION).
    var position: Int?
    /// Where inside a function the error arose (PL/pgSQL: `PL/pgSQL function f() line 3 at RAISE`),
    /// first line only.
    var context: String?
    /// True when the connection is gone: nothing more can be sent on it.
    var connectionLost: Bool
    /// How many statements of a multi-statement query string completed before this error: with
    /// no position (run-time errors have none), it tells which statement failed.
    var completedStatements: Int?

    init(
        sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil, position: Int? = nil,
        context: String? = nil, connectionLost: Bool = false
    ) {
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position
        self.context = context
        self.connectionLost = connectionLost
    }

    /// SQLSTATE 57014: a statement was cancelled (PQcancel or statement_timeout).
    var isQueryCanceled: Bool { sqlState == "57014" }

    /// The message with its detail, hint and context: `primary (detail: …; hint: …; where: …)`.
    var fullMessage: String {
        let extras = [detail.map { "detail: \($0)" }, hint.map { "hint: \($0)" }, context.map { "where: \($0)" }]
            .compactMap { $0 }
        return extras.isEmpty ? message : "\(message) (\(extras.joined(separator: "; ")))"
    }

    /// Reads the error fields of a failed result; `connection` supplies libpq's own message
    /// when the result carries none (a lost connection, an out-of-memory result).
    init(result: OpaquePointer?, connection: OpaquePointer) {
        let connectionLost = PQstatus(connection) == CONNECTION_BAD
        guard let result else {
            self.init(message: PGError.clean(PQerrorMessage(connection)), connectionLost: connectionLost)
            return
        }
        let primary = PGError.field(result, TIDEMARK_PG_DIAG_MESSAGE_PRIMARY)
        let fallback = PGError.clean(PQresultErrorMessage(result))
        let message = primary ?? (fallback.isEmpty ? PGError.clean(PQerrorMessage(connection)) : fallback)
        self.init(
            sqlState: PGError.field(result, TIDEMARK_PG_DIAG_SQLSTATE),
            message: message.isEmpty ? "unknown error" : message,
            detail: PGError.field(result, TIDEMARK_PG_DIAG_MESSAGE_DETAIL),
            hint: PGError.field(result, TIDEMARK_PG_DIAG_MESSAGE_HINT),
            position: PGError.field(result, TIDEMARK_PG_DIAG_STATEMENT_POSITION).flatMap { Int($0) },
            connectionLost: connectionLost)
        // Only the innermost frame, and only a function's: nested call chains and the
        // "SQL statement …" frames repeat the script's own text.
        if let context = PGError.field(result, TIDEMARK_PG_DIAG_CONTEXT),
            let first = context.split(whereSeparator: \.isNewline).first, first.hasPrefix("PL/")
        {
            self.context = String(first.prefix(200))
        }
    }

    /// One diagnostic field of a result, nil when absent or empty.
    static func field(_ result: OpaquePointer, _ code: Int32) -> String? {
        guard let pointer = PQresultErrorField(result, code) else { return nil }
        let text = String(cString: pointer).trimmingWhitespace
        return text.isEmpty ? nil : text
    }

    /// libpq messages end in newlines and indent continuation lines with tabs; error text is one line.
    static func clean(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return clean(String(cString: pointer))
    }

    static func clean(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingWhitespace }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace (no Foundation needed).
    var trimmingWhitespace: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}
