import Foundation
import TidemarkCore

/// A word, name, string or punctuation mark of one MySQL statement. Thread-safe value.
package struct MySQLToken: Sendable, Hashable {
    package enum Kind: Sendable, Hashable {
        /// A bare word: a keyword or an unquoted name.
        case word
        /// A `` `backquoted` `` name, its quotes removed.
        case quotedName
        /// A `'string'` or `"string"`, its quotes removed.
        case string
        /// Anything else, one character: `(`, `)`, `,`, `.`, `=`, …
        case symbol
    }

    package var kind: Kind
    package var text: String
    /// Parenthesis depth where the token starts (0: the statement's own level).
    package var depth: Int

    /// The word in upper case (empty for anything but a bare word).
    package var keyword: String { kind == .word ? text.uppercased() : "" }
    /// Whether this can be a name (a bare word or a backquoted one).
    package var isName: Bool { kind == .word || kind == .quotedName }

    /// The tokens of `statement`: comments left out (a `/*! … */` versioned comment too).
    package static func tokens(of statement: String) -> [MySQLToken] {
        let chars = Array(statement.unicodeScalars)
        var tokens: [MySQLToken] = []
        var depth = 0
        var index = 0
        func isWord(_ c: Unicode.Scalar) -> Bool {
            c.properties.isAlphabetic || c.properties.numericType != nil || c == "_" || c == "$" || c.value > 0x7F
        }
        while index < chars.count {
            let c = chars[index]
            let next: Unicode.Scalar? = index + 1 < chars.count ? chars[index + 1] : nil
            if c.properties.isWhitespace {
                index += 1
                continue
            }
            if c == "#"
                || (c == "-" && next == "-" && (index + 2 >= chars.count || chars[index + 2].properties.isWhitespace))
            {
                while index < chars.count && chars[index] != "\n" { index += 1 }
                continue
            }
            if c == "/" && next == "*" {
                index += 2
                while index < chars.count
                    && !(chars[index] == "*" && index + 1 < chars.count && chars[index + 1] == "/")
                { index += 1 }
                index += 2
                continue
            }
            if c == "'" || c == "\"" || c == "`" {
                var text = String.UnicodeScalarView()
                index += 1
                while index < chars.count {
                    let d = chars[index]
                    if d == "\\" && c != "`" && index + 1 < chars.count {
                        text.append(chars[index + 1])
                        index += 2
                        continue
                    }
                    if d == c {
                        if index + 1 < chars.count && chars[index + 1] == c {
                            text.append(c)
                            index += 2
                            continue
                        }
                        break
                    }
                    text.append(d)
                    index += 1
                }
                index += 1
                tokens.append(MySQLToken(kind: c == "`" ? .quotedName : .string, text: String(text), depth: depth))
                continue
            }
            if isWord(c) {
                var text = String.UnicodeScalarView()
                while index < chars.count && isWord(chars[index]) {
                    text.append(chars[index])
                    index += 1
                }
                tokens.append(MySQLToken(kind: .word, text: String(text), depth: depth))
                continue
            }
            if c == ")" { depth = max(0, depth - 1) }
            tokens.append(MySQLToken(kind: .symbol, text: String(c), depth: depth))
            if c == "(" { depth += 1 }
            index += 1
        }
        return tokens
    }

    /// `tokens` split at the commas of depth 0 (an `ALTER TABLE`'s clauses).
    package static func clauses(_ tokens: ArraySlice<MySQLToken>) -> [ArraySlice<MySQLToken>] {
        var result: [ArraySlice<MySQLToken>] = []
        var start = tokens.startIndex
        for index in tokens.indices
        where tokens[index].kind == .symbol && tokens[index].text == "," && tokens[index].depth == 0 {
            result.append(tokens[start..<index])
            start = index + 1
        }
        result.append(tokens[start..<tokens.endIndex])
        return result.filter { !$0.isEmpty }
    }
}

