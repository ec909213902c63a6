import Foundation
import Logging
import Testing
import TidemarkCore
@testable import TidemarkMySQL
import TidemarkTestSupport

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
        let holder = try MySQLConnection(target: target, access: .readWrite, timeouts: .standard, logger: .silent, environment: [:])
        let handle = try holder.open()
        try handle.query("START TRANSACTION")
        _ = try handle.query("SELECT * FROM held")
        return handle
    }

    @Test func aLockTimeoutRetriesOnlyTheStatementThatWaited() throws {
        let database = try TestMariaDB.createDatabase(for: "stmt_retry")
        defer { try? TestMariaDB.dropDatabase(database) }
        let target = Target(name: "retry", environment: "test", connection: .url(try TestMariaDB.requireURL()), schema: database)
        let signal = RetrySignal()
        let logger = Logger(label: "test") { _ in signal }
        let connection = try MySQLConnection(
            target: target, access: .readWrite, timeouts: Timeouts(lockTimeout: .seconds(1)), logger: logger, environment: [:])
        try connection.ensureHistoryTable()
        @Sendable func step(_ version: String, _ sql: String, retries: Int) -> StepRequest {
            var request = StepRequest(
                version: version, description: "v", kind: .forward, scriptPath: "V\(version).sql", sql: sql, checksum: "c",
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
                outcome = .success(try running.run(step("2", "CREATE TABLE fresh (id INT);\nALTER TABLE held ADD COLUMN c INT;\n", retries: 3)))
            } catch {
                outcome = .failure(error)
            }
            done.signal()
        }
        runner.start()
        #expect(signal.retried.wait(timeout: .now() + 60) == .success, "statement 2 was not retried after its lock wait")
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
            try connection.run(step("3", "CREATE TABLE later (id INT);\nALTER TABLE held ADD COLUMN d INT;\n", retries: 0))
        }
        try again.query("COMMIT")
        #expect("\(error)".contains("stopped at statement 2 of 2, line 2"), "\(error)")
        #expect(try TestMariaDB.tableExists("later", inDatabase: database))
    }
}
