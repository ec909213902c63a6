/// A PostgreSQL table-level lock mode, as the documentation names it ("Explicit Locking").
package enum TableLock: String, Sendable, Hashable, Codable, CaseIterable {
    /// Blocks everything, plain `SELECT` included.
    case accessExclusive = "ACCESS EXCLUSIVE"
    /// Blocks writes and other schema changes; reads go on.
    case shareRowExclusive = "SHARE ROW EXCLUSIVE"
    /// Blocks writes; reads go on.
    case share = "SHARE"
    /// MySQL's `LOCK=SHARED`: writes wait for the whole operation; reads go on.
    case mysqlShared = "LOCK=SHARED"
    /// MySQL's `LOCK=NONE`: reads and writes go on (a brief exclusive metadata lock at each end).
    case mysqlNone = "LOCK=NONE"
    /// What UPDATE and DELETE take: other writers of the same rows wait for the whole transaction.
    case rowExclusive = "ROW EXCLUSIVE"
}

/// How long a rule's lock is held: what makes it dangerous on a big table. Thread-safe value.
package enum LockHold: String, Sendable, Hashable, Codable {
    /// Only long enough to change the catalog; the danger is the queue behind a long query.
    case brief
    /// For a scan of every row (validating a constraint, building an index).
    case scan
    /// For a rewrite of the whole table (and its indexes).
    case rewrite

    /// Whether the time the lock is held grows with the table's rows.
    package var scalesWithRows: Bool { self != .brief }
}