/// What one MySQL statement does to the schema, as the fingerprint shows it, and the statement
/// that takes it back (docs/mysql.md#a-half-applied-step). Pure; thread-safe value.
package struct MySQLStatementEffect: Sendable, Hashable {
    /// One object the statement makes appear or disappear: `column accounts.email`,
    /// `index accounts.accounts_email`, `table accounts`, `constraint orders.fk_account`.
    package struct Change: Sendable, Hashable {
        package var object: String
        package var present: Bool
    }

    package var changes: [Change]
    /// The statement undoing it (nil: none known, or it would destroy what was there before).
    package var inverse: String?

    package init(changes: [Change], inverse: String?) {
        self.changes = changes
        self.inverse = inverse
    }

    /// What `statement` does, or nil when Tidemark cannot tell from its text (a `MODIFY`, DML,
    /// a `CALL`).
    package init?(_ statement: String) {
        let tokens = MySQLToken.tokens(of: statement)
        guard let parsed = Self.parse(tokens) else { return nil }
        self = parsed
    }

    /// Whether `fingerprint` shows every change made (true), none made (false), or a mix (nil).
    package func isApplied(in fingerprint: SchemaFingerprint) -> Bool? {
        let objects = Set(fingerprint.lines.map { line in String(line.prefix { $0 != ":" }).lowercased() })
        let made = changes.map { objects.contains($0.object.lowercased()) == $0.present }
        if made.allSatisfy({ $0 }) { return true }
        if made.allSatisfy({ !$0 }) { return false }
        return nil
    }

    // MARK: - Parsing

    private static func q(_ name: String) -> String { "`" + name.replacingOccurrences(of: "`", with: "``") + "`" }

    /// A possibly qualified name at `index` (`db.t` keeps `t`); the index after it.
    private static func name(_ tokens: [MySQLToken], _ index: Int) -> (String, Int)? {
        guard index < tokens.count, tokens[index].isName else { return nil }
        var name = tokens[index].text
        var next = index + 1
        if next + 1 < tokens.count, tokens[next].text == ".", tokens[next].kind == .symbol, tokens[next + 1].isName {
            name = tokens[next + 1].text
            next += 2
        }
        return (name, next)
    }

    private static func skip(_ tokens: [MySQLToken], _ index: Int, _ words: [String]) -> Int {
        var index = index
        var position = 0
        while position < words.count, index < tokens.count, tokens[index].keyword == words[position] {
            index += 1
            position += 1
        }
        return position == words.count ? index : index - position
    }

    private static func parse(_ tokens: [MySQLToken]) -> MySQLStatementEffect? {
        guard let first = tokens.first?.keyword else { return nil }
        switch first {
        case "CREATE": return create(tokens)
        case "DROP": return drop(tokens)
        case "ALTER": return alter(tokens)
        case "RENAME":
            guard tokens.count > 1, tokens[1].keyword == "TABLE" else { return nil }
            var changes: [Change] = []
            var inverses: [String] = []
            var index = 2
            while let (from, afterFrom) = name(tokens, index), afterFrom < tokens.count,
                tokens[afterFrom].keyword == "TO",
                let (to, afterTo) = name(tokens, afterFrom + 1)
            {
                changes += [
                    Change(object: "table \(from)", present: false), Change(object: "table \(to)", present: true),
                ]
                inverses.insert("\(q(to)) TO \(q(from))", at: 0)
                index = afterTo
                if index < tokens.count, tokens[index].text == "," { index += 1 } else { break }
            }
            return changes.isEmpty
                ? nil
                : MySQLStatementEffect(changes: changes, inverse: "RENAME TABLE " + inverses.joined(separator: ", "))
        default: return nil
        }
    }

    private static func create(_ tokens: [MySQLToken]) -> MySQLStatementEffect? {
        var index = skip(tokens, 1, ["OR", "REPLACE"])
        let replaces = index > 1
        // Clauses before the object kind: ALGORITHM=…, DEFINER=…, SQL SECURITY …, UNIQUE, …
        var kind = ""
        while index < tokens.count {
            let word = tokens[index].keyword
            if ["TABLE", "INDEX", "VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"].contains(word) {
                kind = word
                break
            }
            if word == "TEMPORARY" || word == "DATABASE" || word == "SCHEMA" || word == "USER" { return nil }
            index += 1
        }
        guard !kind.isEmpty else { return nil }
        index = skip(tokens, index + 1, ["IF", "NOT", "EXISTS"])
        guard let (object, after) = name(tokens, index) else { return nil }
        switch kind {
        case "TABLE":
            // CREATE TABLE … LIKE / SELECT makes a table too.
            return MySQLStatementEffect(
                changes: [Change(object: "table \(object)", present: true)],
                inverse: replaces ? nil : "DROP TABLE \(q(object))")
        case "INDEX":
            guard after < tokens.count, tokens[after].keyword == "ON", let (table, _) = name(tokens, after + 1) else {
                return nil
            }
            return MySQLStatementEffect(
                changes: [Change(object: "index \(table).\(object)", present: true)],
                inverse: "DROP INDEX \(q(object)) ON \(q(table))")
        default:
            let lowered = kind.lowercased()
            return MySQLStatementEffect(
                changes: [Change(object: "\(lowered) \(object)", present: true)],
                inverse: replaces ? nil : "DROP \(kind) \(q(object))")
        }
    }

    private static func drop(_ tokens: [MySQLToken]) -> MySQLStatementEffect? {
        guard tokens.count > 2 else { return nil }
        let kind = tokens[1].keyword
        var index = skip(tokens, 2, ["IF", "EXISTS"])
        switch kind {
        case "TABLE":
            var changes: [Change] = []
            while let (table, after) = name(tokens, index) {
                changes.append(Change(object: "table \(table)", present: false))
                guard after < tokens.count, tokens[after].text == "," else { break }
                index = after + 1
            }
            return changes.isEmpty ? nil : MySQLStatementEffect(changes: changes, inverse: nil)
        case "INDEX":
            guard let (object, after) = name(tokens, index), after < tokens.count, tokens[after].keyword == "ON",
                let (table, _) = name(tokens, after + 1)
            else { return nil }
            return MySQLStatementEffect(
                changes: [Change(object: "index \(table).\(object)", present: false)], inverse: nil)
        case "VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT":
            guard let (object, _) = name(tokens, index) else { return nil }
            return MySQLStatementEffect(
                changes: [Change(object: "\(kind.lowercased()) \(object)", present: false)], inverse: nil)
        default:
            return nil
        }
    }

    private static func alter(_ tokens: [MySQLToken]) -> MySQLStatementEffect? {
        var index = 1
        if index < tokens.count, tokens[index].keyword == "ONLINE" || tokens[index].keyword == "IGNORE" { index += 1 }
        guard index < tokens.count, tokens[index].keyword == "TABLE" else { return nil }
        index = skip(tokens, index + 1, ["IF", "EXISTS"])
        guard let (table, after) = name(tokens, index) else { return nil }
        var changes: [Change] = []
        var inverses: [String] = []
        for clause in MySQLToken.clauses(tokens[after...]) {
            let words = Array(clause)
            // ALGORITHM=… and LOCK=… are options, no change of their own.
            if ["ALGORITHM", "LOCK"].contains(words.first?.keyword) { continue }
            guard let (clauseChanges, inverse) = alterClause(words, table: table) else { return nil }
            changes += clauseChanges
            inverses.insert(inverse ?? "", at: 0)
        }
        guard !changes.isEmpty else { return nil }
        let inverse = inverses.contains("") ? nil : "ALTER TABLE \(q(table)) " + inverses.joined(separator: ", ")
        return MySQLStatementEffect(changes: changes, inverse: inverse)
    }

    /// One clause's changes and its inverse clause; nil when its effect cannot be told (the whole statement is then unknown).
    private static func alterClause(_ words: [MySQLToken], table: String) -> ([Change], String?)? {
        guard let verb = words.first?.keyword else { return nil }
        func indexName(_ index: Int) -> String? {
            guard index < words.count, words[index].isName, !["USING", "ON"].contains(words[index].keyword) else {
                return nil
            }
            return words[index].text
        }
        switch verb {
        case "ADD":
            var index = 1
            let second = index < words.count ? words[index].keyword : ""
            if second == "CONSTRAINT" {
                index += 1
                var constraint: String?
                if index < words.count, words[index].isName,
                    !["FOREIGN", "UNIQUE", "CHECK", "PRIMARY"].contains(words[index].keyword)
                {
                    constraint = words[index].text
                    index += 1
                }
                let kind = index < words.count ? words[index].keyword : ""
                guard let constraint else { return nil }
                switch kind {
                case "FOREIGN":
                    return (
                        [Change(object: "constraint \(table).\(constraint)", present: true)],
                        "DROP FOREIGN KEY \(q(constraint))"
                    )
                case "UNIQUE":
                    return (
                        [Change(object: "index \(table).\(constraint)", present: true)], "DROP INDEX \(q(constraint))"
                    )
                case "CHECK":
                    return (
                        [Change(object: "check \(table).\(constraint)", present: true)],
                        "DROP CONSTRAINT \(q(constraint))"
                    )
                default: return nil
                }
            }
            switch second {
            case "PRIMARY": return ([Change(object: "index \(table).PRIMARY", present: true)], "DROP PRIMARY KEY")
            case "INDEX", "KEY", "UNIQUE", "FULLTEXT", "SPATIAL":
                index += 1
                if index < words.count, ["INDEX", "KEY"].contains(words[index].keyword) { index += 1 }
                index = skip(words, index, ["IF", "NOT", "EXISTS"])
                guard let name = indexName(index) else { return nil }
                return ([Change(object: "index \(table).\(name)", present: true)], "DROP INDEX \(q(name))")
            case "FOREIGN", "CHECK", "PERIOD", "SYSTEM":
                return nil
            default:
                if second == "COLUMN" { index += 1 }
                index = skip(words, index, ["IF", "NOT", "EXISTS"])
                guard index < words.count, words[index].isName else { return nil }
                let column = words[index].text
                return ([Change(object: "column \(table).\(column)", present: true)], "DROP COLUMN \(q(column))")
            }
        case "DROP":
            var index = 1
            let second = index < words.count ? words[index].keyword : ""
            switch second {
            case "PRIMARY": return ([Change(object: "index \(table).PRIMARY", present: false)], nil)
            case "INDEX", "KEY":
                index = skip(words, index + 1, ["IF", "EXISTS"])
                guard let name = indexName(index) else { return nil }
                return ([Change(object: "index \(table).\(name)", present: false)], nil)
            case "FOREIGN":
                index = skip(words, index + 2, ["IF", "EXISTS"])
                guard let name = indexName(index) else { return nil }
                return ([Change(object: "constraint \(table).\(name)", present: false)], nil)
            case "CONSTRAINT", "CHECK":
                return nil
            default:
                if second == "COLUMN" { index += 1 }
                index = skip(words, index, ["IF", "EXISTS"])
                guard index < words.count, words[index].isName else { return nil }
                return ([Change(object: "column \(table).\(words[index].text)", present: false)], nil)
            }
        case "RENAME":
            guard words.count >= 2 else { return nil }
            let second = words[1].keyword
            if second == "COLUMN", words.count >= 5, words[3].keyword == "TO" {
                let (from, to) = (words[2].text, words[4].text)
                return (
                    [
                        Change(object: "column \(table).\(from)", present: false),
                        Change(object: "column \(table).\(to)", present: true),
                    ],
                    "RENAME COLUMN \(q(to)) TO \(q(from))"
                )
            }
            if second == "INDEX" || second == "KEY", words.count >= 5, words[3].keyword == "TO" {
                let (from, to) = (words[2].text, words[4].text)
                return (
                    [
                        Change(object: "index \(table).\(from)", present: false),
                        Change(object: "index \(table).\(to)", present: true),
                    ],
                    "RENAME INDEX \(q(to)) TO \(q(from))"
                )
            }
            let at = (second == "TO" || second == "AS") ? 2 : 1
            guard let (to, _) = name(words, at) else { return nil }
            return (
                [Change(object: "table \(table)", present: false), Change(object: "table \(to)", present: true)],
                "RENAME TO \(q(table))"
            )
        case "CHANGE":
            var index = 1
            if index < words.count, words[index].keyword == "COLUMN" { index += 1 }
            index = skip(words, index, ["IF", "EXISTS"])
            guard index + 1 < words.count, words[index].isName, words[index + 1].isName else { return nil }
            let (from, to) = (words[index].text, words[index + 1].text)
            guard from.lowercased() != to.lowercased() else { return nil } // a type change: not visible as presence
            return (
                [
                    Change(object: "column \(table).\(from)", present: false),
                    Change(object: "column \(table).\(to)", present: true),
                ], nil
            )
        default:
            return nil
        }
    }
}
