import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

@testable import TidemarkSQLite

/// Targets whose `tidemark_history` an older Tidemark created, before the `attempt` column
/// (docs/decisions/0015-lock-retries-in-the-history.md): read as they are by read-only commands,
/// upgraded by the first writer, whichever command it is, and still writable by an older binary
/// afterwards.
@Suite struct HistoryTableUpgradeTests {
    /// The row an older Tidemark wrote: version 1, forward, applied.
    static let legacyRowValues = """
        ('1', 'create users', 'forward', 'V1__users.sql', 'c1', 'old-run', 'ops@old', '2025-01-02T03:04:05.000Z', \
        '2025-01-02T03:04:05.100Z', 100, 1, 1, NULL)
        """

    /// The SQLite DDL Tidemark used before the attempt column, as it was.
    static let sqliteDDLBeforeAttempt = """
        CREATE TABLE IF NOT EXISTS tidemark_history (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            version       TEXT    NOT NULL,
            description   TEXT    NOT NULL,
            kind          TEXT    NOT NULL,
            script        TEXT    NOT NULL,
            checksum      TEXT    NOT NULL,
            run_id        TEXT    NOT NULL,
            applied_by    TEXT    NOT NULL,
            started_at    TEXT    NOT NULL,
            finished_at   TEXT,
            execution_ms  INTEGER NOT NULL DEFAULT 0,
            success       INTEGER NOT NULL,
            transactional INTEGER NOT NULL DEFAULT 1,
            error         TEXT
        )
        """

    /// Version 1: the attempt column, `success` NOT NULL, no batch columns.
    static let sqliteDDLVersion1 = sqliteDDLBeforeAttempt.replacingOccurrences(
        of: "error         TEXT\n", with: "error         TEXT,\n    attempt       INTEGER NOT NULL DEFAULT 1\n")

    func batchSpec() -> BatchSpec { BatchSpec(table: "items", key: "id", size: 2) }

    func stepRequest(_ version: String, attempt: Int, sql: String = "") -> StepRequest {
        StepRequest(
            version: version, description: "v\(version)", kind: sql.isEmpty ? .baseline : .forward,
            scriptPath: sql.isEmpty ? "" : "V\(version)__x.sql",
            sql: sql, checksum: "c\(version)", transactional: true, runID: "new-run", appliedBy: "ops@new",
            attempt: attempt)
    }

    @Test func sqliteTableFromBeforeAttemptIsReadThenUpgradedByTheFirstWriter() throws {
        let path = SQLiteFixture.directory.appendingPathComponent("legacy-\(UUID().uuidString).db").path
        let target = Target(name: "legacy", environment: "test", connection: .url("sqlite:\(path)"))
        let backend = SQLiteBackend()
        do {
            let setup = try #require(
                try backend.connect(to: target, timeouts: .standard, logger: .silent) as? SQLiteConnection)
            let db = try #require(setup.handle)
            try SQLiteConnection.execute(Self.sqliteDDLBeforeAttempt, on: db)
            try SQLiteConnection.execute(
                """
                INSERT INTO tidemark_history (version, description, kind, script, checksum, run_id, applied_by, started_at,
                    finished_at, execution_ms, success, transactional, error) VALUES \(Self.legacyRowValues)
                """, on: db)
            setup.close()
        }

