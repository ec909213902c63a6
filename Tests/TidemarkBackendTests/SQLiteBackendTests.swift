import Dispatch
import Foundation
import Logging
import Synchronization
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkSQLite

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What only the SQLite backend does: files, paths, the flock lock, busy waits, line numbers.
@Suite("SQLite backend")
struct SQLiteBackendTests {
    let fixture = SQLiteFixture()

    /// A fresh folder for one test, inside the fixture's folder (removed at process exit).
    func freshFolder() -> URL {
        let url = SQLiteFixture.directory.appendingPathComponent(UUID().uuidString)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func target(_ name: String, path: String) -> Target {
        Target(name: name, environment: "test", connection: .url("sqlite:\(path)"))
    }

    func connect(_ target: Target, timeouts: Timeouts = BackendConformance.timeouts) throws -> any BackendConnection {
        try SQLiteBackend().connect(to: target, timeouts: timeouts, logger: Logger.silent)
    }

    func step(_ version: String, _ sql: String, transactional: Bool = true) -> StepRequest {
        BackendConformance.step(version, .forward, sql: sql, transactional: transactional)
    }

    /// A schema-qualified foreign table is read from the file beside the target's, as Sqitch
    /// keeps its SQLite registry (`sqitch.db` beside `shop.db`), read-only and never created.
    @Test func schemaQualifiedForeignTableIsReadFromTheSiblingFile() throws {
        let folder = freshFolder()
        let shop = folder.appendingPathComponent("shop.db").path
        try SQLiteShell.run("CREATE TABLE orders (id integer);", on: shop)
        let registry = ForeignTable(schema: "sqitch", name: "changes", columns: ["change", "project"])
        let connection = try SQLiteBackend().connect(
            to: target("shop", path: shop), access: .readOnly, timeouts: .standard, logger: .silent)
        defer { connection.close() }
        #expect(try connection.readRows(of: registry) == nil)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("sqitch.db").path))
        try SQLiteShell.run(
            "CREATE TABLE changes (change text, project text); INSERT INTO changes VALUES ('users', 'flipr');",
            on: folder.appendingPathComponent("sqitch.db").path)
        #expect(try connection.readRows(of: registry) == [["users", "flipr"]])
        #expect(SQLiteConnection.siblingDatabasePath(of: "/x/app", named: "sqitch") == "/x/sqitch")
        #expect(SQLiteConnection.siblingDatabasePath(of: "/x/app.v2.sqlite", named: "sqitch") == "/x/sqitch.v2.sqlite")
    }

    // MARK: Files and paths

    @Test func connectCreatesTheFileItsFoldersAndSwitchesToWAL() throws {
        let path = freshFolder().appendingPathComponent("a/b/c/app.db").path
        let connection = try connect(target("app", path: path))
        try connection.ensureHistoryTable()
        #expect(FileManager.default.fileExists(atPath: path))
        // A WAL database keeps a -wal file beside it while a connection is open.
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(try connection.tryLock(timeout: .milliseconds(100)))
        #expect(FileManager.default.fileExists(atPath: path + ".tidemark-lock"))
        try connection.unlock()
        // The sidecar stays: deleting it could let two runs lock two different files.
        #expect(FileManager.default.fileExists(atPath: path + ".tidemark-lock"))
    }

    @Test func pathsResolveAgainstTheCurrentDirectoryAndAcceptSlashForms() throws {
        let cwd = FileManager.default.currentDirectoryPath
        let expected = URL(fileURLWithPath: cwd).appendingPathComponent("data/app.db").standardizedFileURL.path
        #expect(try SQLiteBackend.databasePath(of: target("r", path: "data/app.db")) == expected)
        #expect(try SQLiteBackend.databasePath(of: target("r", path: "./data/app.db")) == expected)
        #expect(try SQLiteBackend.databasePath(of: target("r", path: "//data/app.db")) == expected)
        #expect(try SQLiteBackend.databasePath(of: target("a", path: "/srv/app.db")) == "/srv/app.db")
        #expect(try SQLiteBackend.databasePath(of: target("a", path: "///srv/app.db")) == "/srv/app.db")
        #expect(SQLiteBackend.lockFilePath(forDatabaseAt: "/srv/app.db") == "/srv/app.db.tidemark-lock")
    }

    @Test(arguments: ["", ":memory:", "//"])
    func urlWithoutAFileIsRejectedNamingTheTarget(_ path: String) {
        let error = #expect(throws: BackendError.self) { try connect(target("scratch", path: path)) }
        guard case .unsupported(let name, _)? = error else {
            Issue.record("expected .unsupported, got \(String(describing: error))")
            return
        }
        #expect(name == "scratch")
    }

    @Test func schemaOnASQLiteTargetIsRejected() throws {
        var target = target("tenant", path: freshFolder().appendingPathComponent("t.db").path)
        target.schema = "tenant_42"
        let error = #expect(throws: BackendError.self) { try connect(target) }
        guard case .unsupported(let name, let message)? = error else {
            Issue.record("expected .unsupported, got \(String(describing: error))")
            return
        }
        #expect(name == "tenant")
        #expect(message.contains("schema"))
    }

    @Test func folderThatCannotBeCreatedIsAPermanentFailureNamingTheTarget() throws {
        let blocker = freshFolder().appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let error = #expect(throws: BackendError.self) {
            try connect(target("blocked", path: blocker.appendingPathComponent("sub/app.db").path))
        }
        guard case .connectionFailed(let name, _, let transient)? = error else {
            Issue.record("expected .connectionFailed, got \(String(describing: error))")
            return
        }
        #expect(name == "blocked")
        #expect(!transient)
    }

