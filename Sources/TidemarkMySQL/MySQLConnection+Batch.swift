import Foundation
import TidemarkCore
import TidemarkSQLCheck

// MARK: - Batched steps (docs/backfills.md#mysql-and-mariadb)

extension MySQLConnection {
    /// The integer types a batch key may have.
    private static let integerTypes: Set<String> = ["tinyint", "smallint", "mediumint", "int", "integer", "bigint"]

    package func batchTable(_ spec: BatchSpec) throws(BackendError) -> BatchTable {
        let handle = try open()
        let (schema, name) = split(spec.table)
        do {
            let table = try handle.query(
                """
                SELECT 1 FROM information_schema.TABLES
                WHERE TABLE_SCHEMA = \(MySQLSQL.literal(schema)) AND TABLE_NAME = \(MySQLSQL.literal(name))
                """)
            guard !table.isEmpty else {
                return .unusable(
                    problem:
                        "table \(spec.table) does not exist here; create it before this version, or correct table= in the directive"
                )
            }
            let column = try handle.query(
                """
                SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = \(MySQLSQL.literal(schema))
                AND TABLE_NAME = \(MySQLSQL.literal(name)) AND COLUMN_NAME = \(MySQLSQL.literal(spec.key))
                """)
            guard let type = column.first?.first ?? nil else {
                return .unusable(
                    problem: "table \(spec.table) has no column \(spec.key); correct key= in the directive")
            }
            guard Self.integerTypes.contains(type.lowercased()) else {
                return .unusable(
                    problem:
                        "key \(spec.table).\(spec.key) is \(type), not an integer; batch on an integer key (the primary key, or a BIGINT column with a unique index)"
                )
            }
            // A unique index of the key alone, whole (no prefix): the walk reads it in key order.
            let indexes = try handle.query(
                """
                SELECT INDEX_NAME FROM information_schema.STATISTICS
                WHERE TABLE_SCHEMA = \(MySQLSQL.literal(schema)) AND TABLE_NAME = \(MySQLSQL.literal(name))
                GROUP BY INDEX_NAME
                HAVING MAX(NON_UNIQUE) = 0 AND COUNT(*) = 1 AND MAX(COLUMN_NAME = \(MySQLSQL.literal(spec.key))) = 1
                    AND MAX(SUB_PART IS NULL) = 1
                ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME
                """)
            guard let index = indexes.first?.first ?? nil else {
                return .unusable(
                    problem:
                        "key \(spec.table).\(spec.key) has no unique index of its own, so batches cannot be found by walking an index; create one (CREATE UNIQUE INDEX …) in an earlier version"
                )
            }
            batchIndexes[spec.table + "." + spec.key] = index
            let key = MySQLSQL.quoteIdentifier(spec.key)
            // Both answered from the index's ends ("Select tables optimized away").
            let bounds = try handle.query(
                "SELECT MIN(\(key)), MAX(\(key)) FROM \(Self.qualified(schema, name))")
            let row = bounds.first ?? []
            let minKey = row.first.flatMap { $0 }.flatMap { Int64($0) }
            let maxKey = row.count > 1 ? row[1].flatMap { Int64($0) } : nil
            return .ready(minKey: minKey, maxKey: maxKey)
        } catch {
            throw failure("cannot read \(spec.table) for its batches", error)
        }
    }

    package func batchEnd(_ spec: BatchSpec, from start: Int64) throws(BackendError) -> Int64? {
        let handle = try open()
        if batchIndexes[spec.table + "." + spec.key] == nil, case .unusable(let problem) = try batchTable(spec) {
            throw .queryFailed(target: target.name, message: problem, sqlState: nil)
        }
        do {
            let rows = try handle.query(batchEndQuery(spec, from: start))
            return rows.first?.first.flatMap { $0 }.flatMap { Int64($0) }
        } catch {
            throw failure("cannot find the next batch of \(spec.table)", error)
        }
    }

    /// The key `size` rows past `start`, read from the key's unique index (`FORCE INDEX`: an
    /// optimizer misled by stale statistics must not scan the table for one batch's end).
    /// Visible to the tests, which EXPLAIN it.
    package func batchEndQuery(_ spec: BatchSpec, from start: Int64) -> String {
        let (schema, name) = split(spec.table)
        let key = MySQLSQL.quoteIdentifier(spec.key)
        let index = batchIndexes[spec.table + "." + spec.key].map { " FORCE INDEX (\(MySQLSQL.quoteIdentifier($0)))" }
        return
            "SELECT \(key) FROM \(Self.qualified(schema, name))\(index ?? "") WHERE \(key) >= \(start) ORDER BY \(key) LIMIT 1 OFFSET \(spec.size)"
    }

