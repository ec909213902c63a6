import CSQLite
import Foundation
import TidemarkCore

/// A failed SQLite call: its extended result code, message and, for scripts, the line of the
/// failing statement. Thread-safe value.
struct SQLiteFailure: Error, Sendable {
    var code: Int32
    var message: String
    /// 1-based line in the script where the failing statement starts.
    var line: Int?
}

/// A value bound to a `?N` parameter.
enum SQLiteValue {
    case text(String)
    case integer(Int64)
    case null
}

/// One result row, valid only inside the `query` callback that receives it.
struct SQLiteRow {
    fileprivate let statement: OpaquePointer

    func text(_ column: Int32) -> String {
        sqlite3_column_text(statement, column).map { String(cString: $0) } ?? ""
    }

    func optionalText(_ column: Int32) -> String? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : text(column)
    }

    func integer(_ column: Int32) -> Int64 {
        sqlite3_column_int64(statement, column)
    }
}

extension SQLiteConnection {
    /// What running a script did.
    struct ScriptOutcome {
        var failure: SQLiteFailure?
        /// A statement of the script ended the transaction that was open when it started.
        var endedTransaction = false
        /// Statements that completed.
        var completed = 0
    }

    /// Runs every statement of `sql` in order, stopping at the first failure: what
    /// `sqlite3_exec` does, but one statement at a time so a failure names its line and a
    /// script that ends Tidemark's transaction itself can be told apart. SQLite parses each
    /// statement only when the ones before it have run, exactly as `sqlite3_exec` would.
    static func runScript(_ sql: String, on db: OpaquePointer, tracksTransaction: Bool = false) -> ScriptOutcome {
        let bytes = Array(sql.utf8CString)
        return bytes.withUnsafeBufferPointer { buffer -> ScriptOutcome in
            guard let base = buffer.baseAddress else { return ScriptOutcome() }
            var cursor = base
            var outcome = ScriptOutcome()
            while cursor.pointee != 0 {
                var statement: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                let offset = base.distance(to: cursor)
                let prepareCode = sqlite3_prepare_v2(db, cursor, -1, &statement, &tail)
                guard prepareCode == SQLITE_OK else {
                    outcome.failure = SQLiteFailure(
                        code: sqlite3_extended_errcode(db), message: SQLiteError.message(of: db),
                        line: lineNumber(in: buffer, at: offset))
                    return outcome
                }
                guard let statement else {
                    // Only whitespace or comments were left.
                    break
                }
                let wasInTransaction = sqlite3_get_autocommit(db) == 0
                var stepCode: Int32
                repeat {
                    stepCode = sqlite3_step(statement)
                } while stepCode == SQLITE_ROW
                // Read the message before finalize, which may reset it.
                let failure =
                    stepCode == SQLITE_DONE
                    ? nil
                    : SQLiteFailure(
                        code: sqlite3_extended_errcode(db), message: SQLiteError.message(of: db),
                        line: lineNumber(in: buffer, at: offset))
                sqlite3_finalize(statement)
                if let failure {
                    outcome.failure = failure
                    return outcome
                }
                outcome.completed += 1
                if tracksTransaction, wasInTransaction, sqlite3_get_autocommit(db) != 0 {
                    outcome.endedTransaction = true
                }
                guard let tail, tail != cursor else { break }
                cursor = tail
            }
            return outcome
        }
    }

    /// The line where the statement that SQLite started parsing at `offset` really begins:
    /// blanks and comments before it (left over from the previous statement's tail) skipped.
    private static func lineNumber(in buffer: UnsafeBufferPointer<CChar>, at offset: Int) -> Int {
        let dash = CChar(UInt8(ascii: "-"))
        let slash = CChar(UInt8(ascii: "/"))
        let star = CChar(UInt8(ascii: "*"))
        var start = offset
        while start < buffer.count {
            let byte = buffer[start]
            let next = start + 1 < buffer.count ? buffer[start + 1] : 0
            if byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D || byte == 0x0C {
                start += 1
            } else if byte == dash, next == dash {
                while start < buffer.count, buffer[start] != 0x0A, buffer[start] != 0 { start += 1 }
            } else if byte == slash, next == star {
                start += 2
                while start + 1 < buffer.count, !(buffer[start] == star && buffer[start + 1] == slash) { start += 1 }
                start += 2
            } else {
                break
            }
        }
        var line = 1
        for index in 0..<min(start, buffer.count) where buffer[index] == 0x0A { line += 1 }
        return line
    }