    @Test func fileThatIsNotADatabaseIsAPermanentFailure() throws {
        let path = freshFolder().appendingPathComponent("garbage.db")
        try Data(repeating: 0x41, count: 4096).write(to: path)
        let error = #expect(throws: BackendError.self) { try connect(target("garbage", path: path.path)) }
        guard case .connectionFailed(let name, let message, let transient)? = error else {
            Issue.record("expected .connectionFailed, got \(String(describing: error))")
            return
        }
        #expect(name == "garbage")
        #expect(!transient)
        #expect(message.contains("not a database"))
    }

    // MARK: Lock

    /// `flock(1)` takes the same kernel lock; killing its holder with SIGKILL must free the target.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
    func lockIsAKernelFlockThatDiesWithItsHolder() throws {
        let path = freshFolder().appendingPathComponent("killed.db").path
        let connection = try connect(target("killed", path: path))
        // The shell opens the file as fd 9, flock(1) locks it, and the shell becomes `sleep`
        // keeping fd 9: one process holds the lock, so SIGKILL to it must free the target.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = [
            "-c", #"exec 9>>"$0" && /usr/bin/flock --exclusive 9 && exec sleep 30"#,
            SQLiteBackend.lockFilePath(forDatabaseAt: path),
        ]
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }

        // Wait until the other process really holds it (we may win the race at first).
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while try connection.tryLock(timeout: .milliseconds(10)) {
            try connection.unlock()
            try #require(ContinuousClock.now < deadline, "flock(1) never took the lock")
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(try !connection.tryLock(timeout: .milliseconds(200)))

        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(try connection.tryLock(timeout: .seconds(2)), "a killed holder left a stale lock")
    }

    @Test func tryLockWaitsAboutItsTimeout() throws {
        let path = freshFolder().appendingPathComponent("wait.db").path
        let holder = try connect(target("wait", path: path))
        let waiter = try connect(target("wait", path: path))
        #expect(try holder.tryLock(timeout: .zero))
        let started = ContinuousClock.now
        #expect(try !waiter.tryLock(timeout: .milliseconds(300)))
        let waited = started.duration(to: .now)
        #expect(waited >= .milliseconds(280) && waited < .seconds(2), "waited \(waited)")
    }

    // MARK: Steps

    @Test func failingStatementIsNamedByItsLineAfterCommentsAndBlankLines() throws {
        let connection = try connect(target("lines", path: freshFolder().appendingPathComponent("l.db").path))
        try connection.ensureHistoryTable()
        let script =
            "CREATE TABLE a (id INTEGER);\n\n-- the next one fails\n/* really */\nSELECT * FROM missing_table;\n"
        let error = #expect(throws: BackendError.self) { try connection.run(step("1", script)) }
        guard case .stepFailed(_, _, _, let message, _, let dirty)? = error else {
            Issue.record("expected .stepFailed, got \(String(describing: error))")
            return
        }
        #expect(message.contains("line 5"), "\(message)")
        #expect(message.contains("no such table: missing_table"), "\(message)")
        #expect(!dirty)
        #expect(try connection.readHistory().last?.error == message)
    }

    @Test func timeoutFailureSaysWhichLimitWasHit() throws {
        var timeouts = BackendConformance.timeouts
        timeouts.statementTimeout = .milliseconds(200)
        let connection = try connect(
            target("slow", path: freshFolder().appendingPathComponent("s.db").path), timeouts: timeouts)
        try connection.ensureHistoryTable()
        let error = #expect(throws: BackendError.self) { try connection.run(step("1", fixture.slowSQL(seconds: 5))) }
        guard case .stepFailed(_, _, _, let message, _, false)? = error else {
            Issue.record("expected a clean .stepFailed, got \(String(describing: error))")
            return
        }
        #expect(message.contains("statement timeout (200 ms)"), "\(message)")
    }

    @Test func zeroTimeoutsMeanNoLimitAsInPostgreSQL() throws {
        let timeouts = Timeouts(lockTimeout: .zero, statementTimeout: .zero, connectTimeout: .seconds(5))
        let connection = try connect(
            target("unlimited", path: freshFolder().appendingPathComponent("u.db").path), timeouts: timeouts)
        try connection.ensureHistoryTable()
        let count =
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200000) SELECT count(*) FROM c"
        #expect(try connection.run(step("1", count)).success)
    }

    @Test func scriptEndingTidemarksTransactionIsRecordedDirty() throws {
        let t = target("self-commit", path: freshFolder().appendingPathComponent("c.db").path)
        let connection = try connect(t)
        try connection.ensureHistoryTable()
        let script = "CREATE TABLE a (id INTEGER);\nCOMMIT;\nCREATE TABLE b (id INTEGER);\n"
        let error = #expect(throws: BackendError.self) { try connection.run(step("1", script)) }
        guard case .stepFailed(_, _, _, let message, _, let dirty)? = error else {
            Issue.record("expected .stepFailed, got \(String(describing: error))")
            return
        }
        #expect(dirty)
        #expect(message.contains("no-transaction"))
        let rows = try connection.readHistory()
        #expect(rows.count == 1 && rows.allSatisfy { !$0.success && !$0.transactional })
        #expect(TargetState(history: rows).isDirty)
        // Both ran: the first committed by the script's COMMIT, the second in autocommit.
        #expect(try SQLiteBackend.tableExists("a", in: t))
        #expect(try SQLiteBackend.tableExists("b", in: t))
    }

    @Test func scriptLeavingATransactionOpenIsRolledBackAndDirty() throws {
        let t = target("open-tx", path: freshFolder().appendingPathComponent("o.db").path)
        let connection = try connect(t)
        try connection.ensureHistoryTable()
        let error = #expect(throws: BackendError.self) {
            try connection.run(step("1", "BEGIN;\nCREATE TABLE c (id INTEGER);\n", transactional: false))
        }
        guard case .stepFailed(_, _, _, let message, _, true)? = error else {
            Issue.record("expected a dirty .stepFailed, got \(String(describing: error))")
            return
        }
        #expect(message.contains("left a transaction open"))
        #expect(try !SQLiteBackend.tableExists("c", in: t))
        #expect(TargetState(history: try connection.readHistory()).isDirty)
    }

    /// busy_timeout is the lock timeout: a second writer gives up instead of waiting forever.
    @Test func secondWriterGivesUpAfterTheLockTimeout() throws {
        let path = freshFolder().appendingPathComponent("busy.db").path
        let t = target("busy", path: path)
        let setup = try connect(t)
        try setup.ensureHistoryTable()
        setup.close()

        let shared = Mutex<(any StatementCanceller)?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let slowSQL = fixture.slowSQL(seconds: 5)
        let worker = Thread {
            defer { finished.signal() }
            guard
                let connection = try? SQLiteBackend().connect(
                    to: t, timeouts: BackendConformance.timeouts, logger: Logger.silent)
            else { return }
            shared.withLock { $0 = connection.canceller }
            _ = try? connection.run(BackendConformance.step("1", .forward, sql: slowSQL))
        }
        worker.start()
        defer {
            // Stop the slow writer so the test does not wait for it.
            while finished.wait(timeout: .now() + .milliseconds(50)) == .timedOut { shared.withLock { $0 }?.cancel() }
        }
        Thread.sleep(forTimeInterval: 0.4)

        var timeouts = BackendConformance.timeouts
        timeouts.lockTimeout = .milliseconds(200)
        let writer = try connect(t, timeouts: timeouts)
        let started = ContinuousClock.now
        let error = #expect(throws: BackendError.self) { try writer.run(step("2", "CREATE TABLE d (id INTEGER)")) }
        #expect(started.duration(to: .now) < .seconds(3))
        guard case .stepFailed(_, _, _, let message, _, false)? = error else {
            Issue.record("expected a clean .stepFailed, got \(String(describing: error))")
            return
        }
        #expect(message.contains("locked"), "\(message)")
        // Readers are not blocked by the writer (WAL).
        #expect(try writer.readHistory().isEmpty)
    }

    @Test func concurrentFirstConnectionsAllSucceed() throws {
        let t = target("race", path: freshFolder().appendingPathComponent("race.db").path)
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            do {
                let connection = try SQLiteBackend().connect(
                    to: t, timeouts: BackendConformance.timeouts, logger: Logger.silent)
                try connection.ensureHistoryTable()
                try connection.run(BackendConformance.step("\(index + 1)", .baseline, sql: "", scriptPath: ""))
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let rows = try connect(t).readHistory()
        #expect(rows.count == 8)
    }

    // MARK: Timestamps

    @Test func timestampsAreISO8601UTCWithMilliseconds() throws {
        #expect(SQLiteTimestamp(milliseconds: 0).text == "1970-01-01T00:00:00.000Z")
        #expect(SQLiteTimestamp(milliseconds: 1_740_821_400_125).text == "2025-03-01T09:30:00.125Z")
        #expect(SQLiteTimestamp(milliseconds: -1).text == "1969-12-31T23:59:59.999Z")
        #expect(SQLiteTimestamp(text: "2025-03-01T09:30:00.125Z")?.milliseconds == 1_740_821_400_125)
        #expect(SQLiteTimestamp(text: "2025-03-01 09:30:00")?.milliseconds == 1_740_821_400_000)
        #expect(SQLiteTimestamp(text: "2025-03-01T09:30:00.5Z")?.milliseconds == 1_740_821_400_500)
        #expect(SQLiteTimestamp(text: "2025-03-01T09:30:00.123456Z")?.milliseconds == 1_740_821_400_123)
        for bad in ["", "2025-03-01", "2025-03-01T09:30:00.Z", "2025-03-01T09:30:00+02:00", "yesterday"] {
            #expect(SQLiteTimestamp(text: bad) == nil, "\(bad)")
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let milliseconds = Int64.random(in: -10_000_000_000_000...10_000_000_000_000, using: &generator)
            let timestamp = SQLiteTimestamp(milliseconds: milliseconds)
            #expect(SQLiteTimestamp(text: timestamp.text) == timestamp)
            #expect(SQLiteTimestamp(timestamp.date) == timestamp)
        }
        // Truncating formatters show the stored millisecond (half of these would print one less
        // without the bias in `date`).
        for milliseconds in Int64(1_764_026_647_000)..<1_764_026_648_000 {
            let shown = SQLiteTimestamp(milliseconds: milliseconds).date.formatted(
                .iso8601.year().month().day().time(includingFractionalSeconds: true))
            let expected = String(milliseconds % 1000)
            #expect(shown.hasSuffix(String(repeating: "0", count: 3 - expected.count) + expected), "\(shown)")
        }
    }
}
