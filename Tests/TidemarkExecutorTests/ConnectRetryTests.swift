import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkPlanner
import TidemarkTestSupport

/// Connection retries in `TargetRunner`: transient failures are retried with backoff, and a stop
/// request ends the wait between attempts at once instead of being slept through.
@Suite struct ConnectRetryTests {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static let plan = Plan(
        name: "p", directory: "plans/p", format: .flyway,
        migrations: Version(numeric: "1").map { version in
            [
                Migration(
                    version: version, description: "v1",
                    forward: Script(path: "V1__x.sql", sql: "CREATE TABLE a (id int);", checksum: "c1"), undo: nil)
            ]
        } ?? [])

    func forwardPlan(for target: Target) throws -> TargetPlan {
        let inventory = Inventory(
            name: "i", file: "i.yaml", planDirectory: "plans/p",
            environments: [Environment(name: "e", tier: .dev, targets: [target])])
        return try #require(Planner(inventory: inventory, plan: Self.plan).plan(states: [:]).targets.first)
    }

    @Test func transientFailuresAreRetriedUntilTheConnectionSucceeds() throws {
        let store = MemoryStore()
        let target = Target(name: "t", environment: "e", connection: .url("memory:retry-\(UUID().uuidString)"))
        try store.failNextConnections(to: target, count: 2)
        let retry = RetryPolicy(attempts: 3, initialDelay: .milliseconds(5), maximumDelay: .milliseconds(10))
        let runner = TargetRunner(plan: Self.plan, runID: "r", appliedBy: "test", retry: retry, logger: Self.logger)
        let outcome = runner.run(
            try forwardPlan(for: target), on: target, backend: MemoryBackend(store: store), timeouts: .standard)
        #expect(outcome.outcome == .succeeded, "\(outcome)")
        #expect(store.pendingConnectionFailures(for: target) == 0)
    }

    @Test func stopRequestEndsTheBackoffWaitAtOnce() throws {
        let store = MemoryStore()
        let target = Target(name: "t", environment: "e", connection: .url("memory:stop-\(UUID().uuidString)"))
        try store.failNextConnections(to: target, count: 3)
        // Ten seconds between attempts: a wait that ignored the stop would take 5 s at the least.
        let retry = RetryPolicy(attempts: 4, initialDelay: .seconds(10), maximumDelay: .seconds(10))
        let runner = TargetRunner(plan: Self.plan, runID: "r", appliedBy: "test", retry: retry, logger: Self.logger)
        let clock = ContinuousClock()
        let started = clock.now
        let stopAt = started + .milliseconds(200)
        let outcome = runner.run(
            try forwardPlan(for: target), on: target, backend: MemoryBackend(store: store), timeouts: .standard,
            shouldStop: { clock.now >= stopAt })
        let elapsed = clock.now - started
        #expect(elapsed < .seconds(2), "the stop was slept through: \(elapsed)")
        #expect(outcome.outcome == .interrupted, "\(outcome)")
        #expect(outcome.steps.isEmpty)
        #expect(store.pendingConnectionFailures(for: target) == 2, "no attempt after the stop")
    }
}
