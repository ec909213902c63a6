import TidemarkCore

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
package enum DataLossClassifier {
    /// One destructive statement found in a script.
    package struct Finding: Sendable, Hashable, Codable, CustomStringConvertible {
        /// What it is, e.g. "DROP COLUMN", "TRUNCATE", "DELETE without WHERE".
        package var kind: String
        /// 1-based line of the statement in the script.
        package var line: Int

        package var description: String { "\(kind) at line \(line)" }
    }

    /// Every destructive statement of `sql`, in order (one finding per statement).
    package static func findings(in sql: String) -> [Finding] {
        SQLScanner.statements(in: sql, keywordLimit: 1).compactMap { statement in
            classify(tokens: statement.tokens).map { Finding(kind: $0, line: statement.line) }
        }
    }

    /// The kind of data loss one statement causes, or nil.
    package static func classify(_ statement: String) -> String? {
        classify(tokens: SQLScanner.statements(in: statement).first?.tokens ?? [])
    }

    /// The kind of data loss of one statement's tokens (from `SQLScanner`), or nil.
    static func classify(tokens statementTokens: [SQLToken]) -> String? {
        var tokens = statementTokens
        // WITH x AS (DELETE …) …: a data-modifying common table expression loses data like the
        // statement would; then judge the statement after the common table expressions.
        if tokens.first?.keyword == "WITH" {
            guard
                let main = tokens.indices.first(where: { index in
                    tokens[index].depth == 0
                        && ["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"].contains(tokens[index].keyword)
                })
            else { return nil }
            for body in commonTableExpressions(tokens[..<main]) {
                if let found = classify(tokens: body) { return found }
            }
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

    /// The bodies of `name AS (…)`, each with its depth taken down to the statement's level.
    private static func commonTableExpressions(_ tokens: ArraySlice<SQLToken>) -> [[SQLToken]] {
        var bodies: [[SQLToken]] = []
        var current: [SQLToken]?
        for token in tokens {
            if token.depth == 0 {
                if let body = current { bodies.append(body) }
                current = token.kind == .punctuation && token.text == "(" ? [] : nil
            } else if current != nil {
                var inner = token
                inner.depth -= 1
                current?.append(inner)
            }
        }
        if let body = current { bodies.append(body) }
        return bodies
    }

    private static func classifyDrop(_ tokens: [SQLToken]) -> String? {
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
    private static func classifyAlter(_ tokens: [SQLToken]) -> String? {
        guard tokens.count > 2, tokens[1].keyword == "TABLE" || (tokens[1].keyword == "FOREIGN" && tokens.count > 3)
        else { return nil }
        var index = tokens[1].keyword == "FOREIGN" ? 3 : 2
        if index + 1 < tokens.count, tokens[index].keyword == "IF", tokens[index + 1].keyword == "EXISTS" { index += 2 }
        if index < tokens.count, tokens[index].keyword == "ONLY" { index += 1 }
        index += 1 // the table name, maybe schema-qualified
        while index + 1 < tokens.count && tokens[index].text == "." { index += 2 }
        guard index < tokens.count else { return nil }
        let actions = SQLScanner.commaSeparated(tokens[index...])
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
                position += 1 // the column name
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