/// One lock-risk rule of Tidemark's catalogue. Rule names are squawk's where the rule is the same
/// (https://squawkhq.com/docs/rules); the rest are Tidemark's own. Thread-safe value.
package enum LockRule: String, Sendable, Hashable, Codable, CaseIterable {
    case requireConcurrentIndexCreation = "require-concurrent-index-creation"
    case requireConcurrentIndexDeletion = "require-concurrent-index-deletion"
    case requireConcurrentReindex = "require-concurrent-reindex"
    case constraintMissingNotValid = "constraint-missing-not-valid"
    case addingForeignKeyConstraint = "adding-foreign-key-constraint"
    case changingColumnType = "changing-column-type"
    case addingNotNullableField = "adding-not-nullable-field"
    case addingRequiredField = "adding-required-field"
    case addingFieldWithDefault = "adding-field-with-default"
    case disallowedUniqueConstraint = "disallowed-unique-constraint"
    case addingSerialPrimaryKeyField = "adding-serial-primary-key-field"
    case renamingColumn = "renaming-column"
    case renamingTable = "renaming-table"
    /// Tidemark's own: `VACUUM FULL`, `CLUSTER`, `SET LOGGED|UNLOGGED`, `SET TABLESPACE` (squawk has none).
    case rewritingTable = "rewriting-table"
    /// Tidemark's own: `REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` (squawk has none).
    case requireConcurrentRefresh = "require-concurrent-refresh"
    /// MySQL/MariaDB: an ALTER the server can only run as a COPY of the table (docs/mysql.md#online-ddl-classes).
    case mysqlCopy = "mysql-copy"
    /// MySQL/MariaDB: an ALTER run in place but rebuilding the table.
    case mysqlInplaceRebuild = "mysql-inplace-rebuild"
    /// Tidemark's own: an `UPDATE` or `DELETE` that is not batched and not a key lookup
    /// (docs/backfills.md#the-unbatched-data-change-rule).
    case unbatchedDataChange = "unbatched-data-change"

    /// Whether squawk has a rule of this name that flags the same statements.
    package var isSquawkRule: Bool {
        ![.rewritingTable, .requireConcurrentRefresh, .mysqlCopy, .mysqlInplaceRebuild, .unbatchedDataChange].contains(
            self)
    }

    /// Whether the rule is one of MySQL's online-DDL classes (PostgreSQL's rules are the rest).
    package var isMySQLRule: Bool { self == .mysqlCopy || self == .mysqlInplaceRebuild }

    /// The lock the statement takes on the table it changes.
    package var lock: TableLock {
        switch self {
        case .requireConcurrentIndexCreation, .requireConcurrentReindex: return .share
        case .addingForeignKeyConstraint: return .shareRowExclusive
        case .mysqlCopy: return .mysqlShared
        case .mysqlInplaceRebuild: return .mysqlNone
        case .unbatchedDataChange: return .rowExclusive
        default: return .accessExclusive
        }
    }

    /// How long the lock is held.
    package var hold: LockHold {
        switch self {
        case .changingColumnType, .addingFieldWithDefault, .rewritingTable, .mysqlCopy, .mysqlInplaceRebuild:
            return .rewrite
        case .requireConcurrentIndexCreation, .requireConcurrentReindex, .constraintMissingNotValid,
            .addingForeignKeyConstraint,
            .addingNotNullableField, .disallowedUniqueConstraint, .addingSerialPrimaryKeyField,
            .requireConcurrentRefresh,
            .unbatchedDataChange:
            return .scan
        case .requireConcurrentIndexDeletion, .renamingColumn, .renamingTable, .addingRequiredField: return .brief
        }
    }

    /// Whether the statement rewrites the table.
    package var rewrites: Bool { hold == .rewrite }

    /// What goes wrong, in one phrase.
    package var problem: String {
        switch self {
        case .requireConcurrentIndexCreation:
            return "CREATE INDEX without CONCURRENTLY blocks writes while the index is built"
        case .requireConcurrentIndexDeletion:
            return "DROP INDEX without CONCURRENTLY blocks reads and writes of the table"
        case .requireConcurrentReindex:
            return "REINDEX without CONCURRENTLY blocks writes (and reads using the index) while it rebuilds"
        case .constraintMissingNotValid: return "a new CHECK constraint is validated against every row under the lock"
        case .addingForeignKeyConstraint:
            return "a new foreign key is validated against every row, blocking writes to both tables"
        case .changingColumnType: return "changing a column's type rewrites the table and its indexes"
        case .addingNotNullableField: return "SET NOT NULL scans every row under the lock"
        case .addingRequiredField: return "a NOT NULL column without a default fails on a table that has rows"
        case .addingFieldWithDefault: return "a volatile default (or a stored generated column) rewrites the table"
        case .disallowedUniqueConstraint: return "a UNIQUE constraint builds its index under the lock"
        case .addingSerialPrimaryKeyField: return "a PRIMARY KEY builds its index under the lock"
        case .renamingColumn: return "renaming a column breaks clients still using the old name"
        case .renamingTable: return "renaming a table breaks clients still using the old name"
        case .rewritingTable: return "the statement rewrites the whole table"
        case .requireConcurrentRefresh: return "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view"
        case .mysqlCopy:
            return "the server can only run this ALTER as a COPY of the table, blocking writes until it is done"
        case .mysqlInplaceRebuild: return "the server runs this ALTER in place but rebuilds the table and its indexes"
        case .unbatchedDataChange:
            return "one UPDATE or DELETE over the table holds its row locks and one transaction until every row is done"
        }
    }

    /// The safe alternative.
    package var fix: String {
        switch self {
        case .requireConcurrentIndexCreation:
            return "CREATE INDEX CONCURRENTLY, in its own script marked -- tidemark:no-transaction"
        case .requireConcurrentIndexDeletion:
            return "DROP INDEX CONCURRENTLY, in its own script marked -- tidemark:no-transaction"
        case .requireConcurrentReindex:
            return "REINDEX … CONCURRENTLY, in its own script marked -- tidemark:no-transaction"
        case .constraintMissingNotValid:
            return
                "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later version (it takes only SHARE UPDATE EXCLUSIVE)"
        case .addingForeignKeyConstraint:
            return "ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT in a later version"
        case .changingColumnType:
            return "add a new column, backfill it in batches, switch readers, drop the old one"
        case .addingNotNullableField:
            return
                "ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+ skips the scan)"
        case .addingRequiredField:
            return "add the column nullable (or with a constant default), backfill, then make it NOT NULL"
        case .addingFieldWithDefault:
            return "add the column without the default, set the default, backfill in batches"
        case .disallowedUniqueConstraint:
            return "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX"
        case .addingSerialPrimaryKeyField:
            return "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … PRIMARY KEY USING INDEX"
        case .renamingColumn:
            return "add the new column, write both, move readers, then drop the old one"
        case .renamingTable:
            return "create a view with the old name while clients move, or rename in a maintenance window"
        case .rewritingTable:
            return "run it in a maintenance window, or use pg_repack"
        case .requireConcurrentRefresh:
            return "REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)"
        case .mysqlCopy:
            return "pt-online-schema-change or gh-ost on a big table, or a maintenance window"
        case .mysqlInplaceRebuild:
            return "ALGORITHM=INPLACE, LOCK=NONE off-peak, or pt-online-schema-change / gh-ost on a big table"
        case .unbatchedDataChange:
            return
                "batch it: -- tidemark:batch table=<table> key=<unique integer key> size=5000, with WHERE key >= :batch_start AND key < :batch_end"
        }
    }
}

/// One lock-risky statement in a script. Thread-safe value.
package struct LockRiskFinding: Sendable, Hashable, Codable {
    package var rule: LockRule
    /// 1-based lines where the statement starts and ends in the script.
    package var line: Int
    package var endLine: Int
    /// The relations whose size decides the risk, as written (maybe `schema.name`), the changed one
    /// first: a table, or for `DROP INDEX`/`REINDEX INDEX` the index.
    package var relations: [String]

    package init(rule: LockRule, line: Int, endLine: Int? = nil, relations: [String]) {
        self.rule = rule
        self.line = line
        self.endLine = endLine ?? line
        self.relations = relations
    }

    /// The relation the statement changes.
    package var relation: String? { relations.first }
}
