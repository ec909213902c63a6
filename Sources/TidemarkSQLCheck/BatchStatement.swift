import Foundation
import TidemarkCore

/// Binds a batched statement's placeholders. Pure.
package enum BatchStatement {
    /// `sql` with `:batch_start` and `:batch_end` replaced by the integers, only where they are
    /// tokens of the statement (never inside a string literal, a quoted name or a comment).
    package static func bind(_ sql: String, start: Int64, end: Int64) -> String {
        let placements = placeholders(in: sql)
        guard !placements.isEmpty else { return sql }
        var bytes = Array(sql.utf8)
        for placement in placements.reversed() {
            bytes.replaceSubrange(placement.range, with: Array(String(placement.isStart ? start : end).utf8))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Which of the two placeholders `sql` uses as tokens.
    package static func uses(_ sql: String) -> (start: Bool, end: Bool) {
        let found = placeholders(in: sql)
        return (found.contains { $0.isStart }, found.contains { !$0.isStart })
    }

    private struct Placement {
        var range: Range<Int>
        var isStart: Bool
    }

    /// UTF-8 ranges of the placeholders: a `:` token directly followed by the bare word
    /// `batch_start` or `batch_end`, and not preceded by another `:` (a `::` cast).
    private static func placeholders(in sql: String) -> [Placement] {
        let tokens = SQLLexer.tokens(in: sql)
        var result: [Placement] = []
        for index in tokens.indices.dropLast() {
            let colon = tokens[index]
            let word = tokens[index + 1]
            guard colon.kind == .punctuation, colon.text == ":", word.kind == .word, word.start == colon.end else {
                continue
            }
            if index > 0, tokens[index - 1].text == ":", tokens[index - 1].end == colon.start { continue }
            switch word.text.lowercased() {
            case "batch_start": result.append(Placement(range: colon.start..<word.end, isStart: true))
            case "batch_end": result.append(Placement(range: colon.start..<word.end, isStart: false))
            default: continue
            }
        }
        return result
    }
}