        // A read-only command reads the old table as it is: every row attempt 1, nothing changed.
        let reader = try backend.connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        #expect(try reader.readHistory().map(\.attempt) == [1])
        reader.close()
        let probe = try #require(
            try backend.connect(to: target, timeouts: .standard, logger: .silent) as? SQLiteConnection)
        let db = try #require(probe.handle)
        #expect(try SQLiteConnection.historyShape(db) == .withoutAttempt)

        // A writer that never calls ensureHistoryTable (repair, adopt) adds the column first.
        let writer = try backend.connect(to: target, timeouts: .standard, logger: .silent)
        try writer.run(stepRequest("2", attempt: 3, sql: "CREATE TABLE t2 (id INTEGER)"))
        writer.close()
        #expect(try SQLiteConnection.historyShape(db) == .current)

        // An older binary names its columns: its rows still read as attempt 1.
        try SQLiteConnection.execute(
            """
            INSERT INTO tidemark_history (version, description, kind, script, checksum, run_id, applied_by, started_at,
                finished_at, execution_ms, success, transactional, error) VALUES \(Self.legacyRowValues.replacingOccurrences(of: "('1'", with: "('3'"))
            """, on: db)
        probe.close()
        let rows = try backend.connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
            .readHistory()
        #expect(rows.map(\.version) == ["1", "2", "3"])
        #expect(rows.map(\.attempt) == [1, 3, 1])
        #expect(TargetState(history: rows).applied.map(\.version) == ["1", "2", "3"])
    }

    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func postgresTableFromBeforeAttemptIsReadThenUpgradedByTheFirstWriter() throws {
        let fixture = try #require(PostgresFixture())
        let target = try fixture.makeTarget(name: "legacy")
        let schema = try #require(target.schema)
        let table = "\(TestPostgres.quoted(schema)).tidemark_history"
        let columns =
            "version, description, kind, script, checksum, run_id, applied_by, started_at, finished_at, execution_ms, success, transactional, error"
        let row = Self.legacyRowValues.replacingOccurrences(of: ", 1, 1, NULL)", with: ", true, true, NULL)")
        // The DDL Tidemark used before the attempt column, as it was.
        try TestPostgres.execute(
            """
            CREATE TABLE \(table) (
                id bigserial PRIMARY KEY, version text NOT NULL, description text NOT NULL, kind text NOT NULL,
                script text NOT NULL, checksum text NOT NULL, run_id text NOT NULL, applied_by text NOT NULL,
                started_at timestamptz NOT NULL, finished_at timestamptz, execution_ms bigint NOT NULL DEFAULT 0,
                success boolean NOT NULL, transactional boolean NOT NULL, error text);
            INSERT INTO \(table) (\(columns)) VALUES \(row);
            """)
        let backend = PostgresBackend()

        let reader = try backend.connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        #expect(try reader.readHistory().map(\.attempt) == [1])
        reader.close()
        #expect(try !TestPostgres.columnExists("attempt", table: "tidemark_history", inSchema: schema))

        let writer = try backend.connect(to: target, timeouts: .standard, logger: .silent)
        try writer.run(stepRequest("2", attempt: 3, sql: "CREATE TABLE t2 (id integer)"))
        writer.close()
        #expect(try TestPostgres.columnExists("attempt", table: "tidemark_history", inSchema: schema))

        try TestPostgres.execute(
            "INSERT INTO \(table) (\(columns)) VALUES \(row.replacingOccurrences(of: "('1'", with: "('3'"))")
        let rows = try backend.connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
            .readHistory()
        #expect(rows.map(\.version) == ["1", "2", "3"])
        #expect(rows.map(\.attempt) == [1, 3, 1])

        // ensureHistoryTable on a current table changes nothing; on a second old table it upgrades.
        let again = try backend.connect(to: target, timeouts: .standard, logger: .silent)
        try again.ensureHistoryTable()
        #expect(try again.readHistory() == rows)
    }

    /// Version 1 → 2 (docs/guide.md#history-table): a SQLite table with `attempt` and `success`
    /// NOT NULL is rebuilt by the first writer with every row and id kept; then a batched step's
    /// row can be in progress (success NULL) and carries its checkpoint.
    @Test func sqliteVersion1TableIsRebuiltAsVersion2KeepingRowsAndIDs() throws {
        let path = SQLiteFixture.directory.appendingPathComponent("v1-\(UUID().uuidString).db").path
        let target = Target(name: "v1", environment: "test", connection: .url("sqlite:\(path)"))
        let backend = SQLiteBackend()
        let setup = try #require(
            try backend.connect(to: target, timeouts: .standard, logger: .silent) as? SQLiteConnection)
        let db = try #require(setup.handle)
        try SQLiteConnection.execute(Self.sqliteDDLVersion1, on: db)
        try SQLiteConnection.execute(
            """
            INSERT INTO tidemark_history (id, version, description, kind, script, checksum, run_id, applied_by, started_at,
                finished_at, execution_ms, success, transactional, error, attempt) VALUES
                (7, '1', 'create items', 'forward', 'V1__items.sql', 'c1', 'old-run', 'ops@old', '2025-01-02T03:04:05.000Z',
                 '2025-01-02T03:04:05.100Z', 100, 1, 1, NULL, 2)
            """, on: db)
        try SQLiteConnection.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0)", on: db)
        try SQLiteConnection.execute("INSERT INTO items (id) VALUES (1), (2), (3)", on: db)
        #expect(try SQLiteConnection.historyShape(db) == .version1)
        #expect(try setup.readHistory().map(\.batch) == [nil])

        try setup.ensureHistoryTable()
        #expect(try SQLiteConnection.historyShape(db) == .current)
        let upgraded = try setup.readHistory()
        #expect(upgraded.map(\.id) == [7])
        #expect(upgraded.map(\.attempt) == [2])

        var request = stepRequest(
            "2", attempt: 1, sql: "UPDATE items SET n = n + 1 WHERE id >= :batch_start AND id < :batch_end")
        request.batch = batchSpec()
        let row = try setup.beginBatchedStep(request, from: BatchCheckpoint())
        #expect(row.id == 8, "AUTOINCREMENT continues after the copied rows")
        #expect(try setup.runBatch(request, row: row.id, start: 1, end: 3) == 2)
        let inProgress = try #require(try setup.readHistory().last)
        #expect(inProgress.isBackfillInProgress)
        #expect(inProgress.batch == BatchCheckpoint(lastKey: 2, rows: 2))
        #expect(TargetState(history: try setup.readHistory()).backfill?.id == row.id)
        #expect(!TargetState(history: try setup.readHistory()).isDirty)
        setup.close()
    }

    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func postgresVersion1TableGainsTheBatchColumnsAndANullableSuccess() throws {
        let fixture = try #require(PostgresFixture())
        let target = try fixture.makeTarget(name: "v1")
        let schema = try #require(target.schema)
        let table = "\(TestPostgres.quoted(schema)).tidemark_history"
        try TestPostgres.execute(
            """
            CREATE TABLE \(table) (
                id bigserial PRIMARY KEY, version text NOT NULL, description text NOT NULL, kind text NOT NULL,
                script text NOT NULL, checksum text NOT NULL, run_id text NOT NULL, applied_by text NOT NULL,
                started_at timestamptz NOT NULL, finished_at timestamptz, execution_ms bigint NOT NULL DEFAULT 0,
                success boolean NOT NULL, transactional boolean NOT NULL, error text, attempt integer NOT NULL DEFAULT 1);
            CREATE TABLE \(TestPostgres.quoted(schema)).items (id bigint PRIMARY KEY, n integer NOT NULL DEFAULT 0);
            INSERT INTO \(TestPostgres.quoted(schema)).items (id) SELECT generate_series(1, 5);
            """)
        let backend = PostgresBackend()
        let reader = try backend.connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        #expect(try reader.readHistory().isEmpty)
        reader.close()
        #expect(try !TestPostgres.columnExists("batch_rows", table: "tidemark_history", inSchema: schema))

        let writer = try backend.connect(to: target, timeouts: .standard, logger: .silent)
        try writer.ensureHistoryTable()
        #expect(try TestPostgres.columnExists("batch_last_key", table: "tidemark_history", inSchema: schema))
        #expect(try TestPostgres.columnExists("batch_rows", table: "tidemark_history", inSchema: schema))
        var request = stepRequest(
            "2", attempt: 1, sql: "UPDATE items SET n = n + 1 WHERE id >= :batch_start AND id < :batch_end")
        request.batch = batchSpec()
        guard case .ready(let low, let high) = try writer.batchTable(request.batch ?? batchSpec()) else {
            Issue.record("items should be walkable")
            return
        }
        #expect(low == 1 && high == 5)
        #expect(try writer.batchEnd(batchSpec(), from: 1) == 3)
        #expect(try writer.batchEnd(batchSpec(), from: 4) == nil)
        let row = try writer.beginBatchedStep(request, from: BatchCheckpoint())
        #expect(try writer.runBatch(request, row: row.id, start: 1, end: 3) == 2)
        let inProgress = try #require(try writer.readHistory().last)
        #expect(inProgress.isBackfillInProgress)
        #expect(inProgress.batch == BatchCheckpoint(lastKey: 2, rows: 2))
        let finished = try writer.finishBatchedStep(row: row.id, success: true, executionMS: 5, error: nil)
        #expect(finished.success && !finished.isBackfillInProgress)
        #expect(TargetState(history: try writer.readHistory()).isApplied("2"))
    }
}
