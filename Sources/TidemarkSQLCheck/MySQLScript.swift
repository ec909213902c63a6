import Foundation
import TidemarkCore

/// A MySQL script split into statements the way the server reads them, and what each one is.
/// Pure functions; thread-safe.
///
/// The split understands what a naive split on `;` breaks: quoted strings (`'…'`, `"…"`, with
/// backslash and doubled-quote escapes), backquoted names, comments (`-- ` with its space, `#`,
/// `/* … */`, `/*! … */` kept as text), and compound statements: the body of `CREATE PROCEDURE`,
/// `FUNCTION`, `TRIGGER` or `EVENT` (and of `BEGIN NOT ATOMIC`) runs to the `END` that closes
/// its `BEGIN`, with the `;`s inside it, so such files need no `DELIMITER` (a client command,
/// which is refused with its line).
package enum MySQLScript {
    /// One statement: its text (without the final `;`) and the 1-based line it starts on.
    package struct Statement: Sendable, Hashable {
        package var text: String
        package var line: Int

        package init(text: String, line: Int) {
            self.text = text
            self.line = line
        }

        /// DML: `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `REPLACE` and `SET @var`. Anything else
        /// (DDL, `CALL`, `PREPARE`/`EXECUTE`, which may run DDL, session `SET`s) commits
        /// implicitly or may, so it makes its step non-transactional.
        /// `BEGIN`, `START TRANSACTION` or `ROLLBACK` (not `COMMIT`, which keeps what ran).
        package var isTransactionControl: Bool {
            let words = MySQLScript.leadingWords(of: text, count: 2)
            switch words.first {
            case "BEGIN": return words.count == 1 || words[1] == "WORK"
            case "START": return words.dropFirst().first == "TRANSACTION"
            case "ROLLBACK": return true
            default: return false
            }
        }

        package var isDML: Bool {
            let words = MySQLScript.leadingWords(of: text, count: 1)
            guard let first = words.first else { return true }
            switch first {
            case "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE": return true
            case "SET": return MySQLScript.setsOnlyUserVariables(text)
            default: return false
            }
        }
    }

    /// Why a script cannot be split: `DELIMITER`, which only the `mysql` client understands.
    package struct DelimiterError: Error, Sendable, Hashable {
        package var line: Int

        package init(line: Int) {
            self.line = line
        }
    }

    /// The statements of `script`, in order; empty ones (`;;`, comments only) left out.
    package static func statements(in script: String) throws(DelimiterError) -> [Statement] {
        let chars = Array(script.unicodeScalars)
        var statements: [Statement] = []
        var index = 0
        var line = 1
        var start = 0
        var startLine = 1
        var sawCode = false // whether the statement has anything but whitespace and comments
        var words: [String] = [] // the statement's first words, upper case (to spot compound bodies)
        var depth = 0 // BEGIN/CASE/IF/LOOP/REPEAT/WHILE … END nesting inside a compound body
        var compound = false
        var pendingEnd = false // just saw END: the next word may be IF, CASE, LOOP, … (consumed)
        // The token before a word inside a compound body: IF, REPEAT and WHILE open a block only
        // where a statement starts (`IF(x > 0) THEN` after `;` is a statement, `SET a = IF(x, 1, 2)`
        // a function call).
        var previous = ""

        func finish(at end: Int) {
            let text = String(String.UnicodeScalarView(chars[start..<end])).trimmingCharacters(
                in: .whitespacesAndNewlines)
            if sawCode && !text.isEmpty { statements.append(Statement(text: text, line: startLine)) }
        }

        while index < chars.count {
            let c = chars[index]
            let next: Unicode.Scalar? = index + 1 < chars.count ? chars[index + 1] : nil
            if !sawCode {
                // Statement start: skip whitespace and comments so its line is its first code.
                if c == "\n" {
                    line += 1
                    index += 1
                    continue
                }
                if c.properties.isWhitespace {
                    index += 1
                    continue
                }
            }
            switch c {
            case "\n":
                line += 1
                index += 1
            case "'", "\"", "`":
                if !sawCode { begin(&start, &startLine, index, line, &sawCode) }
                index += 1
                while index < chars.count {
                    let d = chars[index]
                    if d == "\n" { line += 1 }
                    if d == "\\" && c != "`" {
                        index += 2
                        continue
                    }
                    if d == c {
                        if index + 1 < chars.count && chars[index + 1] == c {
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
            case "#":
                index = skipLine(chars, from: index)
            case "-" where next == "-" && (index + 2 >= chars.count || chars[index + 2].properties.isWhitespace):
                index = skipLine(chars, from: index)
            case "/" where next == "*":
                let executable = index + 2 < chars.count && chars[index + 2] == "!"
                if executable && !sawCode { begin(&start, &startLine, index, line, &sawCode) }
                index += 2
                while index < chars.count
                    && !(chars[index] == "*" && index + 1 < chars.count && chars[index + 1] == "/")
                {
                    if chars[index] == "\n" { line += 1 }
                    index += 1
                }
                index += 2
            case ";" where depth == 0:
                finish(at: index)
                index += 1
                sawCode = false
                words = []
                compound = false
                pendingEnd = false
                previous = ""
            default:
                if !sawCode {
                    begin(&start, &startLine, index, line, &sawCode)
                    if leadingWord(chars, at: index).uppercased() == "DELIMITER" { throw DelimiterError(line: line) }
                }
                if isWordStart(c) {
                    let word = leadingWord(chars, at: index)
                    let upper = word.uppercased()
                    if words.count < 8 {
                        words.append(upper)
                        compound = compound || startsCompound(words)
                    }
                    if compound || (words.first == "BEGIN" && words.dropFirst().first == "NOT") {
                        compound = true
                        let following = nextCode(chars, after: index + word.unicodeScalars.count)
                        if pendingEnd {
                            pendingEnd = false
                            if ["IF", "CASE", "LOOP", "REPEAT", "WHILE"].contains(upper) {
                                index += word.unicodeScalars.count
                                previous = upper
                                continue
                            }
                        }
                        let startsStatement = ["", ";", ":", "BEGIN", "THEN", "ELSE", "DO", "LOOP", "REPEAT"].contains(
                            previous)
                        switch upper {
                        case "BEGIN":
                            // BEGIN opens a block unless it is `BEGIN WORK` (a transaction).
                            if following.map({ !$0.uppercased().hasPrefix("WORK") }) ?? true { depth += 1 }
                        case "CASE":
                            depth += 1 // a CASE expression ends with END too
                        case "LOOP":
                            if startsStatement { depth += 1 }
                        case "IF", "REPEAT", "WHILE":
                            if startsStatement && following?.first != "=" { depth += 1 }
                        case "END":
                            if depth > 0 { depth -= 1 }
                            pendingEnd = true
                        default:
                            break
                        }
                        previous = upper
                    }
                    index += word.unicodeScalars.count
                } else {
                    if compound && (c == ";" || c == ":") {
                        previous = String(c)
                    } else if compound && !c.properties.isWhitespace {
                        previous = "?"
                    }
                    index += 1
                }
            }
        }
        finish(at: chars.count)
        return statements
    }

    /// A cheap first look: whether `script` mentions ALTER or INDEX at all (before splitting it).
    package static func mayHaveDDL(_ script: String) -> Bool {
        script.range(of: "alter", options: .caseInsensitive) != nil
            || script.range(of: "index", options: .caseInsensitive) != nil
    }

    /// Whether every statement is DML, so the step may run in one transaction.
    package static func isAllDML(_ statements: [Statement]) -> Bool {
        statements.allSatisfy(\.isDML)
    }

    // MARK: - Helpers

    private static func begin(
        _ start: inout Int, _ startLine: inout Int, _ index: Int, _ line: Int, _ sawCode: inout Bool
    ) {
        start = index
        startLine = line
        sawCode = true
    }

    /// `CREATE [OR REPLACE] [DEFINER = …] [AGGREGATE] PROCEDURE|FUNCTION|TRIGGER|EVENT`.
    private static func startsCompound(_ words: [String]) -> Bool {
        guard words.first == "CREATE" else { return false }
        return words.dropFirst().contains { ["PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"].contains($0) }
    }

    private static func isWordStart(_ c: Unicode.Scalar) -> Bool {
        c.properties.isAlphabetic || c == "_" || c == "$"
    }

    private static func leadingWord(_ chars: [Unicode.Scalar], at index: Int) -> String {
        var end = index
        while end < chars.count,
            chars[end].properties.isAlphabetic || chars[end].properties.numericType != nil || chars[end] == "_"
                || chars[end] == "$"
        {
            end += 1
        }
        return String(String.UnicodeScalarView(chars[index..<end]))
    }

    /// The text from the next non-space character after `index`, up to 8 scalars.
    private static func nextCode(_ chars: [Unicode.Scalar], after index: Int) -> Substring? {
        var position = index
        while position < chars.count && chars[position].properties.isWhitespace { position += 1 }
        guard position < chars.count else { return nil }
        return Substring(String(String.UnicodeScalarView(chars[position..<min(chars.count, position + 8)])))
    }

    private static func skipLine(_ chars: [Unicode.Scalar], from index: Int) -> Int {
        var position = index
        while position < chars.count && chars[position] != "\n" { position += 1 }
        return position
    }

    /// The first `count` words of `text`, upper case, comments skipped.
    static func leadingWords(of text: String, count: Int) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.isAlphabetic || scalar == "_" {
                current.unicodeScalars.append(scalar)
            } else {
                if !current.isEmpty {
                    words.append(current.uppercased())
                    current = ""
                }
                if words.count >= count || !(scalar.properties.isWhitespace) { break }
            }
        }
        if !current.isEmpty && words.count < count { words.append(current.uppercased()) }
        return Array(words.prefix(count))
    }

    /// `SET @a = 1, @b := 2`: every assignment is to a user variable (`@name`, not `@@`).
    static func setsOnlyUserVariables(_ text: String) -> Bool {
        let body = text.drop { $0.isLetter }.drop { $0.isWhitespace }
        guard body.hasPrefix("@"), !body.hasPrefix("@@") else { return false }
        // A second assignment to a system variable (`, @@x` or `, sql_mode`) after a comma.
        var depth = 0
        var quote: Character?
        var previous: Character = " "
        var rest = body.dropFirst()
        while let c = rest.first {
            rest = rest.dropFirst()
            if let open = quote {
                if c == open && previous != "\\" { quote = nil }
            } else if c == "'" || c == "\"" || c == "`" {
                quote = c
            } else if c == "(" {
                depth += 1
            } else if c == ")" {
                depth -= 1
            } else if c == "," && depth == 0 {
                let next = rest.drop { $0.isWhitespace }
                if !next.hasPrefix("@") || next.hasPrefix("@@") { return false }
            }
            previous = c
        }
        return true
    }
}
