import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

@testable import TidemarkControl

/// Batched claims (docs/tenants.md#batched-claims) on a run a real `tidemark apply --control`
/// stored, claimed here through `ControlStore` as runners claim.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct BatchedClaimTests {
    /// A run of two waves of four targets, stored by a runner that serves none of them.
    private func storedRun() async throws -> (fleet: ControlFleet, runID: String, store: ControlStore) {
        let fleet = try ControlFleet(perWave: 4, stepSeconds: 0)
        let idle = try await CommandRunner.run(fleet.apply(["--serve", "nowhere"]), in: fleet.directory)
        #expect(idle.status == 0, "\(idle)")
        let runID = try #require(ControlFleet.runID(in: idle.standardOutput), "\(idle)")
        let store = try ControlStore(database: ControlDatabase(url: fleet.url), appliedBy: "test", logger: .silent)
        return (fleet, runID, store)
    }

    @Test func oneClaimTakesSeveralTargetsOfTheLowestWaveInOrderAndNeverTheNextWave() async throws {
        let (fleet, runID, store) = try await storedRun()
        defer {
            store.close()
            fleet.remove()
        }
        let first = try store.claim(runID, runner: "r1", served: nil, lease: .seconds(30), limit: 3)
        #expect(first.map(\.plan.target) == ["a-01", "a-02", "a-03"])
        #expect(first.allSatisfy { $0.wave == 0 && $0.claims == 1 && $0.previousRunner == nil })
        // The wave's last target, and nothing of the second wave while the first is not done.
        let second = try store.claim(runID, runner: "r2", served: nil, lease: .seconds(30), limit: 10)
        #expect(second.map(\.plan.target) == ["a-04"])
        #expect(try store.claim(runID, runner: "r2", served: nil, lease: .seconds(30), limit: 10).isEmpty)

        // Buffered targets put back are claimable at once, by anyone.
        try store.release(runID, targets: ["a-02", "a-03"], runner: "r1")
        let again = try store.claim(runID, runner: "r2", served: nil, lease: .seconds(30), limit: 10)
        #expect(again.map(\.plan.target) == ["a-02", "a-03"])
        // A runner cannot put back what another holds.
        try store.release(runID, targets: ["a-02"], runner: "r1")
        #expect(try store.claim(runID, runner: "r3", served: nil, lease: .seconds(30), limit: 10).isEmpty)

        // Their outcomes in one statement; the run stands as before.
        let outcomes = (first.prefix(1) + second + again).map { claim in
            (outcome: TargetOutcome(plan: claim.plan, outcome: .unchanged), event: Event?.none)
        }
        let r1 = try store.record(Array(outcomes.prefix(1)), runID: runID, runner: "r1")
        let r2 = try store.record(Array(outcomes.dropFirst()), runID: runID, runner: "r2")
        #expect(r1.recorded == ["a-01"])
        #expect(r2.recorded == ["a-02", "a-03", "a-04"])
        #expect(r2.run == RunState(halted: nil, finishingWave: nil, stopRequested: false))
        // The first wave done everywhere: the second opens.
        let next = try store.claim(runID, runner: "r1", served: nil, lease: .seconds(30), limit: 2)
        #expect(next.map(\.plan.target) == ["b-01", "b-02"])
        #expect(next.allSatisfy { $0.wave == 1 })
    }

    /// A joining runner reads the stored plans back with each distinct one decoded once: the same
    /// plans, in rollout order, as decoding every row.
    @Test func plansReadBackAreTheStoredPlansInRolloutOrder() async throws {
        let (fleet, runID, store) = try await storedRun()
        defer {
            store.close()
            fleet.remove()
        }
        let whole = try store.outcomes(runID).compactMap(\.plan)
        let shared = try store.plans(runID)
        #expect(whole.count == 8)
        #expect(shared == whole)
        #expect(shared.map(\.target) == ["a-01", "a-02", "a-03", "a-04", "b-01", "b-02", "b-03", "b-04"])
        #expect(shared.allSatisfy { $0.reason.hasPrefix($0.target) })
    }

    /// Control schema version 8 stores each distinct plan once; a run stored before, with a plan
    /// in every target row, is read back and claimed as it was.
    @Test func distinctPlansAreStoredOnceAndRowsOfOlderRunsStillRead() async throws {
        let (fleet, runID, store) = try await storedRun()
        defer {
            store.close()
            fleet.remove()
        }
        let session = try fleet.session()
        defer { session.close() }
        let stored = try store.plans(runID)
        let counts = try session.query(
            """
            SELECT (SELECT count(*) FROM tidemark_control.plans WHERE run_id = $1),
                   (SELECT count(*) FROM tidemark_control.targets WHERE run_id = $1 AND plan IS NULL AND plan_id IS NOT NULL)
            """, [runID]
        ).first
        // Eight targets of two test environments planned alike but for their names: one plan.
        #expect(counts?[0] == "1" && counts?[1] == "8", "\(String(describing: counts))")

        // The same run as a Tidemark before version 8 stored it: its whole plan in every row.
        try session.query(
            """
            UPDATE tidemark_control.targets t
            SET plan = jsonb_set(jsonb_set(jsonb_set(p.plan, '{target}', to_jsonb(t.target)),
                    '{environment}', to_jsonb(t.environment)), '{reason}', to_jsonb(t.reason)),
                plan_id = NULL, reason = NULL
            FROM tidemark_control.plans p WHERE t.run_id = $1 AND p.run_id = $1 AND p.plan_id = t.plan_id
            """, [runID])
        try session.query("DELETE FROM tidemark_control.plans WHERE run_id = $1", [runID])
        let older = try ControlStore(database: ControlDatabase(url: fleet.url), appliedBy: "test", logger: .silent)
        defer { older.close() }
        #expect(try older.plans(runID) == stored)
        #expect(try older.outcomes(runID).compactMap(\.plan) == stored)
        let claimed = try older.claim(runID, runner: "r1", served: nil, lease: .seconds(30), limit: 2)
        #expect(claimed.map(\.plan) == Array(stored.prefix(2)))
    }

    /// A runner that dies with targets in its buffer loses them with its leases: another runner
    /// takes them over once the lease ran out, reading their state again; a live runner's
    /// renewals keep its buffered targets.
    @Test func bufferedTargetsAreRenewedWhileTheRunnerLivesAndTakenOverAfter() async throws {
        let (fleet, runID, store) = try await storedRun()
        defer {
            store.close()
            fleet.remove()
        }
        let held = try store.claim(runID, runner: "r1", served: nil, lease: .milliseconds(500), limit: 4)
        #expect(held.count == 4)
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(200))
            _ = try store.renew(runID, runner: "r1", lease: .milliseconds(500))
        }
        #expect(try store.claim(runID, runner: "r2", served: nil, lease: .seconds(30), limit: 4).isEmpty)
        var taken: [Claim] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while taken.isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            taken = try store.claim(runID, runner: "r2", served: nil, lease: .seconds(30), limit: 4)
        }
        #expect(taken.map(\.plan.target) == ["a-01", "a-02", "a-03", "a-04"])
        #expect(taken.allSatisfy { $0.previousRunner == "r1" && $0.needsFreshState })
    }

    /// A stop seen with an outcome: the run's state comes back with the record, and a claim takes nothing.
    @Test func aRecordSaysTheRunWasStopped() async throws {
        let (fleet, runID, store) = try await storedRun()
        defer {
            store.close()
            fleet.remove()
        }
        let held = try store.claim(runID, runner: "r1", served: nil, lease: .seconds(30), limit: 2)
        #expect(try store.requestStop(runID))
        let result = try store.record(
            [(TargetOutcome(plan: held[0].plan, outcome: .unchanged), nil)], runID: runID, runner: "r1")
        #expect(result.run.stopRequested)
        #expect(!result.run.allows(wave: 0))
        #expect(try store.claim(runID, runner: "r2", served: nil, lease: .seconds(30), limit: 4).isEmpty)
    }
}