    /// Prepares one statement and binds `values` to `?1`, `?2`, …; the caller finalizes it.
    private static func prepare(_ sql: String, _ values: [SQLiteValue], on db: OpaquePointer) throws(SQLiteFailure)
        -> OpaquePointer
    {
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &prepared, nil) == SQLITE_OK, let statement = prepared else {
            let failure = SQLiteFailure(code: sqlite3_extended_errcode(db), message: SQLiteError.message(of: db))
            sqlite3_finalize(prepared)
            throw failure
        }
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value {
            case .text(let text): sqlite3_bind_text(statement, position, text, -1, tidemark_sqlite_transient())
            case .integer(let number): sqlite3_bind_int64(statement, position, number)
            case .null: sqlite3_bind_null(statement, position)
            }
        }
        return statement
    }

    /// Runs one statement that returns no rows.
    static func execute(_ sql: String, _ values: [SQLiteValue] = [], on db: OpaquePointer) throws(SQLiteFailure) {
        let statement = try prepare(sql, values, on: db)
        defer { sqlite3_finalize(statement) }
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE || code == SQLITE_ROW else {
            throw SQLiteFailure(code: sqlite3_extended_errcode(db), message: SQLiteError.message(of: db))
        }
    }

    /// Runs a query and maps each row.
    static func query<Value>(
        _ sql: String, _ values: [SQLiteValue] = [], on db: OpaquePointer,
        row transform: (SQLiteRow) throws(SQLiteFailure) -> Value
    ) throws(SQLiteFailure) -> [Value] {
        let statement = try prepare(sql, values, on: db)
        defer { sqlite3_finalize(statement) }
        var rows: [Value] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return rows }
            guard code == SQLITE_ROW else {
                throw SQLiteFailure(code: sqlite3_extended_errcode(db), message: SQLiteError.message(of: db))
            }
            rows.append(try transform(SQLiteRow(statement: statement)))
        }
    }

    static func elapsedMilliseconds(since start: ContinuousClock.Instant) -> Int64 {
        max(0, start.duration(to: .now).milliseconds)
    }

    // MARK: tidemark_history

    /// The columns of docs/guide.md#history-table plus `transactional` and `error`. Timestamps are
    /// ISO 8601 UTC text with milliseconds, which SQLite's date functions read and which sorts in
    /// time order.
    static let createHistoryTableSQL = historyTableSQL(named: "tidemark_history")

    /// Version 2 of the table (docs/guide.md#history-table): `success` NULL is a batched step in
    /// progress; `batch_last_key` and `batch_rows` are its checkpoint (NULL for other steps).
    static func historyTableSQL(named name: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(name) (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            version        TEXT    NOT NULL,
            description    TEXT    NOT NULL,
            kind           TEXT    NOT NULL,
            script         TEXT    NOT NULL,
            checksum       TEXT    NOT NULL,
            run_id         TEXT    NOT NULL,
            applied_by     TEXT    NOT NULL,
            started_at     TEXT    NOT NULL,
            finished_at    TEXT,
            execution_ms   INTEGER NOT NULL DEFAULT 0,
            success        INTEGER,
            transactional  INTEGER NOT NULL DEFAULT 1,
            error          TEXT,
            attempt        INTEGER NOT NULL DEFAULT 1,
            batch_last_key INTEGER,
            batch_rows     INTEGER
        )
        """
    }

    /// Rebuilds a table an older Tidemark created as version 2, keeping every row and id:
    /// SQLite cannot drop a NOT NULL constraint in place, so the table is copied and renamed in
    /// one transaction (SQLite's documented way to change a table's constraints). Rows from
    /// before `attempt` were attempt 1 (docs/decisions/0015-lock-retries-in-the-history.md).
    static func upgradeHistorySQL(from shape: HistoryShape) -> String {
        let attempt = shape == .withoutAttempt ? "1" : "attempt"
        return """
            \(historyTableSQL(named: "tidemark_history_v2"));
            INSERT INTO tidemark_history_v2
                (id, version, description, kind, script, checksum, run_id, applied_by, started_at, finished_at,
                 execution_ms, success, transactional, error, attempt)
            SELECT id, version, description, kind, script, checksum, run_id, applied_by, started_at, finished_at,
                   execution_ms, success, transactional, error, \(attempt)
            FROM tidemark_history ORDER BY id;
            DROP TABLE tidemark_history;
            ALTER TABLE tidemark_history_v2 RENAME TO tidemark_history
            """
    }

    /// Every row, oldest first; an older table reads each row as attempt 1 and unbatched.
    static func selectHistorySQL(_ shape: HistoryShape) -> String {
        let attempt = shape == .withoutAttempt ? "1" : "attempt"
        let batch = shape == .current ? "batch_last_key, batch_rows" : "NULL, NULL"
        return """
            SELECT id, version, description, kind, script, checksum, run_id, applied_by,
                   started_at, finished_at, execution_ms, success, transactional, error, \(attempt), \(batch)
            FROM tidemark_history ORDER BY id
            """
    }

    /// What the history table looks like: missing, current (version 2), version 1 (before the
    /// batch columns), or written by a Tidemark from before the `attempt` column.
    enum HistoryShape {
        case absent, withoutAttempt, version1, current
    }

    static func historyShape(_ db: OpaquePointer) throws(SQLiteFailure) -> HistoryShape {
        let rows = try query(
            """
            SELECT (SELECT count(*) FROM pragma_table_info('tidemark_history') WHERE name = 'attempt'),
                   (SELECT count(*) FROM pragma_table_info('tidemark_history') WHERE name = 'batch_rows')
            FROM sqlite_master WHERE type = 'table' AND name = 'tidemark_history'
            """, on: db
        ) { row in (row.integer(0), row.integer(1)) }
        guard let columns = rows.first else { return .absent }
        if columns.1 > 0 { return .current }
        return columns.0 > 0 ? .version1 : .withoutAttempt
    }

    static func historyEntry(from row: SQLiteRow) throws(SQLiteFailure) -> HistoryEntry {
        let id = row.integer(0)
        let kindText = row.text(3)
        guard let kind = StepKind(rawValue: kindText) else {
            throw SQLiteFailure(code: SQLITE_MISMATCH, message: "row \(id) has an unknown kind '\(kindText)'")
        }
        let startedText = row.text(8)
        guard let started = SQLiteTimestamp(text: startedText) else {
            throw SQLiteFailure(
                code: SQLITE_MISMATCH, message: "row \(id) has an unreadable started_at '\(startedText)'")
        }
        var finished: Date?
        if let finishedText = row.optionalText(9) {
            guard let timestamp = SQLiteTimestamp(text: finishedText) else {
                throw SQLiteFailure(
                    code: SQLITE_MISMATCH, message: "row \(id) has an unreadable finished_at '\(finishedText)'")
            }
            finished = timestamp.date
        }
        return HistoryEntry(
            id: id, version: row.text(1), description: row.text(2), kind: kind, script: row.text(4),
            checksum: row.text(5), runID: row.text(6), appliedBy: row.text(7), startedAt: started.date,
            finishedAt: finished, executionMS: row.integer(10),
            success: row.optionalText(11).map { $0 != "0" } ?? false,
            transactional: row.integer(12) != 0, error: row.optionalText(13), attempt: Int(row.integer(14)),
            batch: row.optionalText(16).flatMap { Int64($0) }.map {
                BatchCheckpoint(lastKey: row.optionalText(15).flatMap { Int64($0) }, rows: $0)
            })
    }

    /// Inserts `entry` (its `id` ignored) and returns the new row id.
    func insert(_ entry: HistoryEntry, on db: OpaquePointer) throws(SQLiteFailure) -> Int64 {
        try Self.execute(
            """
            INSERT INTO tidemark_history
                (version, description, kind, script, checksum, run_id, applied_by,
                 started_at, finished_at, execution_ms, success, transactional, error, attempt)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
            """,
            [
                .text(entry.version), .text(entry.description), .text(entry.kind.rawValue), .text(entry.script),
                .text(entry.checksum), .text(entry.runID), .text(entry.appliedBy),
                .text(SQLiteTimestamp(entry.startedAt).text),
                entry.finishedAt.map { .text(SQLiteTimestamp($0).text) } ?? .null,
                .integer(entry.executionMS), .integer(entry.success ? 1 : 0), .integer(entry.transactional ? 1 : 0),
                entry.error.map { .text($0) } ?? .null, .integer(Int64(entry.attempt)),
            ],
            on: db)
        return sqlite3_last_insert_rowid(db)
    }

    /// Completes a no-transaction step's row; returns the failure instead of throwing because
    /// both callers have a more important error to report.
    func update(_ entry: HistoryEntry, on db: OpaquePointer) -> SQLiteFailure? {
        do {
            try Self.execute(
                """
                UPDATE tidemark_history
                SET finished_at = ?1, execution_ms = ?2, success = ?3, error = ?4
                WHERE id = ?5
                """,
                [
                    entry.finishedAt.map { .text(SQLiteTimestamp($0).text) } ?? .null, .integer(entry.executionMS),
                    .integer(entry.success ? 1 : 0), entry.error.map { .text($0) } ?? .null, .integer(entry.id),
                ],
                on: db)
            return nil
        } catch {
            return error
        }
    }
}
