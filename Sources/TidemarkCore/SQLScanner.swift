import Foundation

/// Splits SQL scripts into top-level statements the way psql does, respecting quotes, dollar
/// quoting, comments and `BEGIN ATOMIC … END` bodies. Pure and thread-safe.
///
/// Used to find statements that decide how a script must run (its own `BEGIN`/`COMMIT`,
/// `CREATE INDEX CONCURRENTLY`) and to send a no-transaction script one statement at a time,
/// because PostgreSQL runs a multi-statement query string as one implicit transaction.
public enum SQLScanner {
    /// One statement of a script.
    public struct Statement: Sendable, Hashable {
        /// The statement text without its terminating `;`, comments kept, trimmed.
        public var text: String
        /// 1-based line where the statement starts.
        public var line: Int
        /// The leading keywords, upper-cased, comments and quotes skipped (at most `limit`).
        public var keywords: [String]
    }

    /// The script's statements in order; empty statements (lone `;`, comments only) are dropped.
    public static func statements(in sql: String, keywordLimit: Int = 6) -> [Statement] {
        let bytes = Array(sql.utf8)
        var result: [Statement] = []
        var start = 0
        var startLine = 1
        var line = 1
        var index = 0
        var hasToken = false
        var atomicDepth = 0  // inside CREATE FUNCTION … BEGIN ATOMIC … END
        var currentWords: [String] = []
        var word: [UInt8] = []

        func flushWord() {
            if !word.isEmpty {
                currentWords.append(String(decoding: word, as: UTF8.self).uppercased())
                word.removeAll(keepingCapacity: true)
            }
        }
        func finish(upTo end: Int) {
            flushWord()
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            let keywords = Array(currentWords.prefix(keywordLimit))
            if !keywords.isEmpty {
                result.append(
                    Statement(text: text.trimmingCharacters(in: .whitespacesAndNewlines), line: startLine, keywords: keywords))
            }
            currentWords.removeAll(keepingCapacity: true)
        }

        while index < bytes.count {
            let byte = bytes[index]
            let next: UInt8? = index + 1 < bytes.count ? bytes[index + 1] : nil
            if byte == UInt8(ascii: "\n") { line += 1 }
            let startsComment =
                (byte == UInt8(ascii: "-") && next == UInt8(ascii: "-"))
                || (byte == UInt8(ascii: "/") && next == UInt8(ascii: "*"))
            if currentWords.isEmpty && word.isEmpty && !hasToken && !isSpace(byte) && !startsComment
                && byte != UInt8(ascii: ";")
            {
                hasToken = true
                start = index
                startLine = line
            }
            switch byte {
            case UInt8(ascii: "-") where next == UInt8(ascii: "-"):
                flushWord()
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            case UInt8(ascii: "/") where next == UInt8(ascii: "*"):
                flushWord()
                var depth = 1
                index += 2
                while index < bytes.count && depth > 0 {
                    if bytes[index] == UInt8(ascii: "\n") { line += 1 }
                    if bytes[index] == UInt8(ascii: "/") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*") {
                        depth += 1
                        index += 2
                    } else if bytes[index] == UInt8(ascii: "*") && index + 1 < bytes.count
                        && bytes[index + 1] == UInt8(ascii: "/")
                    {
                        depth -= 1
                        index += 2
                    } else {
                        index += 1
                    }
                }
                continue
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // E'…' strings allow backslash escapes; standard strings double the quote.
                let backslashEscapes =
                    byte == UInt8(ascii: "'") && index >= 1
                    && (bytes[index - 1] == UInt8(ascii: "E") || bytes[index - 1] == UInt8(ascii: "e"))
                    && (index < 2 || !isIdentifier(bytes[index - 2]))
                flushWord()
                if currentWords.isEmpty { currentWords.append(byte == UInt8(ascii: "'") ? "'" : "\"") }
                index += 1
                while index < bytes.count {
                    let c = bytes[index]
                    if c == UInt8(ascii: "\n") { line += 1 }
                    if backslashEscapes && c == UInt8(ascii: "\\") {
                        index += 2
                        continue
                    }
                    if c == byte {
                        if index + 1 < bytes.count && bytes[index + 1] == byte {
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
                continue
            case UInt8(ascii: "$"):
                if let tagEnd = dollarTagEnd(bytes, from: index), word.isEmpty || !isIdentifier(word.last ?? 0) {
                    flushWord()
                    let tag = Array(bytes[index...tagEnd])
                    var scan = tagEnd + 1
                    var closed = false
                    while scan < bytes.count {
                        if bytes[scan] == UInt8(ascii: "\n") { line += 1 }
                        if bytes[scan] == UInt8(ascii: "$") && scan + tag.count <= bytes.count
                            && Array(bytes[scan..<(scan + tag.count)]) == tag
                        {
                            scan += tag.count
                            closed = true
                            break
                        }
                        scan += 1
                    }
                    if currentWords.isEmpty { currentWords.append("$") }
                    index = closed ? scan : bytes.count
                    continue
                }
                word.append(byte)
            case UInt8(ascii: ";"):
                flushWord()
                if atomicDepth > 0 {
                    break
                }
                if hasToken { finish(upTo: index) }
                hasToken = false
                currentWords.removeAll(keepingCapacity: true)
                start = index + 1
            default:
                if isIdentifier(byte) {
                    word.append(byte)
                } else {
                    flushWord()
                }
            }
            // Track BEGIN ATOMIC … END so its inner semicolons do not split the statement.
            if !word.isEmpty, index + 1 >= bytes.count || !isIdentifier(bytes[index + 1]) {
                let upper = String(decoding: word, as: UTF8.self).uppercased()
                if upper == "ATOMIC", currentWords.last == "BEGIN", currentWords.contains("FUNCTION") || currentWords.contains("PROCEDURE") {
                    atomicDepth += 1
                } else if upper == "END", atomicDepth > 0 {
                    atomicDepth -= 1
                } else if upper == "CASE", atomicDepth > 0 {
                    atomicDepth += 1
                }
                flushWord()
            }
            index += 1
        }
        if hasToken { finish(upTo: bytes.count) }
        return result
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C
    }

    private static func isIdentifier(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    /// The index of the closing `$` of a dollar-quote tag starting at `start` (`$$`, `$body$`).
    private static func dollarTagEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "$") { return index }
            guard isIdentifier(byte), !(index == start + 1 && byte >= 0x30 && byte <= 0x39) else { return nil }
            index += 1
        }
        return nil
    }
}
