import Foundation
import TidemarkCore

/// Finds PostgreSQL statements that hold a lock long enough to stop traffic on a big table
/// (the rules of `LockRule`). Pure and thread-safe.
///
/// Token-based like `DataLossClassifier`: keywords count by their position, so a column called
/// `type` or `index` is a name. Statements on a relation the same script created earlier
/// (`CREATE TABLE`, `CREATE INDEX`, `CREATE MATERIALIZED VIEW`) are not findings: the relation
/// is new and empty when the script runs in one transaction, so no other session waits on it.
/// Function bodies and `DO` blocks are not looked into.
package enum LockRiskClassifier {
    /// Every lock-risky statement of `sql`, in order (a statement may break several rules).
    package static func findings(in sql: String) -> [LockRiskFinding] {
        var created = Set<String>()
        var result: [LockRiskFinding] = []
        for statement in SQLScanner.statements(in: sql, keywordLimit: 1) {
            let tokens = statement.tokens
            if let name = createdRelation(tokens) { created.insert(baseName(name)) }
            for (rule, relations) in classify(tokens) {
                if let changed = relations.first, created.contains(baseName(changed)) { continue }
                let finding = LockRiskFinding(
                    rule: rule, line: statement.line, endLine: tokens.last?.line ?? statement.line, relations: relations
                )
                if !result.contains(finding) { result.append(finding) }
            }
        }
        return result
    }

    // MARK: - Statements

    private typealias Rules = [(LockRule, [String])]

    private static func classify(_ tokens: [SQLToken]) -> Rules {
        let words = tokens.filter { $0.depth == 0 }
        guard let first = words.first?.keyword else { return [] }
        switch first {
        case "CREATE": return createIndex(words)
        case "DROP": return dropIndex(words)
        case "REINDEX": return reindex(words)
        case "ALTER": return alterTable(tokens)
        case "VACUUM": return vacuum(tokens)
        case "UPDATE", "DELETE": return dataChange(tokens)
        case "CLUSTER":
            let names = words.dropFirst().filter { $0.keyword != "VERBOSE" }
            return [(.rewritingTable, readName(Array(names), at: 0).map { [$0.name] } ?? [])]
        case "REFRESH":
            guard words.count > 3, words[1].keyword == "MATERIALIZED", words[2].keyword == "VIEW",
                words[3].keyword != "CONCURRENTLY"
            else { return [] }
            return [(.requireConcurrentRefresh, readName(words, at: 3).map { [$0.name] } ?? [])]
        default: return []
        }
    }

    /// The relation a `CREATE TABLE|INDEX|MATERIALIZED VIEW` statement makes, or nil.
    private static func createdRelation(_ tokens: [SQLToken]) -> String? {
        let words = tokens.filter { $0.depth == 0 }
        guard words.first?.keyword == "CREATE" else { return nil }
        var index = 1
        let modifiers: Set<String> = [
            "OR", "REPLACE", "GLOBAL", "LOCAL", "TEMP", "TEMPORARY", "UNLOGGED", "UNIQUE", "MATERIALIZED",
        ]
        while index < words.count, let keyword = words[index].keyword, modifiers.contains(keyword) { index += 1 }
        guard index < words.count, let object = words[index].keyword, ["TABLE", "INDEX", "VIEW"].contains(object) else {
            return nil
        }
        index += 1
        if index < words.count, words[index].keyword == "CONCURRENTLY" { index += 1 }
        index = skipIfNotExists(words, at: index)
        guard index < words.count, words[index].keyword != "ON" else { return nil }
        return readName(words, at: index)?.name
    }

    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] table …`
    private static func createIndex(_ words: [SQLToken]) -> Rules {
        var index = 1
        if index < words.count, words[index].keyword == "UNIQUE" { index += 1 }
        guard index < words.count, words[index].keyword == "INDEX" else { return [] }
        guard index + 1 < words.count, words[index + 1].keyword != "CONCURRENTLY" else { return [] }
        guard var on = words.firstIndex(where: { $0.keyword == "ON" }) else { return [] }
        on += 1
        if on < words.count, words[on].keyword == "ONLY" { on += 1 }
        return [(.requireConcurrentIndexCreation, readName(words, at: on).map { [$0.name] } ?? [])]
    }

    /// `DROP INDEX [CONCURRENTLY] [IF EXISTS] name [, …]`
    private static func dropIndex(_ words: [SQLToken]) -> Rules {
        guard words.count > 2, words[1].keyword == "INDEX", words[2].keyword != "CONCURRENTLY" else { return [] }
        var names: [String] = []
        var index = skipIfExists(words, at: 2)
        while let read = readName(words, at: index) {
            names.append(read.name)
            guard read.next < words.count, words[read.next].text == "," else { break }
            index = read.next + 1
        }
        return [(.requireConcurrentIndexDeletion, names)]
    }

    /// `REINDEX [(options)] INDEX|TABLE|SCHEMA|DATABASE|SYSTEM [CONCURRENTLY] name`
    private static func reindex(_ words: [SQLToken]) -> Rules {
        var index = 1
        if index < words.count, words[index].text == "(" {
            while index < words.count, words[index].text != ")" { index += 1 }
            index += 1
        }
        guard index < words.count, let object = words[index].keyword else { return [] }
        index += 1
        if index < words.count, words[index].keyword == "CONCURRENTLY" { return [] }
        let relation = ["INDEX", "TABLE"].contains(object) ? readName(words, at: index).map { [$0.name] } ?? [] : []
        return [(.requireConcurrentReindex, relation)]
    }

    /// `VACUUM FULL name`, `VACUUM (FULL, …) name`
    /// `UPDATE [ONLY] table … [WHERE …]`, `DELETE FROM [ONLY] table … [WHERE …]`: flagged unless
    /// the WHERE is a key lookup, equalities joined by AND (`id = 42`, `tenant = $1 AND id = 7`).
    /// Whether the compared column is a primary or unique key is not known from the text: an
    /// equality is taken as one, since a change of a few rows is what such a WHERE says.
    private static func dataChange(_ tokens: [SQLToken]) -> Rules {
        let words = tokens.filter { $0.depth == 0 }
        var index = 1
        if words.first?.keyword == "DELETE" {
            guard index < words.count, words[index].keyword == "FROM" else { return [] }
            index += 1
        }
        if index < words.count, words[index].keyword == "ONLY" { index += 1 }
        guard let table = readName(words, at: index) else { return [] }
        guard let whereIndex = words.firstIndex(where: { $0.keyword == "WHERE" }) else {
            return [(.unbatchedDataChange, [table.name])]
        }
        // The condition runs to RETURNING or the end of the statement.
        let condition = words[(whereIndex + 1)...].prefix { $0.keyword != "RETURNING" && $0.text != ";" }
        return isKeyLookup(Array(condition)) ? [] : [(.unbatchedDataChange, [table.name])]
    }

    /// `a = v [AND b = w …]` at the top level, each side one token (a name, a literal or a
    /// parameter), with optional `table.` qualification on the name.
    private static func isKeyLookup(_ condition: [SQLToken]) -> Bool {
        let conjuncts = condition.split { $0.keyword == "AND" }
        guard !conjuncts.isEmpty, conjuncts.count == condition.filter({ $0.keyword == "AND" }).count + 1 else {
            return false
        }
        return conjuncts.allSatisfy { part in
            let part = Array(part)
            guard let equals = part.firstIndex(where: { $0.text == "=" }), equals > 0, equals < part.count - 1 else {
                return false
            }
            let left = part[..<equals]
            let right = part[(equals + 1)...]
            let name = left.count == 1 || (left.count == 3 && left[left.startIndex + 1].text == ".")
            let value =
                right.count == 1 || (right.count == 2 && right.first?.text == "$")
                || (right.count == 2 && right.first?.text == ":")
            let plain = !["OR", "IN", "LIKE", "BETWEEN"].contains { keyword in part.contains { $0.keyword == keyword } }
            return name && value && plain
        }
    }

    private static func vacuum(_ tokens: [SQLToken]) -> Rules {
        guard tokens.contains(where: { $0.keyword == "FULL" && $0.depth <= 1 }) else { return [] }
        let names = tokens.filter { $0.depth == 0 }.dropFirst().filter {
            !["FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE"].contains($0.keyword ?? "") && $0.text != "("
                && $0.text != ")"
        }
        return [(.rewritingTable, readName(Array(names), at: 0).map { [$0.name] } ?? [])]
    }

    // MARK: - ALTER TABLE

    /// `ALTER TABLE [IF EXISTS] [ONLY] name [*] action [, action]…`, each action on its own.
    private static func alterTable(_ tokens: [SQLToken]) -> Rules {
        guard tokens.count > 2, tokens[1].keyword == "TABLE" else { return [] }
        var index = skipIfExists(tokens, at: 2)
        if index < tokens.count, tokens[index].keyword == "ONLY" { index += 1 }
        guard let table = readName(tokens, at: index) else { return [] }
        index = table.next
        if index < tokens.count, tokens[index].text == "*" { index += 1 }
        guard index < tokens.count else { return [] }
        let actions = SQLScanner.commaSeparated(tokens[index...])
        return actions.flatMap { alterAction($0, table: table.name) }
    }

    private static func alterAction(_ action: [SQLToken], table: String) -> Rules {
        let words = action.filter { $0.depth == 0 }
        guard let verb = words.first?.keyword else { return [] }
        switch verb {
        case "ADD":
            guard words.count > 1 else { return [] }
            var index = 1
            if words[index].keyword == "CONSTRAINT" { index += 2 }
            guard index < words.count else { return [] }
            switch words[index].keyword {
            case "CHECK", "NOT":
                // `ADD CONSTRAINT name NOT NULL column` (PostgreSQL 18) scans like a CHECK, and takes NOT VALID too.
                return hasNotValid(words) ? [] : [(.constraintMissingNotValid, [table])]
            case "FOREIGN":
                guard !hasNotValid(words) else { return [] }
                return [(.addingForeignKeyConstraint, [table] + referenced(words))]
            case "UNIQUE":
                return hasUsingIndex(words) ? [] : [(.disallowedUniqueConstraint, [table])]
            case "PRIMARY":
                return hasUsingIndex(words) ? [] : [(.addingSerialPrimaryKeyField, [table])]
            default:
                return addColumn(action, table: table)
            }
        case "ALTER":
            var index = 1
            if index < words.count, words[index].keyword == "COLUMN" { index += 1 }
            index += 1 // the column name: a column called `type` is still a name
            guard index < words.count else { return [] }
            if words[index].keyword == "TYPE" { return [(.changingColumnType, [table])] }
            if index + 2 < words.count, words[index].keyword == "SET" {
                if words[index + 1].keyword == "DATA", words[index + 2].keyword == "TYPE" {
                    return [(.changingColumnType, [table])]
                }
                if words[index + 1].keyword == "NOT", words[index + 2].keyword == "NULL" {
                    return [(.addingNotNullableField, [table])]
                }
            }
            return []
        case "RENAME":
            guard words.count > 1 else { return [] }
            switch words[1].keyword {
            case "TO": return [(.renamingTable, [table])]
            case "CONSTRAINT": return []
            default: return [(.renamingColumn, [table])]
            }
        case "SET":
            guard words.count > 1, let what = words[1].keyword, ["LOGGED", "UNLOGGED", "TABLESPACE"].contains(what)
            else { return [] }
            return [(.rewritingTable, [table])]
        default:
            return []
        }
    }

    /// `ADD [COLUMN] [IF NOT EXISTS] name type [constraints]`.
    private static func addColumn(_ action: [SQLToken], table: String) -> Rules {
        var index = 1
        if index < action.count, action[index].keyword == "COLUMN" { index += 1 }
        index = skipIfNotExists(action, at: index)
        index += 1 // the column name
        guard index < action.count else { return [] }
        let rest = Array(action[index...])
        let words = rest.filter { $0.depth == 0 }
        let keywords = words.map { $0.keyword ?? "" }
        var rules: Rules = []
        if keywords.contains("REFERENCES") { rules.append((.addingForeignKeyConstraint, [table] + referenced(words))) }
        if keywords.contains("PRIMARY") {
            rules.append((.addingSerialPrimaryKeyField, [table]))
        } else if keywords.contains("UNIQUE") {
            rules.append((.disallowedUniqueConstraint, [table]))
        }
        let type = keywords.first ?? ""
        let serial = ["SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL4", "SERIAL8", "SERIAL2"].contains(type)
        let generated = keywords.contains("GENERATED")
        let defaultExpression = expression(after: "DEFAULT", in: rest)
        if serial || generated || defaultExpression.map(isVolatile) == true {
            rules.append((.addingFieldWithDefault, [table]))
        }
        if let notNull = keywords.firstIndex(of: "NOT"), notNull + 1 < keywords.count, keywords[notNull + 1] == "NULL",
            defaultExpression == nil, !serial, !generated
        {
            rules.append((.addingRequiredField, [table]))
        }
        return rules
    }

    /// The tokens of a column's `DEFAULT` expression, up to the next column constraint.
    private static func expression(after keyword: String, in tokens: [SQLToken]) -> [SQLToken]? {
        guard let start = tokens.firstIndex(where: { $0.depth == 0 && $0.keyword == keyword }) else { return nil }
        let stops: Set<String> = [
            "NOT", "NULL", "CONSTRAINT", "CHECK", "REFERENCES", "UNIQUE", "PRIMARY", "GENERATED", "COLLATE",
        ]
        var result: [SQLToken] = []
        for token in tokens[(start + 1)...] {
            if token.depth == 0, let word = token.keyword, stops.contains(word) { break }
            result.append(token)
        }
        return result
    }

    /// Functions a default may call without a rewrite: PostgreSQL 11+ evaluates a non-volatile
    /// default once and stores it in the catalog. Anything else is assumed volatile (as squawk does).
    private static let nonVolatileFunctions: Set<String> = [
        "NOW", "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "LOCALTIME", "LOCALTIMESTAMP",
        "TRANSACTION_TIMESTAMP",
        "STATEMENT_TIMESTAMP", "CURRENT_USER", "SESSION_USER", "CURRENT_SCHEMA", "CAST", "ARRAY", "ROW",
        "JSONB_BUILD_OBJECT", "JSON_BUILD_OBJECT", "TO_JSONB", "MAKE_INTERVAL", "COALESCE",
    ]

    /// Whether a default expression calls a function not known to be non-volatile.
    private static func isVolatile(_ expression: [SQLToken]) -> Bool {
        for (index, token) in expression.enumerated() where token.kind == .word {
            guard index + 1 < expression.count, expression[index + 1].text == "(", let name = token.keyword else {
                continue
            }
            // `'x'::varchar(20)`, `CAST(x AS numeric(10, 2))`: a type modifier, not a call.
            if index > 0, expression[index - 1].text == ":" || expression[index - 1].keyword == "AS" { continue }
            if !nonVolatileFunctions.contains(name) { return true }
        }
        return false
    }

    // MARK: - Names

    private static func hasNotValid(_ words: [SQLToken]) -> Bool {
        zip(words, words.dropFirst()).contains { $0.keyword == "NOT" && $1.keyword == "VALID" }
    }

    private static func hasUsingIndex(_ words: [SQLToken]) -> Bool {
        zip(words, words.dropFirst()).contains { $0.keyword == "USING" && $1.keyword == "INDEX" }
    }

    /// The table after `REFERENCES`, if any.
    private static func referenced(_ words: [SQLToken]) -> [String] {
        guard let at = words.firstIndex(where: { $0.keyword == "REFERENCES" }) else { return [] }
        return readName(words, at: at + 1).map { [$0.name] } ?? []
    }

    private static func skipIfExists(_ tokens: [SQLToken], at index: Int) -> Int {
        index + 1 < tokens.count && tokens[index].keyword == "IF" && tokens[index + 1].keyword == "EXISTS"
            ? index + 2 : index
    }

    private static func skipIfNotExists(_ tokens: [SQLToken], at index: Int) -> Int {
        index + 2 < tokens.count && tokens[index].keyword == "IF" && tokens[index + 1].keyword == "NOT"
            && tokens[index + 2].keyword == "EXISTS" ? index + 3 : index
    }

    /// A possibly schema-qualified name starting at `index`, as PostgreSQL stores it (unquoted
    /// words fold to lower case, quoted ones keep theirs), and the index after it.
    static func readName(_ tokens: [SQLToken], at start: Int) -> (name: String, next: Int)? {
        var parts: [String] = []
        var index = start
        while index < tokens.count {
            let token = tokens[index]
            switch token.kind {
            case .word: parts.append(token.text.lowercased())
            case .quoted where token.text.hasPrefix("\""):
                parts.append(String(token.text.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\""))
            default: return nil
            }
            index += 1
            guard index + 1 < tokens.count, tokens[index].text == "." else { break }
            index += 1
        }
        return parts.isEmpty ? nil : (parts.joined(separator: "."), index)
    }

    /// The name without its schema.
    static func baseName(_ name: String) -> String {
        name.split(separator: ".").last.map(String.init) ?? name
    }
}

extension Plan {
    /// The relations the plan's lock-risky statements change (forward and undo scripts), sorted:
    /// the tables whose size estimates `plan` reads from each target.
    package var lockRiskRelations: [String] {
        var relations = Set<String>()
        for migration in migrations {
            for script in [migration.forward] + (migration.undo.map { [$0] } ?? []) {
                for finding in LockRiskClassifier.findings(in: script.sql) {
                    if let relation = finding.relation { relations.insert(relation) }
                }
                // MySQL targets' ALTERs are weighed by their online-DDL class (docs/mysql.md#online-ddl-classes).
                if MySQLScript.mayHaveDDL(script.sql) { relations.formUnion(MySQLOnlineDDL.tables(in: script.sql)) }
            }
        }
        return relations.sorted()
    }
}
