import Foundation
import TidemarkCore

/// Splits SQL scripts into top-level statements the way psql does, respecting quotes, dollar
/// quoting, comments and `BEGIN ATOMIC … END` bodies. Pure and thread-safe.
///
/// Used to find statements that decide how a script must run (its own `BEGIN`/`COMMIT`,
/// `CREATE INDEX CONCURRENTLY`), to classify data-losing statements, and to send a
/// no-transaction script one statement at a time, because PostgreSQL runs a multi-statement
/// query string as one implicit transaction. Reads tokens from `SQLLexer`.
package enum SQLScanner {
    /// One statement of a script.
    package struct Statement: Sendable, Hashable {
        /// The statement text without its terminating `;`, comments kept, trimmed.
        package var text: String
        /// 1-based line where the statement starts.
        package var line: Int
        /// The leading keywords, upper-cased, comments and quotes skipped (at most `limit`).
        /// A statement that starts with quoted text starts with a marker: `'`, `"` or `$`.
        package var keywords: [String]
        /// Every token of the statement, with its parenthesis depth within the statement.
        package var tokens: [SQLToken]
    }

    /// The script's statements in order; empty statements (lone `;`, comments only) are dropped.
    /// `tokens` split at the commas of the statement's own level (not inside parentheses): the
    /// actions of one `ALTER TABLE t a, b, c`.
    package static func commaSeparated(_ tokens: ArraySlice<SQLToken>) -> [[SQLToken]] {
        var parts: [[SQLToken]] = [[]]
        for token in tokens {
            if token.depth == 0 && token.kind == .punctuation && token.text == "," {
                parts.append([])
            } else {
                parts[parts.count - 1].append(token)
            }
        }
        return parts
    }

    package static func statements(in sql: String, keywordLimit: Int = 6) -> [Statement] {
        let utf8 = Array(sql.utf8)
        var result: [Statement] = []
        var current: [SQLToken] = []
        var depth = 0
        var atomicDepth = 0 // inside CREATE FUNCTION … BEGIN ATOMIC … END
        var words: [String] = []

        func finish(endingAt end: Int) {
            defer {
                current.removeAll(keepingCapacity: true)
                words.removeAll(keepingCapacity: true)
                depth = 0
                atomicDepth = 0
            }
            guard let first = current.first else { return }
            // Trim only what the lexer skips as space: a no-break space is part of a token, and
            // trimming it would leave a statement with tokens but no text.
            var textEnd = end
            while textEnd > first.start, SQLLexer.isSpace(utf8[textEnd - 1]) { textEnd -= 1 }
            let text = String(decoding: utf8[first.start..<textEnd], as: UTF8.self)
            var keywords: [String] = []
            switch first.kind {
            case .quoted: keywords.append(first.text.hasPrefix("\"") ? "\"" : "'")
            case .dollarQuoted: keywords.append("$")
            case .word, .punctuation: break
            }
            keywords += current.lazy.compactMap(\.keyword).prefix(max(0, keywordLimit - keywords.count))
            result.append(
                Statement(text: text, line: first.line, keywords: Array(keywords.prefix(keywordLimit)), tokens: current)
            )
        }

        for var token in SQLLexer.tokens(in: sql) {
            if token.kind == .punctuation && token.text == ";" && atomicDepth == 0 {
                finish(endingAt: token.start)
                continue
            }
            if token.kind == .punctuation && token.text == ")" { depth = max(0, depth - 1) }
            token.depth = depth
            if token.kind == .punctuation && token.text == "(" { depth += 1 }
            if let keyword = token.keyword {
                // Track BEGIN ATOMIC … END so its inner semicolons do not split the statement.
                if keyword == "ATOMIC", words.last == "BEGIN", words.contains("FUNCTION") || words.contains("PROCEDURE")
                {
                    atomicDepth += 1
                } else if keyword == "END", atomicDepth > 0 {
                    atomicDepth -= 1
                } else if keyword == "CASE", atomicDepth > 0 {
                    atomicDepth += 1
                }
                words.append(keyword)
            }
            current.append(token)
        }
        finish(endingAt: utf8.count)
        return result
    }
}
