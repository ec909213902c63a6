/// Finds statements that can destroy data an undo script cannot bring back. Pure and thread-safe.
///
/// Undo scripts are not backups: `ADD COLUMN` after `DROP COLUMN` brings back the column, not
/// its values. Steps holding any of these statements get a backup first on `prod` targets.
public enum DataLossClassifier {
    /// One destructive statement found in a script.
    public struct Finding: Sendable, Hashable, Codable, CustomStringConvertible {
        /// What it is, e.g. "DROP COLUMN", "TRUNCATE", "DELETE without WHERE".
        public var kind: String
        /// 1-based line of the statement in the script.
        public var line: Int

        public var description: String { "\(kind) at line \(line)" }
    }

    /// Every destructive statement of `sql`, in order.
    public static func findings(in sql: String) -> [Finding] {
        SQLScanner.statements(in: sql, keywordLimit: 64).compactMap { statement in
            classify(statement.keywords).map { Finding(kind: $0, line: statement.line) }
        }
    }

    /// The kind of data loss a statement causes, judged by its leading keywords.
    static func classify(_ words: [String]) -> String? {
        guard let first = words.first else { return nil }
        func has(_ sequence: [String]) -> Bool {
            guard sequence.count <= words.count else { return false }
            for start in 0...(words.count - sequence.count) where Array(words[start..<(start + sequence.count)]) == sequence {
                return true
            }
            return false
        }
        switch first {
        case "DROP":
            let object = words.dropFirst().first { $0 != "IF" && $0 != "EXISTS" && $0 != "MATERIALIZED" && $0 != "FOREIGN" } ?? ""
            switch object {
            case "TABLE", "SCHEMA", "DATABASE", "VIEW", "TYPE", "DOMAIN", "SEQUENCE", "OWNED":
                if object == "VIEW" && !words.contains("MATERIALIZED") { return nil }
                if words.contains("MATERIALIZED") { return "DROP MATERIALIZED VIEW" }
                return "DROP \(object)"
            default:
                return nil
            }
        case "TRUNCATE":
            return "TRUNCATE"
        case "DELETE":
            return words.contains("WHERE") ? nil : "DELETE without WHERE"
        case "UPDATE":
            return words.contains("WHERE") ? nil : "UPDATE without WHERE"
        case "ALTER":
            if has(["DROP", "COLUMN"]) { return "DROP COLUMN" }
            if words.count > 1 && words[1] == "TABLE" && has(["DROP"]) && !has(["DROP", "CONSTRAINT"])
                && !has(["DROP", "DEFAULT"]) && !has(["DROP", "NOT"]) && !has(["DROP", "EXPRESSION"])
                && !has(["DROP", "IDENTITY"])
            {
                // ALTER TABLE t DROP c (COLUMN is optional in PostgreSQL)
                return "DROP COLUMN"
            }
            if has(["TYPE"]) && (has(["ALTER", "COLUMN"]) || words.count > 1 && words[1] == "TABLE") && !has(["ADD", "COLUMN"]) {
                return "ALTER COLUMN TYPE"
            }
            return nil
        default:
            return nil
        }
    }
}
