import Foundation
import TidemarkCore

/// The online-DDL class of each `ALTER TABLE` for a server flavour and version, by MySQL 8.0's
/// "Online DDL Operations" tables and MariaDB's "InnoDB Online DDL Operations with the INSTANT,
/// NOCOPY and INPLACE Alter Algorithms" pages (docs/mysql.md#online-ddl-classes). Pure; thread-safe.
package enum MySQLOnlineDDL {
    /// The findings of `script`'s `ALTER TABLE`, `CREATE INDEX` and `DROP INDEX` statements.
    package static func findings(in script: String, server: DatabaseServer) -> [OnlineDDLFinding] {
        guard let statements = try? MySQLScript.statements(in: script) else { return [] }
        return statements.compactMap { statement in
            let lines = statement.text.reduce(0) { $0 + ($1 == "\n" ? 1 : 0) }
            guard var finding = classify(statement.text, server: server) else { return nil }
            finding.line = statement.line
            finding.endLine = statement.line + lines
            return finding
        }
    }

    /// The tables `script`'s classified statements change (for their row estimates).
    package static func tables(in script: String) -> [String] {
        findings(in: script, server: DatabaseServer(product: .mysql, version: "8.0")).map(\.table)
    }

    /// One statement's class, or nil when it is not an `ALTER TABLE`/index statement.
    package static func classify(_ statement: String, server: DatabaseServer) -> OnlineDDLFinding? {
        let tokens = MySQLToken.tokens(of: statement)
        guard let first = tokens.first?.keyword else { return nil }
        let words = tokens.map(\.keyword)
        var clauses: [(String, OnlineDDLClass, Bool, String?)] = []
        var table = ""
        if first == "CREATE" || first == "DROP" {
            guard let indexAt = words.prefix(4).firstIndex(of: "INDEX"), let on = words.firstIndex(of: "ON"),
                on + 1 < tokens.count
            else { return nil }
            table = name(tokens, on + 1)
            let kind =
                words[..<indexAt].contains("FULLTEXT")
                ? "FULLTEXT" : words[..<indexAt].contains("SPATIAL") ? "SPATIAL" : ""
            clauses.append(
                first == "CREATE"
                    ? addIndex(kind, server)
                    : ("DROP INDEX", server.product == .mariadb ? .inplace : .inplace, true, nil))
        } else if first == "ALTER" {
            var index = 1
            if index < words.count, words[index] == "ONLINE" || words[index] == "IGNORE" { index += 1 }
            guard index < words.count, words[index] == "TABLE" else { return nil }
            index += 1
            if index + 1 < words.count, words[index] == "IF", words[index + 1] == "EXISTS" { index += 2 }
            guard index < tokens.count else { return nil }
            table = name(tokens, index)
            index +=
                (index + 2 < tokens.count && tokens[index + 1].text == "." && tokens[index + 1].kind == .symbol) ? 3 : 1
            for clause in MySQLToken.clauses(tokens[index...]) {
                let clauseWords = clause.map(\.keyword)
                if ["ALGORITHM", "LOCK"].contains(clauseWords.first) {
                    // ALGORITHM=INSTANT: the server refuses anything costlier, so nothing slow can happen by surprise.
                    if clauseWords.first == "ALGORITHM", clause.dropFirst().contains(where: { $0.keyword == "INSTANT" })
                    {
                        return nil
                    }
                    continue
                }
                clauses.append(classifyClause(Array(clause), server: server))
            }
        } else {
            return nil
        }
        guard !clauses.isEmpty else { return nil }
        let worst = clauses.map(\.1).max() ?? .instant
        let concurrent = clauses.allSatisfy(\.2)
        let caveats = clauses.compactMap(\.3)
        return OnlineDDLFinding(
            line: 1, endLine: 1, table: table, operations: clauses.map(\.0), onlineClass: worst,
            concurrentDML: concurrent,
            safeForm: safeForm(worst, concurrent: concurrent, server: server),
            caveat: caveats.isEmpty ? nil : caveats.joined(separator: "; "))
    }

    // MARK: - Clauses

    private static func name(_ tokens: [MySQLToken], _ index: Int) -> String {
        if index + 2 < tokens.count, tokens[index + 1].text == ".", tokens[index + 1].kind == .symbol {
            return tokens[index + 2].text
        }
        return tokens[index].text
    }

    private static func safeForm(_ onlineClass: OnlineDDLClass, concurrent: Bool, server: DatabaseServer) -> String {
        switch onlineClass {
        case .instant: return "ALGORITHM=INSTANT"
        case .inplace: return "ALGORITHM=\(onlineClass.algorithm(on: server)), LOCK=\(concurrent ? "NONE" : "SHARED")"
        case .inplaceRebuild:
            return concurrent
                ? "ALGORITHM=INPLACE, LOCK=NONE (the table is still rebuilt: run it off-peak, or with pt-online-schema-change / gh-ost on a big table)"
                : "ALGORITHM=INPLACE, LOCK=SHARED blocks writes while it rebuilds: use pt-online-schema-change / gh-ost on a big table"
        case .copy:
            return
                "pt-online-schema-change or gh-ost on a big table (COPY blocks writes for the whole copy), or a maintenance window"
        }
    }

    /// Versions from which an operation is INSTANT.
    private static func instantAddColumn(_ server: DatabaseServer, positioned: Bool) -> Bool {
        switch server.product {
        case .mariadb: return server.isAtLeast([10, 4]) || (server.isAtLeast([10, 3, 2]) && !positioned)
        case .mysql: return server.isAtLeast([8, 0, 29]) || (server.isAtLeast([8, 0, 12]) && !positioned)
        default: return false
        }
    }

    private static func instantDropColumn(_ server: DatabaseServer) -> Bool {
        server.product == .mariadb ? server.isAtLeast([10, 4]) : server.isAtLeast([8, 0, 29])
    }

    private static func hasInstant(_ server: DatabaseServer) -> Bool {
        server.product == .mariadb ? server.isAtLeast([10, 3, 7]) : server.isAtLeast([8, 0, 12])
    }

    private static func addIndex(_ kind: String, _ server: DatabaseServer) -> (String, OnlineDDLClass, Bool, String?) {
        switch kind {
        case "FULLTEXT":
            return (
                "ADD FULLTEXT INDEX", .inplaceRebuild, false,
                "the first FULLTEXT index of a table rebuilds it (a hidden FTS_DOC_ID column)"
            )
        case "SPATIAL": return ("ADD SPATIAL INDEX", .inplace, false, nil)
        default: return ("ADD INDEX", .inplace, true, nil)
        }
    }

    /// One clause: its name, class, whether DML goes on, and what its class depends on.
    private static func classifyClause(_ clause: [MySQLToken], server: DatabaseServer) -> (
        String, OnlineDDLClass, Bool, String?
    ) {
        let words = clause.map(\.keyword)
        let verb = words.first ?? ""
        let second = words.dropFirst().first ?? ""
        let mariadb = server.product == .mariadb
        let metadata: OnlineDDLClass = hasInstant(server) && mariadb ? .instant : .inplace
        func word(_ index: Int) -> String { index < clause.count ? clause[index].text : "" }
        switch verb {
        case "ADD":
            switch second {
            case "INDEX", "KEY", "UNIQUE": return addIndex("", server)
            case "FULLTEXT", "SPATIAL": return addIndex(second, server)
            case "PRIMARY": return ("ADD PRIMARY KEY", .inplaceRebuild, true, nil)
            case "FOREIGN": return ("ADD FOREIGN KEY", .copy, false, "INPLACE (no copy) only with foreign_key_checks=0")
            case "CHECK": return ("ADD CHECK", .copy, false, nil)
            case "CONSTRAINT":
                if words.contains("FOREIGN") {
                    return ("ADD FOREIGN KEY", .copy, false, "INPLACE (no copy) only with foreign_key_checks=0")
                }
                if words.contains("CHECK") { return ("ADD CHECK", .copy, false, nil) }
                if words.contains("PRIMARY") { return ("ADD PRIMARY KEY", .inplaceRebuild, true, nil) }
                if words.contains("UNIQUE") { return addIndex("", server) }
                return ("ADD CONSTRAINT", .copy, false, nil)
            default:
                let column = second == "COLUMN" ? word(2) : word(1)
                let operation = "ADD COLUMN \(column)"
                if words.contains("AUTO_INCREMENT") { return (operation, .inplaceRebuild, false, nil) }
                if words.contains("STORED") || words.contains("PERSISTENT") { return (operation, .copy, false, nil) }
                if words.contains("VIRTUAL") { return (operation, hasInstant(server) ? .instant : .inplace, true, nil) }
                let positioned = words.contains("FIRST") || words.contains("AFTER")
                return (
                    operation, instantAddColumn(server, positioned: positioned) ? .instant : .inplaceRebuild, true, nil
                )
            }
        case "DROP":
            switch second {
            case "INDEX", "KEY": return ("DROP INDEX", .inplace, true, nil)
            case "PRIMARY":
                return (
                    "DROP PRIMARY KEY", .copy, false,
                    "INPLACE with rebuild when a new PRIMARY KEY is added in the same statement"
                )
            case "FOREIGN": return ("DROP FOREIGN KEY", metadata, true, nil)
            case "CONSTRAINT", "CHECK": return ("DROP CONSTRAINT", metadata, true, nil)
            default:
                let column = second == "COLUMN" ? word(2) : word(1)
                return (
                    "DROP COLUMN \(column)", instantDropColumn(server) ? .instant : .inplaceRebuild, true,
                    mariadb && instantDropColumn(server) ? "INPLACE (no rebuild) when the column is in an index" : nil
                )
            }
        case "RENAME":
            if second == "COLUMN" {
                let instant = mariadb ? hasInstant(server) : server.isAtLeast([8, 0, 28])
                return ("RENAME COLUMN \(word(2))", instant ? .instant : .inplace, true, nil)
            }
            if second == "INDEX" || second == "KEY" {
                return ("RENAME INDEX", mariadb && hasInstant(server) ? .instant : .inplace, true, nil)
            }
            return ("RENAME TABLE", hasInstant(server) ? .instant : .inplace, true, nil)
        case "ALTER":
            let column = second == "COLUMN" ? word(2) : word(1)
            if words.contains("DEFAULT") {
                return ("ALTER COLUMN \(column) DEFAULT", hasInstant(server) ? .instant : .inplace, true, nil)
            }
            return ("ALTER COLUMN \(column)", .copy, false, nil)
        case "CHANGE", "MODIFY":
            let column = second == "COLUMN" ? word(2) : word(1)
            return (
                "\(verb) \(column)", .copy, false,
                "from the text alone: INSTANT if only the name\(mariadb ? " or a VARCHAR's length" : "") changes, INPLACE with rebuild for NULL/NOT NULL, COPY for a new type"
            )
        case "ENGINE", "FORCE", "ROW_FORMAT", "KEY_BLOCK_SIZE":
            return (verb, .inplaceRebuild, true, nil)
        case "CONVERT":
            return ("CONVERT TO CHARACTER SET", .copy, false, nil)
        case "DEFAULT", "CHARACTER", "CHARSET", "COLLATE":
            return ("DEFAULT CHARACTER SET", mariadb && hasInstant(server) ? .instant : .inplaceRebuild, true, nil)
        case "AUTO_INCREMENT":
            return ("AUTO_INCREMENT", mariadb && hasInstant(server) ? .instant : .inplace, true, nil)
        case "COMMENT":
            return ("COMMENT", hasInstant(server) ? .instant : .inplace, true, nil)
        default:
            return (words.prefix(2).joined(separator: " "), .copy, false, "not in Tidemark's table: assumed COPY")
        }
    }
}
