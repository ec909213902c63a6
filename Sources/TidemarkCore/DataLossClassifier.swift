/// Finds statements that can destroy data an undo script cannot bring back. Pure and thread-safe.
///
/// Undo scripts are not backups: `ADD COLUMN` after `DROP COLUMN` brings back the column, not
/// its values. Steps holding any of these statements are data-losing: the plan output says only
/// a restore undoes them, and `apply` backs up a `prod` target first. A script's
/// `-- tidemark:data-loss-ok <reason>` acknowledges the loss as intended (shown in the plan);
/// the step stays data-losing, because the backup is still the only way back.
///
/// The classifier reads tokens, not words: identifiers that look like keywords
/// (`RENAME COLUMN type TO kind`, `ADD COLUMN drop text`) are judged by their position, and
/// `WHERE` counts only at the statement's own level, not inside a subquery.
public enum DataLossClassifier {
    /// One destructive statement found in a script.
    public struct Finding: Sendable, Hashable, Codable, CustomStringConvertible {
        /// What it is, e.g. "DROP COLUMN", "TRUNCATE", "DELETE without WHERE".
        public var kind: String
        /// 1-based line of the statement in the script.
        public var line: Int

        public var description: String { "\(kind) at line \(line)" }
    }

    /// Every destructive statement of `sql`, in order (one finding per statement).
    public static func findings(in sql: String) -> [Finding] {
        SQLScanner.statements(in: sql, keywordLimit: 1).compactMap { statement in
            classify(statement.text).map { Finding(kind: $0, line: statement.line) }
        }
    }

    /// The kind of data loss one statement causes, or nil.
    public static func classify(_ statement: String) -> String? {
        var tokens = SQLTokens(statement).tokens
        // WITH … AS (…) DELETE/UPDATE: judge the statement after the common table expressions.
        if tokens.first?.keyword == "WITH" {
            guard let main = tokens.indices.first(where: { index in
                tokens[index].depth == 0 && ["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"].contains(tokens[index].keyword)
            }) else { return nil }
            tokens = Array(tokens[main...])
        }
        guard let first = tokens.first?.keyword else { return nil }
        let topLevel = tokens.filter { $0.depth == 0 }
        switch first {
        case "DROP": return classifyDrop(topLevel)
        case "TRUNCATE": return "TRUNCATE"
        case "DELETE": return topLevel.contains { $0.keyword == "WHERE" } ? nil : "DELETE without WHERE"
        case "UPDATE": return topLevel.contains { $0.keyword == "WHERE" } ? nil : "UPDATE without WHERE"
        case "ALTER": return classifyAlter(tokens)
        default: return nil
        }
    }

    private static func classifyDrop(_ tokens: [SQLTokens.Token]) -> String? {
        var rest = tokens.dropFirst()
        var prefix = ""
        if rest.first?.keyword == "MATERIALIZED" || rest.first?.keyword == "FOREIGN" {
            prefix = (rest.first?.keyword ?? "") + " "
            rest = rest.dropFirst()
        }
        let object = rest.first?.keyword ?? ""
        let cascades = tokens.last?.keyword == "CASCADE"
        switch object {
        case "TABLE", "SCHEMA", "DATABASE", "OWNED", "SEQUENCE":
            return "DROP \(prefix)\(object)"
        case "VIEW" where prefix == "MATERIALIZED ":
            // A materialized view holds rows; rebuilding it re-runs its query, maybe on other data.
            return "DROP MATERIALIZED VIEW"
        case "TYPE", "DOMAIN", "VIEW", "FUNCTION", "EXTENSION":
            // Plain drops fail when something uses the object; CASCADE drops the columns and
            // tables that do, with their data.
            return cascades ? "DROP \(prefix)\(object) … CASCADE" : nil
        default:
            return nil
        }
    }

