import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkPostgres
import TidemarkTestSupport

@testable import TidemarkFleet

/// The lock-timeout retries (docs/live-production.md#lock-timeout-retries) on a real PostgreSQL:
/// another connection holds an ACCESS EXCLUSIVE lock on the table while `apply` runs an ALTER TABLE
/// with a 1 s `lock_timeout`, and lets go once the first attempt has timed out (so the test does
/// not depend on how fast a busy machine gets to the step). With `lock_retries` (5 by default on
/// live) the step fails with 55P03, rolls back, and is run again until it gets the lock; with
/// `lock_retries: 0` it fails as before.
@Suite(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)), .serialized)
struct LockRetryPostgresTests {
    struct Target {
        let root: URL
        let schema: String
        var inventory: String { root.appendingPathComponent("inventories/fleet.yaml").path }

        init(lockRetries: Int?) throws {
            let url = try #require(TestPostgres.url)
            root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "tidemark-lock-retry-\(UUID().uuidString)")
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("plans/app"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
            schema = try TestPostgres.createSchema(for: "lockretry")
            try TestPostgres.execute("CREATE TABLE \(TestPostgres.quoted(schema)).orders (id bigint PRIMARY KEY)")
            try "ALTER TABLE orders ADD COLUMN note text;\n".write(
                to: root.appendingPathComponent("plans/app/V1__orders_note.sql"), atomically: true, encoding: .utf8)
            let retries = lockRetries.map { ", lock_retries: \($0)" } ?? ""
            try """
            inventory: fleet
            plan: ../plans/app
            environments:
              prod: { tier: prod, live: true, lock_timeout: 1s\(retries), targets: [ { name: prod-1, url: "\(url)", schema: \(schema) } ] }
            """.write(toFile: inventory, atomically: true, encoding: .utf8)
        }

        /// Holds ACCESS EXCLUSIVE on `orders` from another connection until `releaseTableLock()`
        /// (at most a minute); returns once it is held.
        func holdTableLock() async throws -> Task<Void, Never> {
            let table = TestPostgres.quoted(schema) + ".orders"
            let holder = Task.detached {
                // Ended by pg_terminate_backend: its error is the expected end.
                _ = try? TestPostgres.execute(
                    "LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60) /* \(schema) holder */")
            }
            let held = """
                DO $tm$ BEGIN IF NOT EXISTS (
                  SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = '\(schema)' AND c.relname = 'orders' AND l.mode = 'AccessExclusiveLock' AND l.granted)
                THEN RAISE EXCEPTION 'not held yet'; END IF; END $tm$
                """
            for _ in 0..<100 {
                if (try? TestPostgres.execute(held)) != nil { return holder }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the other connection never got the table lock")
            return holder
        }

        /// Ends the holder's session, releasing its lock.
        func releaseTableLock() throws {
            try TestPostgres.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%\(schema) holder%' AND pid <> pg_backend_pid()"
            )
        }

        func apply(observer: some ApplyObserver = SilentApplyObserver()) async throws -> ApplyResult {
            var request = ApplyRequest(
                source: .inventory(inventory), confirmation: .given, runID: "lock-retry-\(UUID().uuidString.prefix(8))",
                appliedBy: "test@host",
                environment: [:])
            request.stateDirectory = StateDirectory(root: root.appendingPathComponent(".tidemark"))
            return try await ApplyRun(registry: BackendRegistry([PostgresBackend()]), logger: .silent).run(
                request, observer: observer)
        }

        func history() throws -> [HistoryEntry] {
            let url = try #require(TestPostgres.url)
            let target = TidemarkCore.Target(name: "prod-1", environment: "prod", connection: .url(url), schema: schema)
            let connection = try PostgresBackend().connect(
                to: target, access: .readOnly, timeouts: .standard, logger: .silent)
            defer { connection.close() }
            return try connection.readHistory()
        }

        func cleanUp() {
            try? TestPostgres.dropSchema(schema)
            try? FileManager.default.removeItem(at: root)
        }
    }

    /// Lets the table lock go when the first retry is announced.
    final class ReleaseOnRetry: ApplyObserver, Sendable {
        let target: Target
        init(_ target: Target) { self.target = target }
        func handle(_ event: RunEvent) {
            if case .stepRetrying(_, _, _, let attempt, _, _, _) = event, attempt == 2 {
                try? target.releaseTableLock()
            }
        }
    }

    @Test func aStepThatTimesOutOnALockIsRetriedUntilItGetsTheLockAndRecordedOnce() async throws {
        let target = try Target(lockRetries: nil) // live: 5 by default
        defer { target.cleanUp() }
        let holder = try await target.holdTableLock()
        let result = try await target.apply(observer: ReleaseOnRetry(target))
        try target.releaseTableLock()
        await holder.value

        #expect(result.status == .succeeded, "\(result.report?.targets.first?.error ?? "")")
        let step = try #require(result.report?.targets.first?.steps.first)
        let attempts = try #require(step.attempts, "the step did not wait for the lock")
        #expect(step.success && attempts >= 2 && attempts <= 6)
        #expect(step.lockTimeouts?.count == attempts - 1)
        #expect(step.lockTimeouts?.allSatisfy { $0.contains("lock timeout") } == true, "\(step.lockTimeouts ?? [])")

        // Applied once: one successful row; each timed-out attempt left its failed, rolled-back row.
        let rows = try target.history().filter { $0.version == "1" }
        #expect(rows.filter(\.success).count == 1)
        #expect(rows.filter { !$0.success }.count == attempts - 1)
        #expect(rows.allSatisfy { $0.transactional })
        // Each row names its attempt: the failed ones 1…N-1, the one that committed N.
        #expect(rows.map(\.attempt) == Array(1...attempts))
        #expect(rows.last?.success == true && rows.last?.attempt == attempts)
        let state = TargetState(history: try target.history())
        #expect(state.applied.map(\.version) == ["1"])
    }

    @Test func withoutLockRetriesTheStepFailsAsBefore() async throws {
        let target = try Target(lockRetries: 0)
        defer { target.cleanUp() }
        let holder = try await target.holdTableLock()
        let result = try await target.apply()
        try target.releaseTableLock()
        await holder.value

        #expect(result.status == .failed)
        let step = try #require(result.report?.targets.first?.steps.first)
        #expect(!step.success && step.attempts == nil)
        #expect(step.error?.contains("lock timeout") == true, "\(step.error ?? "")")
        let state = TargetState(history: try target.history())
        #expect(state.applied.isEmpty)
    }
}
