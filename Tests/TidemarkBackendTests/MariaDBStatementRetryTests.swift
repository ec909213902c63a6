import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkSQLCheck
import TidemarkTestSupport

@testable import TidemarkMySQL

/// docs/mysql.md#locks-and-timeouts: in a step run statement by statement, a statement that
/// timed out waiting for a lock runs again (up to `lock_retries`), and the ones before it do not.
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBStatementRetryTests {
    /// Signals each time the backend logs that it runs a statement again.
    final class RetrySignal: LogHandler, @unchecked Sendable {
        let retried = DispatchSemaphore(value: 0)
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            if event.message.description.contains("running it again") { retried.signal() }
        }
    }

    /// Holds a metadata lock on `held` (an open transaction that read it), so an ALTER of it
    /// waits; `COMMIT` releases it.
    func holdTable(_ target: Target) throws -> MySQLHandle {
        let holder = try MySQLConnection(
            target: target, access: .readWrite, timeouts: .standard, logger: .silent, environment: [:])
        let handle = try holder.open()
        try handle.query("START TRANSACTION")
        _ = try handle.query("SELECT * FROM held")
        return handle
    }

    @Test func aLockTimeoutRetriesOnlyTheStatementThatWaited() throws {
        let database = try TestMariaDB.createDatabase(for: "stmt_retry")
        defer { try? TestMariaDB.dropDatabase(database) }
        let target = Target(
            name: "retry", environment: "test", connection: .url(try TestMariaDB.requireURL()), schema: database)
        let signal = RetrySignal()
        let logger = Logger(label: "test") { _ in signal }
        let connection = try MySQLConnection(
            target: target, access: .readWrite, timeouts: Timeouts(lockTimeout: .seconds(1)), logger: logger,
            environment: [:])
        try connection.ensureHistoryTable()
        @Sendable func step(_ version: String, _ sql: String, retries: Int) -> StepRequest {
            var request = StepRequest(
                version: version, description: "v", kind: .forward, scriptPath: "V\(version).sql", sql: sql,
                checksum: "c",
                transactional: true, runID: "r", appliedBy: "tests")
            request.lockRetries = retries
            return request
        }
        try connection.run(step("1", "CREATE TABLE held (id INT PRIMARY KEY);", retries: 0))
        let holder = try holdTable(target)

        // Statement 1 creates a table: run twice, it would fail (1050), so success proves it ran once.
        let done = DispatchSemaphore(value: 0)
        // The connection is used by the runner thread only until `done`; this thread waits for it.
        nonisolated(unsafe) let running = connection
        nonisolated(unsafe) var outcome: Result<HistoryEntry, BackendError>?
        let runner = Thread {
            do throws(BackendError) {
                outcome = .success(
                    try running.run(
                        step("2", "CREATE TABLE fresh (id INT);\nALTER TABLE held ADD COLUMN c INT;\n", retries: 3)))
            } catch {
                outcome = .failure(error)
            }
            done.signal()
        }
        runner.start()
        #expect(
            signal.retried.wait(timeout: .now() + 60) == .success, "statement 2 was not retried after its lock wait")
        try holder.query("COMMIT")
        #expect(done.wait(timeout: .now() + 60) == .success)
        let entry = try #require(try outcome?.get())
        #expect(entry.success && entry.version == "2")
        #expect(try TestMariaDB.tableExists("fresh", inDatabase: database))
        let state = TargetState(history: try connection.readHistory())
        #expect(state.dirty == nil && state.applied.map(\.version) == ["1", "2"])

        // Without retries the step stops at statement 2; statement 1 stays (DDL committed).
        let again = try holdTable(target)
        let error = try #require(throws: BackendError.self) {
            try connection.run(
                step("3", "CREATE TABLE later (id INT);\nALTER TABLE held ADD COLUMN d INT;\n", retries: 0))
        }
        try again.query("COMMIT")
        #expect("\(error)".contains("stopped at statement 2 of 2, line 2"), "\(error)")
        #expect(try TestMariaDB.tableExists("later", inDatabase: database))
    }
}

