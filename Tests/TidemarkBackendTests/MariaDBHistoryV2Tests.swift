import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkMySQL

/// The MySQL history table's version 2 (docs/mysql.md#the-history-table) and batched steps on
/// the real MariaDB server: a version 1 table upgraded in place, statement progress, the batch
/// walk's index use, DDL refused in a batched script.
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBHistoryV2Tests {
    /// The DDL of version 1, as Tidemark wrote it before the checkpoint and progress columns.
    static let version1DDL = """
        CREATE TABLE tidemark_history (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            version VARCHAR(255) NOT NULL,
            description TEXT NOT NULL,
            kind VARCHAR(32) NOT NULL,
            script TEXT NOT NULL,
            checksum VARCHAR(255) NOT NULL,
            run_id VARCHAR(255) NOT NULL,
            applied_by VARCHAR(255) NOT NULL,
            started_at DATETIME(6) NOT NULL,
            finished_at DATETIME(6) NULL,
            execution_ms BIGINT NOT NULL DEFAULT 0,
            success BOOLEAN NOT NULL,
            transactional BOOLEAN NOT NULL,
            error TEXT NULL,
            attempt INT NOT NULL DEFAULT 1
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
        """

    func connect(_ database: String, access: ConnectionAccess = .readWrite) throws -> MySQLConnection {
        let target = Target(
            name: "v2", environment: "test", connection: .url(try TestMariaDB.requireURL()), schema: database)
        return try MySQLConnection(
            target: target, access: access, timeouts: BackendConformance.timeouts, logger: .silent, environment: [:])
    }

    func step(_ version: String, _ sql: String, batch: BatchSpec? = nil) -> StepRequest {
        StepRequest(
            version: version, description: "test", kind: .forward, scriptPath: "V\(version)__test.sql", sql: sql,
            checksum: "c\(version)", transactional: true, runID: "r", appliedBy: "tests", batch: batch)
    }

    func columns(_ database: String) throws -> [String: String] {
        let rows = try TestMariaDB.catalog(
            """
            SELECT COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = \(TestMariaDB.literal(database)) AND TABLE_NAME = 'tidemark_history'
            """)
        return rows.reduce(into: [:]) { $0[$1[0] ?? ""] = $1[1] ?? "" }
    }

    @Test func aVersion1TableIsReadAsItIsThenUpgradedInPlaceByTheFirstWriter() throws {
        let database = try TestMariaDB.createDatabase(for: "v1_upgrade")
        defer { try? TestMariaDB.dropDatabase(database) }
        let table = "\(TestMariaDB.quoted(database)).tidemark_history"
        try TestMariaDB.execute(
            "USE \(TestMariaDB.quoted(database));\n"
                + Self.version1DDL.replacingOccurrences(
                    of: "CREATE TABLE tidemark_history", with: "CREATE TABLE \(table)"))
        try TestMariaDB.execute(
            """
            INSERT INTO \(table) (version, description, kind, script, checksum, run_id, applied_by, started_at,
                finished_at, execution_ms, success, transactional, error, attempt)
            VALUES ('1', 'accounts', 'forward', 'V1__a.sql', 'c1', 'old', 'ops', '2025-01-02 03:04:05', '2025-01-02 03:04:06', 7, 1, 0, NULL, 1)
            """)
        // A read-only connection reads it as it is and changes nothing.
        let reader = try connect(database, access: .readOnly)
        let old = try reader.readHistory()
        #expect(old.count == 1 && old[0].success && old[0].batch == nil && old[0].statementsDone == nil)
        #expect(try columns(database)["statements_done"] == nil)

        let writer = try connect(database)
        try writer.ensureHistoryTable()
        let upgraded = try columns(database)
        #expect(upgraded["statements_done"] == "YES" && upgraded["batch_last_key"] == "YES")
        #expect(upgraded["batch_rows"] == "YES" && upgraded["success"] == "YES", "\(upgraded)")
        // The old row is unchanged; a new step records its progress.
        #expect(try writer.readHistory().first == old.first)
        let entry = try writer.run(
            step("2", "CREATE TABLE a (id INT PRIMARY KEY);\nALTER TABLE a ADD COLUMN b INT;\n"))
        #expect(entry.success && entry.statementsDone == 2, "\(entry)")
        // An older binary's insert (naming its columns) still works.
        try TestMariaDB.execute(
            """
            INSERT INTO \(table) (version, description, kind, script, checksum, run_id, applied_by, started_at,
                finished_at, execution_ms, success, transactional, error, attempt)
            VALUES ('3', 'old binary', 'forward', 'V3__a.sql', 'c3', 'old', 'ops', NOW(), NOW(), 1, 1, 1, NULL, 1)
            """)
        #expect(try writer.readHistory().map(\.version) == ["1", "2", "3"])
        // Upgrading again is a no-op.
        try connect(database).ensureHistoryTable()
    }

    @Test func aStepStatementByStatementCountsEachCompletedStatement() throws {
        let database = try TestMariaDB.createDatabase(for: "progress")
        defer { try? TestMariaDB.dropDatabase(database) }
        let connection = try connect(database)
        try connection.ensureHistoryTable()
        _ = try? connection.run(
            step("1", "CREATE TABLE a (id INT PRIMARY KEY);\nCREATE TABLE b (id INT);\nALTER TABLE nope ADD x INT;\n"))
        let row = try #require(try connection.readHistory().last)
        #expect(!row.success && row.statementsDone == 2, "\(row)")
    }

    @Test func theBatchWalkReadsTheUniqueIndexAndDDLIsRefusedInABatchedScript() throws {
        let database = try TestMariaDB.createDatabase(for: "batch_walk")
        defer { try? TestMariaDB.dropDatabase(database) }
        let connection = try connect(database)
        try connection.ensureHistoryTable()
        try connection.run(
            step(
                "1",
                """
                CREATE TABLE orders (id BIGINT PRIMARY KEY, n INT NOT NULL, touched INT NOT NULL DEFAULT 0);
                INSERT INTO orders (id, n) SELECT seq, seq % 7 FROM seq_1_to_5000;
                CREATE TABLE plain (id BIGINT, v TEXT);
                """))
        let spec = BatchSpec(table: "orders", key: "id", size: 100)
        #expect(try connection.batchTable(spec) == .ready(minKey: 1, maxKey: 5000))
        #expect(try connection.batchEnd(spec, from: 1) == 101)
        #expect(try connection.batchEnd(spec, from: 4950) == nil)
        // The walk reads the primary key in order: a range over the index, never ALL (a scan).
        let plan = try connection.catalogRows("EXPLAIN " + connection.batchEndQuery(spec, from: 2500))
        let row = try #require(plan.first)
        #expect(row[3] == "range" && row[5] == "PRIMARY", "\(plan)")
        if case .unusable(let problem) = try connection.batchTable(BatchSpec(table: "plain", key: "id", size: 10)) {
            #expect(problem.contains("has no unique index of its own"), "\(problem)")
        } else {
            Issue.record("a key without a unique index was accepted")
        }
        if case .unusable(let problem) = try connection.batchTable(BatchSpec(table: "nope", key: "id", size: 10)) {
            #expect(problem.contains("table nope does not exist here"), "\(problem)")
        } else {
            Issue.record("a missing table was accepted")
        }

        let update = step(
            "2", "UPDATE orders SET touched = touched + 1 WHERE id >= :batch_start AND id < :batch_end;\n", batch: spec)
        let begun = try connection.beginBatchedStep(update, from: BatchCheckpoint())
        #expect(begun.isBackfillInProgress, "\(begun)")
        #expect(try connection.runBatch(update, row: begun.id, start: 1, end: 101) == 100)
        let inProgress = try #require(try connection.readHistory().last)
        #expect(inProgress.batch == BatchCheckpoint(lastKey: 100, rows: 100) && inProgress.isBackfillInProgress)
        let done = try connection.finishBatchedStep(row: begun.id, success: true, executionMS: 5, error: nil)
        #expect(done.success && done.batch == BatchCheckpoint(lastKey: 100, rows: 100))

        let ddl = step("3", "ALTER TABLE orders ADD COLUMN c INT;\n", batch: spec)
        let error = try #require(throws: BackendError.self) {
            try connection.beginBatchedStep(ddl, from: BatchCheckpoint())
        }
        #expect("\(error)".contains("V3__test.sql:1: a batched script must be an INSERT, UPDATE, DELETE or REPLACE"))
        #expect(try connection.readHistory().count == 2)
    }

    /// docs/backfills.md#mysql-and-mariadb: no replicas named, no wait; a named server that is
    /// not a replica, or one that cannot be reached, makes the lag unreadable, saying which.
    /// (A real replica is not started here: see the page.)
    @Test func replicationLagReadsTheNamedReplicasAndSaysWhyOneCannotBeRead() throws {
        let database = try TestMariaDB.createDatabase(for: "lag")
        defer { try? TestMariaDB.dropDatabase(database) }
        let url = try TestMariaDB.requireURL()
        var target = Target(name: "lag", environment: "test", connection: .url(url), schema: database)
        func lag(_ replicas: [TargetReplica]?, environment: [String: String] = [:]) throws -> ReplicationLag {
            target.replicas = replicas
            let connection = try MySQLConnection(
                target: target, access: .readOnly, timeouts: BackendConformance.timeouts, logger: .silent,
                environment: environment)
            return try connection.replicationLag()
        }
        #expect(try lag(nil) == .noReplicas)
        #expect(try lag([]) == .noReplicas)
        guard case .unreadable(let notReplica) = try lag([TargetReplica(url: url)]) else {
            Issue.record("a primary named as a replica read as a lag")
            return
        }
        #expect(notReplica.contains("is not replicating (SHOW REPLICA STATUS is empty)"), "\(notReplica)")
        let closed = try lag(
            [TargetReplica(url: "mysql://tidemark@127.0.0.1:1/app", passwordEnv: "TM_REPLICA_PW")],
            environment: ["TM_REPLICA_PW": "replica-secret-77"])
        guard case .unreadable(let unreachable) = closed else {
            Issue.record("an unreachable replica read as \(closed)")
            return
        }
        #expect(unreachable.contains("cannot reach replica mysql://tidemark@127.0.0.1:1/app"), "\(unreachable)")
        #expect(!unreachable.contains("replica-secret-77"))
    }
}