    package func beginBatchedStep(_ step: StepRequest, from checkpoint: BatchCheckpoint) throws(BackendError)
        -> HistoryEntry
    {
        let handle = try openWritable("run version \(step.version)")
        try refuseDDL(step)
        if !historyIsCurrent { try ensureHistoryTable() }
        let values = [
            MySQLSQL.literal(step.version), MySQLSQL.literal(step.description), MySQLSQL.literal(step.kind.rawValue),
            MySQLSQL.literal(step.scriptPath), MySQLSQL.literal(step.checksum), MySQLSQL.literal(step.runID),
            MySQLSQL.literal(step.appliedBy), MySQLSQL.timestamp(Date()), String(step.attempt),
            checkpoint.lastKey.map { String($0) } ?? "NULL", String(checkpoint.rows),
        ]
        do {
            try handle.query(
                """
                INSERT INTO \(historyTable) (version, description, kind, script, checksum, run_id, applied_by, started_at,
                    finished_at, execution_ms, success, transactional, error, attempt, batch_last_key, batch_rows)
                VALUES (\(values.prefix(8).joined(separator: ", ")), NULL, 0, NULL, TRUE, NULL,
                    \(values.dropFirst(8).joined(separator: ", ")))
                """)
            return try parsedRow(
                handle.query("SELECT \(Self.columns) FROM \(historyTable) WHERE id = LAST_INSERT_ID()"))
        } catch {
            throw failure("cannot record the start of batched version \(step.version) in \(historyTable)", error)
        }
    }

    /// One InnoDB transaction: the statement for `start..<end` and the checkpoint.
    package func runBatch(_ step: StepRequest, row: Int64, start: Int64, end: Int64) throws(BackendError) -> Int64 {
        let handle = try openWritable("run version \(step.version)")
        try refuseDDL(step)
        let line = (try? MySQLScript.statements(in: step.sql))?.first?.line ?? 1
        var changed: Int64 = 0
        do throws(MySQLFailure) {
            try handle.query("START TRANSACTION")
            try handle.query(BatchStatement.bind(step.sql, start: start, end: end))
            changed = try handle.query("SELECT ROW_COUNT()").first?.first.flatMap { $0 }.flatMap { Int64($0) } ?? 0
            try handle.query(
                """
                UPDATE \(historyTable) SET batch_last_key = \(end - 1), batch_rows = COALESCE(batch_rows, 0) + \(max(0, changed))
                WHERE id = \(row)
                """)
            try handle.query("COMMIT")
        } catch {
            _ = try? handle.query("ROLLBACK")
            if error.code == 1317 { throw .cancelled(target: target.name, version: step.version) }
            let place = step.scriptPath.isEmpty ? "script line \(line)" : "\(step.scriptPath):\(line)"
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind,
                message: "batch \(start)..<\(end): \(redact("\(place): \(error.fullMessage)"))",
                sqlState: error.reportedState, dirty: false)
        }
        return max(0, changed)
    }

    package func finishBatchedStep(row: Int64, success: Bool, executionMS: Int64, error: String?) throws(BackendError)
        -> HistoryEntry
    {
        let handle = try openWritable("finish a batched step")
        do {
            try handle.query(
                """
                UPDATE \(historyTable) SET success = \(success ? "TRUE" : "FALSE"), finished_at = \(MySQLSQL.timestamp(Date())),
                    execution_ms = execution_ms + \(executionMS), error = \(error.map(MySQLSQL.literal) ?? "NULL")
                WHERE id = \(row)
                """)
            return try parsedRow(handle.query("SELECT \(Self.columns) FROM \(historyTable) WHERE id = \(row)"))
        } catch {
            throw failure("cannot finish the batched step's row \(row) in \(historyTable)", error)
        }
    }

    /// A batched statement that is not DML would commit implicitly on MySQL (and with it every
    /// batch's transaction and checkpoint): refused before anything runs, naming its line.
    private func refuseDDL(_ step: StepRequest) throws(BackendError) {
        guard let statements = try? MySQLScript.statements(in: step.sql), !MySQLScript.isAllDML(statements) else {
            return
        }
        let line = statements.first { !$0.isDML }?.line ?? 1
        let place = step.scriptPath.isEmpty ? "script line \(line)" : "\(step.scriptPath):\(line)"
        throw .stepFailed(
            target: target.name, version: step.version, kind: step.kind,
            message:
                "\(place): a batched script must be an INSERT, UPDATE, DELETE or REPLACE: MySQL commits DDL implicitly, which would end each batch's transaction before its checkpoint; move the DDL to its own version without the directive.",
            sqlState: nil, dirty: false)
    }

    /// `app.orders` → (`app`, `orders`); `orders` → (the target's database, `orders`).
    private func split(_ table: String) -> (schema: String, name: String) {
        let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : (database, table)
    }

    private static func qualified(_ schema: String, _ name: String) -> String {
        MySQLSQL.quoteIdentifier(schema) + "." + MySQLSQL.quoteIdentifier(name)
    }
}
