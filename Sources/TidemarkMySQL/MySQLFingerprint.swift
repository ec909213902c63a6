import Foundation
import TidemarkCore

/// A database's structure from `information_schema`, normalised: what `rehearse` compares and
/// `status --drift` checks. Counters (`AUTO_INCREMENT` values, row counts) and comments are
/// left out; the database's own name is removed from definitions, so two databases built by the
/// same scripts fingerprint the same. Pure over one handle; not thread-safe (the handle is not).
enum MySQLFingerprint {
    static func read(database: String, server: MySQLServer, on handle: MySQLHandle) throws(MySQLFailure)
        -> SchemaFingerprint
    {
        let schema = MySQLSQL.literal(database)
        var builder = SchemaFingerprintBuilder()
        func strip(_ text: String?) -> String {
            (text ?? "").replacingOccurrences(of: MySQLSQL.quoteIdentifier(database) + ".", with: "")
        }

        let tables = try handle.query(
            """
            SELECT TABLE_NAME, TABLE_TYPE, coalesce(ENGINE, ''), coalesce(ROW_FORMAT, ''), coalesce(TABLE_COLLATION, '')
            FROM information_schema.TABLES WHERE TABLE_SCHEMA = \(schema) AND TABLE_NAME <> 'tidemark_history'
            ORDER BY TABLE_NAME
            """)
        let columns = try handle.query(
            """
            SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, coalesce(GENERATION_EXPRESSION, ''),
                coalesce(CHARACTER_SET_NAME, ''), coalesce(COLLATION_NAME, '')
            FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = \(schema) AND TABLE_NAME <> 'tidemark_history'
            ORDER BY TABLE_NAME, ORDINAL_POSITION
            """)
        var columnsByTable: [String: [(name: String, definition: String)]] = [:]
        for row in columns {
            guard let table = row[0], let name = row[1] else { continue }
            var definition = (row[2] ?? "").lowercased()
            if row[3] == "NO" { definition += " not null" }
            if let value = row[4] { definition += " default \(value)" }
            // MySQL 8 marks expression defaults DEFAULT_GENERATED; MariaDB does not: not structure.
            let extra = (row[5] ?? "").lowercased().replacingOccurrences(of: "default_generated", with: "")
                .trimmingCharacters(in: .whitespaces)
            if !extra.isEmpty { definition += " \(extra)" }
            if let expression = row[6], !expression.isEmpty { definition += " as (\(strip(expression)))" }
            if let charset = row[7], !charset.isEmpty { definition += " charset \(charset)" }
            if let collation = row[8], !collation.isEmpty { definition += " collate \(collation)" }
            columnsByTable[table, default: []].append((name, definition))
        }
        for row in tables {
            guard let name = row[0] else { continue }
            if row[1] == "VIEW" { continue }
            builder.table(name, columns: columnsByTable[name] ?? [])
            builder.add(
                "storage", name,
                "engine \(row[2] ?? "") row_format \((row[3] ?? "").lowercased()) collate \(row[4] ?? "")")
        }

        let indexes = try handle.query(
            """
            SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, coalesce(COLLATION, '')
            FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = \(schema) AND TABLE_NAME <> 'tidemark_history'
            ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
            """)
        var indexParts: [String: (unique: Bool, type: String, columns: [String])] = [:]
        var indexOrder: [String] = []
        for row in indexes {
            guard let table = row[0], let name = row[1] else { continue }
            let key = "\(table).\(name)"
            if indexParts[key] == nil {
                indexParts[key] = (row[2] == "0", row[5] ?? "", [])
                indexOrder.append(key)
            }
            var column = row[3] ?? "<expression>"
            if let prefix = row[4] { column += "(\(prefix))" }
            if row[6] == "D" { column += " desc" }
            indexParts[key]?.columns.append(column)
        }
        for key in indexOrder {
            guard let index = indexParts[key] else { continue }
            builder.add(
                "index", key,
                "\(index.unique ? "unique " : "")\(index.type.lowercased()) (\(index.columns.joined(separator: ", ")))")
        }

        let foreignKeys = try handle.query(
            """
            SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME,
                k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE
            FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r
                ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
            WHERE k.TABLE_SCHEMA = \(schema) AND k.REFERENCED_TABLE_NAME IS NOT NULL
            ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
            """)
        var keys: [String: (from: [String], parent: String, to: [String], rules: String)] = [:]
        var keyOrder: [String] = []
        for row in foreignKeys {
            guard let table = row[0], let name = row[1] else { continue }
            let key = "\(table).\(name)"
            if keys[key] == nil {
                let parentSchema = row[3] == database ? "" : (row[3] ?? "") + "."
                keys[key] = (
                    [], parentSchema + (row[4] ?? ""), [], "ON UPDATE \(row[6] ?? "") ON DELETE \(row[7] ?? "")"
                )
                keyOrder.append(key)
            }
            keys[key]?.from.append(row[2] ?? "")
            keys[key]?.to.append(row[5] ?? "")
        }
        for key in keyOrder {
            guard let fk = keys[key] else { continue }
            builder.add(
                "constraint", key,
                "FOREIGN KEY (\(fk.from.joined(separator: ", "))) REFERENCES \(fk.parent)(\(fk.to.joined(separator: ", "))) \(fk.rules)"
            )
        }

        // CHECK_CONSTRAINTS exists from MariaDB 10.2 and MySQL 8.0.16; MySQL's lacks TABLE_NAME,
        // so the table comes from TABLE_CONSTRAINTS on both. MySQL 5.7 parses CHECK and ignores it.
        if server.hasCheckConstraints {
            for row in try handle.query(
                """
                SELECT t.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS c
                JOIN information_schema.TABLE_CONSTRAINTS t ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA
                    AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND t.CONSTRAINT_TYPE = 'CHECK'
                WHERE c.CONSTRAINT_SCHEMA = \(schema) ORDER BY t.TABLE_NAME, c.CONSTRAINT_NAME
                """)
            {
                builder.add("check", "\(row[0] ?? "").\(row[1] ?? "")", strip(row[2]))
            }
        }
        for row in try handle.query(
            "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = \(schema) ORDER BY TABLE_NAME"
        ) {
            builder.add("view", row[0] ?? "", strip(row[1]))
        }
        for row in try handle.query(
            """
            SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT
            FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = \(schema) ORDER BY TRIGGER_NAME
            """)
        {
            builder.add("trigger", row[0] ?? "", "\(row[2] ?? "") \(row[3] ?? "") ON \(row[1] ?? "") \(strip(row[4]))")
        }
        for row in try handle.query(
            """
            SELECT ROUTINE_TYPE, ROUTINE_NAME, coalesce(DTD_IDENTIFIER, ''), ROUTINE_DEFINITION
            FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = \(schema) ORDER BY ROUTINE_TYPE, ROUTINE_NAME
            """)
        {
            builder.add((row[0] ?? "routine").lowercased(), row[1] ?? "", "returns \(row[2] ?? "") \(strip(row[3]))")
        }
        for row in try handle.query(
            """
            SELECT EVENT_NAME, coalesce(INTERVAL_VALUE, ''), coalesce(INTERVAL_FIELD, ''), STATUS, EVENT_DEFINITION
            FROM information_schema.EVENTS WHERE EVENT_SCHEMA = \(schema) ORDER BY EVENT_NAME
            """)
        {
            builder.add("event", row[0] ?? "", "every \(row[1] ?? "") \(row[2] ?? "") \(row[3] ?? "") \(strip(row[4]))")
        }
        return builder.fingerprint
    }
}
