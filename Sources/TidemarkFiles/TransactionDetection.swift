import TidemarkCore
import TidemarkSQLCheck

/// Finds statements that stop a script from running inside Tidemark's own transaction.
/// Pure and thread-safe.
///
/// Only top-level statements count (as split by `SQLScanner`): a `BEGIN … END` inside a
/// dollar-quoted PL/pgSQL body or a `BEGIN ATOMIC` function body is part of one statement.
enum TransactionDetection {
    /// Why the script must run as written, or nil when it can run inside a transaction.
    /// The first such statement in the script decides.
    static func reason(for sql: String) -> NoTransactionReason? {
        reason(for: SQLScanner.statements(in: sql, keywordLimit: 16))
    }

    /// The same for statements already scanned (with at least 16 keywords each).
    static func reason(for statements: [SQLScanner.Statement]) -> NoTransactionReason? {
        for statement in statements {
            let words = statement.keywords
            if let label = transactionControl(words) {
                return .managesOwnTransaction(statement: "\(label) at line \(statement.line)")
            }
            if let label = refusedInTransactionBlock(words, text: statement.text) {
                return .refusedInTransaction(statement: "\(label) at line \(statement.line)")
            }
        }
        return nil
    }

    /// `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`: the script manages its
    /// own transaction (Sqitch writes `BEGIN;` … `COMMIT;` in every script).
    private static func transactionControl(_ words: [String]) -> String? {
        guard let first = words.first else { return nil }
        switch first {
        case "BEGIN":
            return words.dropFirst().first == "ATOMIC" ? nil : "BEGIN"
        case "START":
            return words.dropFirst().first == "TRANSACTION" ? "START TRANSACTION" : nil
        case "COMMIT", "END", "ROLLBACK", "ABORT":
            return first
        default:
            return nil
        }
    }

    /// Statements PostgreSQL refuses inside a transaction block (`PreventInTransactionBlock`).
    private static func refusedInTransactionBlock(_ words: [String], text: String) -> String? {
        func starts(_ prefix: String...) -> Bool { words.starts(with: prefix) }
        if starts("CREATE", "INDEX", "CONCURRENTLY") { return "CREATE INDEX CONCURRENTLY" }
        if starts("CREATE", "UNIQUE", "INDEX", "CONCURRENTLY") { return "CREATE UNIQUE INDEX CONCURRENTLY" }
        if starts("DROP", "INDEX", "CONCURRENTLY") { return "DROP INDEX CONCURRENTLY" }
        if starts("REINDEX") {
            if words.contains("CONCURRENTLY") { return "REINDEX CONCURRENTLY" }
            // REINDEX SCHEMA / DATABASE / SYSTEM commit per table and refuse a transaction block.
            let scopes = ["INDEX", "TABLE", "SCHEMA", "DATABASE", "SYSTEM"]
            if let scope = words.dropFirst().first(where: { scopes.contains($0) }), scope != "INDEX", scope != "TABLE" {
                return "REINDEX \(scope)"
            }
        }
        if starts("VACUUM") { return "VACUUM" }
        if starts("CREATE", "DATABASE") { return "CREATE DATABASE" }
        if starts("DROP", "DATABASE") { return "DROP DATABASE" }
        if starts("CREATE", "TABLESPACE") { return "CREATE TABLESPACE" }
        if starts("DROP", "TABLESPACE") { return "DROP TABLESPACE" }
        if starts("ALTER", "SYSTEM") { return "ALTER SYSTEM" }
        if starts("ALTER", "DATABASE"), let set = words.firstIndex(of: "SET"),
            words.dropFirst(set + 1).first == "TABLESPACE"
        {
            return "ALTER DATABASE SET TABLESPACE"
        }
        if starts("ALTER", "TABLE"), words.contains("DETACH"), let last = words.last,
            last == "CONCURRENTLY" || last == "FINALIZE"
        {
            return "ALTER TABLE DETACH PARTITION \(last)"
        }
        if starts("CREATE", "SUBSCRIPTION") {
            // Only creating a replication slot is refused; `connect = false` or
            // `create_slot = false` creates none.
            let compact = text.lowercased().filter { !$0.isWhitespace }
            if !compact.contains("create_slot=false") && !compact.contains("connect=false") {
                return "CREATE SUBSCRIPTION"
            }
        }
        if starts("DROP", "SUBSCRIPTION") { return "DROP SUBSCRIPTION" }
        return nil
    }
}
