import CSQLite
import TidemarkCore

extension SQLiteConnection {
    /// The database's structure from `sqlite_schema` and the table pragmas.
    ///
    /// Tables are described column by column (`pragma_table_xinfo`: declared type, NOT NULL,
    /// default, primary-key position), foreign keys and UNIQUE/PRIMARY KEY indexes from their
    /// pragmas, never from the `CREATE TABLE` text, which differs between a table created whole
    /// and one grown by `ALTER TABLE ADD COLUMN`. Explicit indexes, views and triggers keep their
    /// definition text, whitespace collapsed. CHECK constraints are only in the `CREATE TABLE`
    /// text, so SQLite fingerprints cannot see them.
    package func fingerprint() throws(BackendError) -> SchemaFingerprint {
        let db = try handleForFingerprint()
        do {
            var builder = SchemaFingerprintBuilder()
            let objects = try Self.query(
                """
                SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema
                WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> 'tidemark_history'
                ORDER BY type, name
                """, on: db
            ) { row throws(SQLiteFailure) in
                (type: row.text(0), name: row.text(1), table: row.text(2), sql: row.text(3))
            }
            for object in objects {
                switch object.type {
                case "table":
                    try describeTable(object.name, on: db, into: &builder)
                case "index":
                    builder.add("index", "\(object.table).\(object.name)", object.sql)
                case "view", "trigger":
                    builder.add(object.type, object.name, object.sql)
                default:
                    builder.add(object.type, object.name, object.sql)
                }
            }
            return builder.fingerprint
        } catch {
            throw .queryFailed(
                target: target.name, message: "cannot read the schema fingerprint: \(error.message)", sqlState: nil)
        }
    }

    private func describeTable(_ table: String, on db: OpaquePointer, into builder: inout SchemaFingerprintBuilder)
        throws(SQLiteFailure)
    {
        let columns = try Self.query(
            "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid",
            [.text(table)], on: db
        ) {
            row throws(SQLiteFailure) -> (name: String, definition: String) in
            var definition = row.text(1).lowercased()
            if row.integer(2) != 0 { definition += " not null" }
            if let value = row.optionalText(3) { definition += " default \(value)" }
            if row.integer(4) > 0 { definition += " primary-key-part \(row.integer(4))" }
            if row.integer(5) >= 2 { definition += " generated" }
            return (row.text(0), definition)
        }
        builder.table(table, columns: columns)

        let foreignKeys = try Self.query(
            "SELECT id, \"table\", \"from\", coalesce(\"to\", ''), on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
            [.text(table)], on: db
        ) { row throws(SQLiteFailure) in
            (
                id: row.integer(0), parent: row.text(1), from: row.text(2), to: row.text(3), update: row.text(4),
                delete: row.text(5)
            )
        }
        for id in Set(foreignKeys.map(\.id)).sorted() {
            let parts = foreignKeys.filter { $0.id == id }
            guard let first = parts.first else { continue }
            builder.add(
                "constraint", "\(table).foreign-key(\(parts.map(\.from).joined(separator: ", ")))",
                "FOREIGN KEY (\(parts.map(\.from).joined(separator: ", "))) REFERENCES \(first.parent)(\(parts.map(\.to).joined(separator: ", "))) ON UPDATE \(first.update) ON DELETE \(first.delete)"
            )
        }

        // Indexes SQLite made for UNIQUE and PRIMARY KEY constraints have generated names
        // (sqlite_autoindex_t_1) that depend on declaration order: describe them by columns.
        let constraintIndexes = try Self.query(
            "SELECT name, origin FROM pragma_index_list(?1) WHERE origin IN ('u', 'pk') ORDER BY name", [.text(table)],
            on: db
        ) { row throws(SQLiteFailure) in (name: row.text(0), origin: row.text(1)) }
        for index in constraintIndexes {
            let columns = try Self.query(
                "SELECT coalesce(name, '<expression>') FROM pragma_index_info(?1) ORDER BY seqno", [.text(index.name)],
                on: db
            ) {
                row throws(SQLiteFailure) in row.text(0)
            }
            let kind = index.origin == "pk" ? "PRIMARY KEY" : "UNIQUE"
            builder.add(
                "constraint", "\(table).\(kind.lowercased())(\(columns.joined(separator: ", ")))",
                "\(kind) (\(columns.joined(separator: ", ")))")
        }
    }

    private func handleForFingerprint() throws(BackendError) -> OpaquePointer {
        guard let handle else { throw .closed(target: target.name) }
        return handle
    }
}
