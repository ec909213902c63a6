import TidemarkCore

/// One token of SQL text, as `SQLLexer` reads it. Thread-safe value.
package struct SQLToken: Sendable, Hashable {
    package enum Kind: Sendable, Hashable {
        /// A bare word: keyword or unquoted identifier.
        case word
        /// A quoted literal or name (`'…'`, `E'…'`, `"…"`), quotes kept in `text`.
        case quoted
        /// A dollar-quoted body (`$$ … $$`, `$tag$ … $tag$`): function bodies, DO blocks.
        case dollarQuoted
        /// Any other single character: `(`, `)`, `,`, `.`, `;`, operators.
        case punctuation
    }

    package var kind: Kind
    /// The token as written.
    package var text: String
    /// Upper-cased for bare words; nil otherwise, so `"type"` is never taken for the keyword.
    package var keyword: String?
    /// 1-based line where the token starts.
    package var line: Int
    /// Byte offsets of the token in the UTF-8 text: `start..<end`.
    package var start: Int
    package var end: Int
    /// Parenthesis depth within its statement (set by `SQLScanner`; 0 from the lexer).
    package var depth: Int = 0
}

/// Reads SQL text into tokens, skipping whitespace and comments, keeping quoted text and
/// dollar-quoted bodies whole. The one lexer behind `SQLScanner` and `DataLossClassifier`;
/// enough to find statements and their keywords, not a SQL parser. Pure and thread-safe.
package enum SQLLexer {
    package static func tokens(in sql: String) -> [SQLToken] {
        let bytes = Array(sql.utf8)
        var tokens: [SQLToken] = []
        var index = 0
        var line = 1

        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        /// Advances `index` to `end`, counting the newlines passed.
        func advance(to end: Int) {
            let stop = min(end, bytes.count)
            while index < stop {
                if bytes[index] == 0x0A { line += 1 }
                index += 1
            }
        }

        while index < bytes.count {
            let byte = bytes[index]
            let next: UInt8? = index + 1 < bytes.count ? bytes[index + 1] : nil
            let startLine = line
            let start = index
            if isSpace(byte) {
                advance(to: index + 1)
            } else if byte == UInt8(ascii: "-") && next == UInt8(ascii: "-") {
                while index < bytes.count && bytes[index] != 0x0A { index += 1 }
            } else if byte == UInt8(ascii: "/") && next == UInt8(ascii: "*") {
                // Block comments nest in PostgreSQL.
                var depth = 0
                var scan = index
                repeat {
                    if bytes[scan] == UInt8(ascii: "/") && scan + 1 < bytes.count
                        && bytes[scan + 1] == UInt8(ascii: "*")
                    {
                        depth += 1
                        scan += 2
                    } else if bytes[scan] == UInt8(ascii: "*") && scan + 1 < bytes.count
                        && bytes[scan + 1] == UInt8(ascii: "/")
                    {
                        depth -= 1
                        scan += 2
                    } else {
                        scan += 1
                    }
                } while depth > 0 && scan < bytes.count
                advance(to: scan)
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                // E'…' allows backslash escapes; every quoted text doubles its quote to escape it.
                let backslashEscapes =
                    byte == UInt8(ascii: "'")
                    && tokens.last.map { $0.kind == .word && $0.end == start && $0.text.uppercased() == "E" } == true
                var scan = index + 1
                while scan < bytes.count {
                    if backslashEscapes && bytes[scan] == UInt8(ascii: "\\") {
                        scan += 2
                        continue
                    }
                    if bytes[scan] == byte {
                        if scan + 1 < bytes.count && bytes[scan + 1] == byte {
                            scan += 2
                            continue
                        }
                        break
                    }
                    scan += 1
                }
                advance(to: scan + 1)
                if backslashEscapes, let prefix = tokens.popLast() {
                    tokens.append(
                        SQLToken(
                            kind: .quoted, text: text(prefix.start..<index), keyword: nil, line: prefix.line,
                            start: prefix.start, end: index))
                } else {
                    tokens.append(
                        SQLToken(
                            kind: .quoted, text: text(start..<index), keyword: nil, line: startLine, start: start,
                            end: index))
                }
            } else if byte == UInt8(ascii: "$"), let tagEnd = dollarTagEnd(bytes, from: index) {
                let tag = Array(bytes[index...tagEnd])
                var scan = tagEnd + 1
                var end = bytes.count
                while scan + tag.count <= bytes.count {
                    if bytes[scan] == UInt8(ascii: "$") && Array(bytes[scan..<(scan + tag.count)]) == tag {
                        end = scan + tag.count
                        break
                    }
                    scan += 1
                }
                advance(to: end)
                tokens.append(
                    SQLToken(
                        kind: .dollarQuoted, text: text(start..<index), keyword: nil, line: startLine, start: start,
                        end: index))
            } else if isWordByte(byte) {
                // `$` continues a word (`a$b`), but never starts one: there it opens a dollar quote.
                var scan = index + 1
                while scan < bytes.count && (isWordByte(bytes[scan]) || bytes[scan] == UInt8(ascii: "$")) { scan += 1 }
                advance(to: scan)
                let word = text(start..<index)
                tokens.append(
                    SQLToken(
                        kind: .word, text: word, keyword: word.uppercased(), line: startLine, start: start, end: index))
            } else {
                advance(to: index + 1)
                tokens.append(
                    SQLToken(
                        kind: .punctuation, text: text(start..<index), keyword: nil, line: startLine, start: start,
                        end: index))
            }
        }
        return tokens
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    /// The index of the closing `$` of a dollar-quote tag starting at `start` (`$$`, `$body$`);
    /// nil when the `$` opens none (`$1` is a parameter).
    static func dollarTagEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "$") { return index }
            guard isWordByte(byte), !(index == start + 1 && byte >= 0x30 && byte <= 0x39) else { return nil }
            index += 1
        }
        return nil
    }
}
