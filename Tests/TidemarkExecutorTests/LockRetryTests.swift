import Foundation
import Logging
import Synchronization
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkPlanner
import TidemarkTestSupport

/// A backend whose first `failures` steps fail as a lock timeout (or with `sqlState`) without running.
struct LockContendedBackend: Backend {
    final class Remaining: Sendable {
        let count: Mutex<Int>
        init(_ count: Int) { self.count = Mutex(count) }
    }

    let base: MemoryBackend
    let failures: Remaining
    let sqlState: String
    var kind: BackendKind { .memory }

    func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> any BackendConnection
    {
        LockContendedConnection(
            base: try base.connect(to: target, access: access, timeouts: timeouts, logger: logger), backend: self)
    }
}

final class LockContendedConnection: ForwardingConnection {
    let base: any BackendConnection
    let backend: LockContendedBackend

    init(base: any BackendConnection, backend: LockContendedBackend) {
        self.backend = backend
        self.base = base
    }

    func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry {
        let fail = backend.failures.count.withLock { remaining in
            guard remaining > 0 else { return false }
            remaining -= 1
            return true
        }
        if fail {
            throw .stepFailed(
                target: target.name, version: step.version, kind: step.kind,
                message: "canceling statement due to lock timeout",
                sqlState: backend.sqlState, dirty: !step.transactional)
        }
        return try base.run(step)
    }
}

/// docs/live-production.md#lock-timeout-retries: which failures `lock_retries` retries, and how the
/// attempts are reported.
@Suite struct LockRetryTests {
    func run(failures: Int, lockRetries: Int, transactional: Bool = true, sqlState: String = "55P03") throws -> (
        TargetOutcome, [RunEvent]
    ) {
        let store = MemoryStore()
        let plan = Plan(
            name: "p", directory: "plans/p", format: .flyway,
            migrations: [
                Migration(
                    version: Version(numeric: "1") ?? Version(numeric: "0")!, description: "v1",
                    forward: Script(
                        path: "V1__x.sql", sql: "CREATE TABLE a (id int);", checksum: "c1",
                        noTransaction: transactional ? nil : .directive), undo: nil)
            ])
        let target = Target(
            name: "prod-1", environment: "prod", connection: .url("memory:lock-retry-\(UUID().uuidString)"))
        let inventory = Inventory(
            name: "i", file: "i.yaml", planDirectory: "plans/p",
            environments: [Environment(name: "prod", tier: .prod, targets: [target])])
        let rollout = Planner(inventory: inventory, plan: plan).plan(states: [:])
        let targetPlan = try #require(rollout.targets.first)
        var runner = TargetRunner(plan: plan, runID: "r", appliedBy: "t", logger: .silent)
        runner.lockBackoff = Backoff(initial: .milliseconds(2), maximum: .milliseconds(4))
        let backend = LockContendedBackend(
            base: MemoryBackend(store: store), failures: .init(failures), sqlState: sqlState)
        var events: [RunEvent] = []
        let outcome = runner.run(
            targetPlan, on: target, backend: backend, timeouts: .standard, lockRetries: lockRetries,
            onEvent: { events.append($0) })
        return (outcome, events)
    }

    @Test func aLockTimeoutIsRetriedAndTheAttemptsAreReported() throws {
        let (outcome, events) = try run(failures: 2, lockRetries: 5)
        #expect(outcome.outcome == .succeeded)
        #expect(outcome.steps.map(\.attempts) == [3])
        #expect(outcome.steps.first?.lockTimeouts?.count == 2)
        let attempts = events.compactMap { event -> Int? in
            if case .stepRetrying(_, _, _, let attempt, let of, _, _) = event, of == 6 { return attempt }
            return nil
        }
        #expect(attempts == [2, 3])
    }

    @Test func retriesRunOutAfterLockRetries() throws {
        let (outcome, events) = try run(failures: 10, lockRetries: 2)
        #expect(outcome.outcome == .failed)
        #expect(outcome.steps.map(\.attempts) == [3])
        #expect(outcome.steps.map(\.success) == [false])
        #expect(events.count == 2)
    }

    @Test func noTransactionStepsAndOtherErrorsAreNeverRetried() throws {
        let (noTransaction, _) = try run(failures: 1, lockRetries: 5, transactional: false)
        #expect(noTransaction.outcome == .failed && noTransaction.steps.map(\.attempts) == [nil])
        let (otherError, events) = try run(failures: 1, lockRetries: 5, sqlState: "42P01")
        #expect(otherError.outcome == .failed && otherError.steps.map(\.attempts) == [nil])
        #expect(events.isEmpty)
    }

    @Test func onlyLockTimeoutStatesCount() {
        func failure(_ state: String?, dirty: Bool = false) -> BackendError {
            .stepFailed(target: "t", version: "1", kind: .forward, message: "m", sqlState: state, dirty: dirty)
        }
        #expect(failure("55P03").isLockTimeout && failure("SQLITE_BUSY").isLockTimeout)
        #expect(!failure("55P03", dirty: true).isLockTimeout)
        #expect(!failure("57014").isLockTimeout && !failure(nil).isLockTimeout)
        #expect(!BackendError.queryFailed(target: "t", message: "m", sqlState: "55P03").isLockTimeout)
    }
}