/// The stored fleet's shape, without a database.
@Suite struct StoredFleetTests {
    @Test func textArrayLiteralsEscapeQuotesAndBackslashesOnly() {
        #expect(ControlStore.textArray(["a\"b", "c\\d", "é,{}", ""]) == #"{"a\"b","c\\d","é,{}",""}"#)
        #expect(ControlStore.optionalTextArray(["x", nil]) == #"{"x",NULL}"#)
        #expect(ControlStore.textArray([]) == "{}")
    }

    @Test func passwordsAreRemovedFromStoredConnectionStrings() {
        #expect(StoredFleet.withoutPassword("postgres://app:s3cr%40t@db-1:5432/app") == "postgres://app@db-1:5432/app")
        #expect(
            StoredFleet.withoutPassword("postgres://app@db-1/app?sslmode=require")
                == "postgres://app@db-1/app?sslmode=require")
        #expect(StoredFleet.withoutPassword("host=db-1 password=hunter2 dbname=app") == "host=db-1  dbname=app")
        #expect(
            StoredFleet.withoutPassword("postgres://app@db-1/app?password=hunter2&sslmode=require")
                == "postgres://app@db-1/app?sslmode=require")
        for url in ["postgres://app:a@b@db-1/app", "host=db password='x y' dbname=app"] {
            #expect(
                !StoredFleet.withoutPassword(url).contains("a@b") && !StoredFleet.withoutPassword(url).contains("x y"))
        }
    }
}