/// The online-DDL class Tidemark predicts is what the real server accepts: it runs the ALTER
/// with that class's ALGORITHM, and refuses the next cheaper one (a server refuses an ALGORITHM
/// it cannot honour), on MariaDB 10.11 (docs/mysql.md#online-ddl-classes).
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBOnlineDDLOracleTests {
    static let statements = [
        "ALTER TABLE t ADD COLUMN c2 INT",
        "ALTER TABLE t ADD COLUMN c2 INT FIRST",
        "ALTER TABLE t ADD COLUMN c2 INT AUTO_INCREMENT UNIQUE",
        "ALTER TABLE t ADD COLUMN g INT AS (a + 1) STORED",
        "ALTER TABLE t ADD COLUMN g INT AS (a + 1) VIRTUAL",
        "ALTER TABLE t DROP COLUMN x2",
        "ALTER TABLE t RENAME COLUMN a TO a2",
        "ALTER TABLE t MODIFY a BIGINT",
        "ALTER TABLE t ALTER COLUMN a SET DEFAULT 5",
        "ALTER TABLE t ADD INDEX ia (a)",
        "CREATE UNIQUE INDEX ua ON t (a)",
        "ALTER TABLE t ADD FULLTEXT INDEX ft (b)",
        "ALTER TABLE t DROP INDEX ib",
        "ALTER TABLE t RENAME INDEX ib TO ib2",
        "ALTER TABLE t DROP FOREIGN KEY fkx",
        "ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0)",
        "ALTER TABLE t DROP CONSTRAINT ckx",
        "ALTER TABLE t DROP PRIMARY KEY",
        "ALTER TABLE t ENGINE=InnoDB",
        "ALTER TABLE t ROW_FORMAT=COMPACT",
        "ALTER TABLE t CONVERT TO CHARACTER SET latin1",
        "ALTER TABLE t DEFAULT CHARACTER SET latin1",
        "ALTER TABLE t AUTO_INCREMENT=100",
        "ALTER TABLE t RENAME TO t_renamed",
    ]

    @Test(arguments: statements)
    func thePredictedClassIsWhatTheServerAccepts(_ statement: String) throws {
        let database = try TestMariaDB.createDatabase(for: "online")
        defer { try? TestMariaDB.dropDatabase(database) }
        let target = Target(
            name: "online", environment: "test", connection: .url(try TestMariaDB.requireURL()), schema: database)
        let connection = try MySQLConnection(
            target: target, access: .readWrite, timeouts: .standard, logger: .silent, environment: [:])
        let predicted = try #require(MySQLOnlineDDL.classify(statement, server: connection.server.identity)).onlineClass
        let handle = try connection.open()
        func fresh() throws {
            try handle.query("DROP TABLE IF EXISTS t, t_renamed, p")
            try handle.query("CREATE TABLE p (id INT PRIMARY KEY)")
            try handle.query(
                "CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(20), x INT, x2 INT, INDEX ib (b), CONSTRAINT fkx FOREIGN KEY (x) REFERENCES p (id), CONSTRAINT ckx CHECK (a >= 0)) ENGINE=InnoDB"
            )
            try handle.query("INSERT INTO t (id, a, b) VALUES (1, 1, 'one')")
        }
        let server = connection.server.identity
        func with(_ onlineClass: OnlineDDLClass) -> String {
            "\(statement)\(statement.hasPrefix("CREATE") ? "" : ",") ALGORITHM=\(onlineClass.algorithm(on: server))"
        }
        if let cheaper = OnlineDDLClass.allCases.last(where: { $0 < predicted }) {
            try fresh()
            #expect(
                throws: MySQLFailure.self,
                "\(statement): the server took ALGORITHM=\(cheaper.algorithm(on: server)), cheaper than the predicted \(predicted)"
            ) {
                try handle.query(with(cheaper))
            }
        }
        try fresh()
        #expect(throws: Never.self, "\(statement): refused with the predicted \(predicted)") {
            try handle.query(with(predicted))
        }
    }
}
