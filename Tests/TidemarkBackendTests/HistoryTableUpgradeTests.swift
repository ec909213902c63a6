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

    func stepRequest(_ version: String, attempt: Int, sql: String = "") -> StepRequest {
        StepRequest(
            version: version, description: "v\(version)", kind: sql.isEmpty ? .baseline : .forward, scriptPath: sql.isEmpty ? "" : "V\(version)__x.sql",
            sql: sql, checksum: "c\(version)", transactional: true, runID: "new-run", appliedBy: "ops@new", attempt: attempt)
    }

    @Test func sqliteTableFromBeforeAttemptIsReadThenUpgradedByTheFirstWriter() throws {
        let path = SQLiteFixture.directory.appendingPathComponent("legacy-\(UUID().uuidString).db").path
        let target = Target(name: "legacy", environment: "test", connection: .url("sqlite:\(path)"))
        let backend = SQLiteBackend()
        do {
            let setup = try #require(try backend.connect(to: target, timeouts: .standard, logger: .silent) as? SQLiteConnection)
            let db = try #require(setup.handle)
            let legacyDDL = SQLiteConnection.createHistoryTableSQL.replacingOccurrences(
                of: ",\n    attempt       INTEGER NOT NULL DEFAULT 1", with: "")
            #expect(legacyDDL != SQLiteConnection.createHistoryTableSQL, "the legacy DDL still has the attempt column")
            try SQLiteConnection.execute(legacyDDL, on: db)
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
        let probe = try #require(try backend.connect(to: target, timeouts: .standard, logger: .silent) as? SQLiteConnection)
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
        let rows = try backend.connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent).readHistory()
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
        let columns = "version, description, kind, script, checksum, run_id, applied_by, started_at, finished_at, execution_ms, success, transactional, error"
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

        try TestPostgres.execute("INSERT INTO \(table) (\(columns)) VALUES \(row.replacingOccurrences(of: "('1'", with: "('3'"))")
        let rows = try backend.connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent).readHistory()
        #expect(rows.map(\.version) == ["1", "2", "3"])
        #expect(rows.map(\.attempt) == [1, 3, 1])

        // ensureHistoryTable on a current table changes nothing; on a second old table it upgrades.
        let again = try backend.connect(to: target, timeouts: .standard, logger: .silent)
        try again.ensureHistoryTable()
        #expect(try again.readHistory() == rows)
    }
}