    /// `ALTER TABLE [IF EXISTS] [ONLY] name action, action…`: each action on its own.
    private static func classifyAlter(_ tokens: [SQLTokens.Token]) -> String? {
        guard tokens.count > 2, tokens[1].keyword == "TABLE" || (tokens[1].keyword == "FOREIGN" && tokens.count > 3) else { return nil }
        var index = tokens[1].keyword == "FOREIGN" ? 3 : 2
        if index + 1 < tokens.count, tokens[index].keyword == "IF", tokens[index + 1].keyword == "EXISTS" { index += 2 }
        if index < tokens.count, tokens[index].keyword == "ONLY" { index += 1 }
        index += 1  // the table name, maybe schema-qualified
        while index + 1 < tokens.count && tokens[index].text == "." { index += 2 }
        guard index < tokens.count else { return nil }
        var actions: [[SQLTokens.Token]] = [[]]
        for token in tokens[index...] {
            if token.depth == 0 && token.text == "," {
                actions.append([])
            } else {
                actions[actions.count - 1].append(token)
            }
        }
        for action in actions {
            let words = action.filter { $0.depth == 0 }
            guard let verb = words.first?.keyword else { continue }
            if verb == "DROP" {
                let next = words.dropFirst().first?.keyword
                if next == "CONSTRAINT" { continue }
                return "DROP COLUMN"
            }
            if verb == "ALTER" {
                // ALTER [COLUMN] name [SET DATA] TYPE …: the word after the column name decides,
                // so a column called `type` is still just a name.
                var position = 1
                if words.count > position, words[position].keyword == "COLUMN" { position += 1 }
                position += 1  // the column name
                guard words.count > position else { continue }
                if words[position].keyword == "TYPE" { return "ALTER COLUMN TYPE" }
                if words.count > position + 2, words[position].keyword == "SET", words[position + 1].keyword == "DATA",
                    words[position + 2].keyword == "TYPE"
                {
                    return "ALTER COLUMN TYPE"
                }
            }
        }
        return nil
    }
}

/// A statement as tokens: words, quoted names, literals and punctuation, each with its
/// parenthesis depth; comments dropped. Enough for the classifier, not a SQL parser. Pure.
struct SQLTokens {
    struct Token {
        /// The token as written (a quoted name or literal keeps its quotes).
        var text: String
        /// Upper-cased for bare words; nil for quoted names, literals and punctuation, so an
        /// identifier written `"type"` is never taken for the keyword.
        var keyword: String?
        var depth: Int
    }

    var tokens: [Token] = []

    init(_ sql: String) {
        let scalars = Array(sql.unicodeScalars)
        var index = 0
        var depth = 0
        func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || scalar == "$" || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
        }
        while index < scalars.count {
            let scalar = scalars[index]
            let next: Unicode.Scalar? = index + 1 < scalars.count ? scalars[index + 1] : nil
            if scalar.properties.isWhitespace {
                index += 1
            } else if scalar == "-" && next == "-" {
                while index < scalars.count && scalars[index] != "\n" { index += 1 }
            } else if scalar == "/" && next == "*" {
                index += 2
                while index + 1 < scalars.count && !(scalars[index] == "*" && scalars[index + 1] == "/") { index += 1 }
                index += 2
            } else if scalar == "'" || scalar == "\"" {
                let start = index
                index += 1
                while index < scalars.count {
                    if scalars[index] == scalar {
                        // A doubled quote is an escaped quote inside the literal or name.
                        if index + 1 < scalars.count && scalars[index + 1] == scalar {
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
                tokens.append(Token(text: String(String.UnicodeScalarView(scalars[start..<min(index, scalars.count)])), keyword: nil, depth: depth))
            } else if scalar == "$", let tagEnd = scalars[(index + 1)...].firstIndex(where: { !isWordScalar($0) || $0 == "$" }),
                scalars[tagEnd] == "$", !scalars[(index + 1)..<tagEnd].contains(where: { ("0"..."9").contains($0) })
            {
                // $tag$ … $tag$: a function body or DO block, one opaque token.
                let tag = Array(scalars[index...tagEnd])
                var search = tagEnd + 1
                var end = scalars.count
                while search + tag.count <= scalars.count {
                    if Array(scalars[search..<(search + tag.count)]) == tag {
                        end = search + tag.count
                        break
                    }
                    search += 1
                }
                tokens.append(Token(text: "$…$", keyword: nil, depth: depth))
                index = end
            } else if isWordScalar(scalar) {
                let start = index
                while index < scalars.count && isWordScalar(scalars[index]) { index += 1 }
                let word = String(String.UnicodeScalarView(scalars[start..<index]))
                tokens.append(Token(text: word, keyword: word.uppercased(), depth: depth))
            } else {
                if scalar == ")" { depth = max(0, depth - 1) }
                tokens.append(Token(text: String(scalar), keyword: nil, depth: depth))
                if scalar == "(" { depth += 1 }
                index += 1
            }
        }
    }
}
