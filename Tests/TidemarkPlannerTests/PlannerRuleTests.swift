import Foundation
import Testing
import TidemarkCore
import TidemarkPlanner

/// The rules of SPEC 1, one scenario each, on the demo fleet's shape.
@Suite struct PlannerRuleTests {
    typealias B = PlanBuilder

    /// v1..v4 where v4 is the bad destructive one; optionally v5 compensating v4.
    func demoPlan(quarantine4: Bool = true, withV5: Bool = true) -> Plan {
        var migrations = [
            B.migration(1), B.migration(2), B.migration(3),
            B.migration(4, "drop totals", forward: "ALTER TABLE orders DROP COLUMN total;", undo: "ALTER TABLE orders ADD COLUMN total int;"),
        ]
        if withV5 {
            migrations.append(B.migration(5, "revert drop totals", forward: "ALTER TABLE orders ADD COLUMN total int;", undo: "ALTER TABLE orders DROP COLUMN total;", compensates: 4))
        }
        return B.plan(migrations, quarantine: quarantine4 ? [4] : [])
    }

    func plans(_ plan: Plan, applied: [Int], strategy: Strategy = .auto, to: Int? = nil) -> [String: TargetPlan] {
        let inventory = B.inventory(extraEnvironments: [
            Environment(name: "fresh", tier: .test, targets: [Target(name: "fresh-1", environment: "fresh", connection: .url("memory:fresh-1"))])
        ])
        var states: [String: TargetState] = [:]
        for target in inventory.allTargets where target.name != "fresh-1" {
            states[target.name] = B.history(plan, applied: applied)
        }
        let rollout = Planner(inventory: inventory, plan: plan).plan(
            states: states, options: PlannerOptions(desiredVersion: to.map(B.v), strategy: strategy))
        return Dictionary(uniqueKeysWithValues: rollout.targets.map { ($0.target, $0) })
    }

    @Test func appliesPendingVersionsInOrder() {
        let result = plans(demoPlan(quarantine4: false, withV5: false), applied: [1])
        #expect(result["dev"]?.action == .forward)
        #expect(result["dev"]?.steps.map(\.version.text) == ["2", "3", "4"])
        #expect(result["dev"]?.steps.last?.dataLosing == true)
        #expect(result["prod-eu-1"]?.reason == "prod-eu-1 applies pending versions 2, 3, 4.")
    }

    @Test func liveProdRollsForwardWhenV4IsQuarantined() {
        let plan = plans(demoPlan(), applied: [1, 2, 3, 4])["prod-eu-1"]
        #expect(plan?.action == .rollforward)
        #expect(plan?.steps.map { "\($0.kind.rawValue) \($0.version)" } == ["compensate 5"])
        #expect(plan?.reason == "prod-eu-1 is live production: roll forward keeps the audit trail v3 → v4 → v5 (v5 reverses v4); v4 is quarantined: bad 4.")
        #expect(plan?.toVersion == "5")
    }

    @Test func devTestAndDowntimeProdRollBackTheQuarantinedVersion() {
        let result = plans(demoPlan(), applied: [1, 2, 3, 4])
        for name in ["dev", "test", "prod-ap-1"] {
            #expect(result[name]?.action == .rollback, "\(name)")
            #expect(result[name]?.steps.map { "\($0.kind.rawValue) \($0.version)" } == ["undo 4", "skip 5"], "\(name)")
        }
        #expect(result["prod-ap-1"]?.reason.contains("downtime window") == true)
        #expect(result["dev"]?.reason.contains("v4 is quarantined: bad 4") == true)
    }

    @Test func auditedEnvironmentNeverRollsBack() {
        let plan = plans(demoPlan(), applied: [1, 2, 3, 4])["audit-1"]
        #expect(plan?.action == .rollforward)
        #expect(plan?.reason.contains("audited") == true)
        #expect(plan?.steps.contains { $0.kind == .undo } == false)
    }

    @Test func newTargetNeverRunsTheQuarantinedVersion() {
        let plan = plans(demoPlan(), applied: [1, 2, 3, 4])["fresh-1"]
        #expect(plan?.action == .forward)
        #expect(plan?.steps.map { "\($0.kind.rawValue) \($0.version)" } == ["forward 1", "forward 2", "forward 3", "skip 5"])
        #expect(plan?.reason.contains("quarantined v4 never runs here") == true, "\(plan?.reason ?? "")")
    }

    @Test func quarantineWithoutCompensationBlocksLiveProdWithRevertHint() {
        let result = plans(demoPlan(withV5: false), applied: [1, 2, 3, 4])
        #expect(result["prod-eu-1"]?.action == .blocked)
        #expect(result["prod-eu-1"]?.reason.contains("`tidemark revert 4`") == true)
        #expect(result["dev"]?.action == .rollback)
        #expect(result["dev"]?.steps.map { "\($0.kind.rawValue) \($0.version)" } == ["undo 4"])
    }

    @Test func forcedRollbackOfLiveProdIsRefusedWithTheReason() {
        let plan = plans(demoPlan(), applied: [1, 2, 3, 4], strategy: .rollback)["prod-eu-1"]
        #expect(plan?.action == .blocked)
        #expect(plan?.reason.contains("forced roll back (--strategy rollback) is refused") == true)
    }

    @Test func strategyRollforwardCompensatesOnDevToo() {
        let plan = plans(demoPlan(), applied: [1, 2, 3, 4], strategy: .rollforward)["dev"]
        #expect(plan?.action == .rollforward)
        #expect(plan?.steps.map { "\($0.kind.rawValue) \($0.version)" } == ["compensate 5"])
    }

    @Test func lowerDesiredVersionRollsBackOrForwardBySameRules() {
        let result = plans(demoPlan(quarantine4: false, withV5: false), applied: [1, 2, 3, 4], to: 2)
        #expect(result["dev"]?.action == .rollback)
        #expect(result["dev"]?.steps.map { "\($0.kind.rawValue) \($0.version)" } == ["undo 4", "undo 3"])
        #expect(result["dev"]?.toVersion == "2")
        #expect(result["prod-eu-1"]?.action == .blocked)
        #expect(result["prod-eu-1"]?.reason.contains("tidemark revert 3") == true)
    }

    @Test func missingUndoBlocksRollbackSayingRestoreIsTheWayBack() {
        let plan = B.plan([B.migration(1), B.migration(2, undo: .none)], quarantine: [2])
        let result = plans(plan, applied: [1, 2])
        #expect(result["dev"]?.action == .blocked)
        #expect(result["dev"]?.reason.contains("no undo script; only a restore from backup") == true)
    }

    @Test func irreversibleUndoBlocksWithItsReason() {
        let plan = B.plan([B.migration(1), B.migration(2, undo: "SELECT 1;", irreversible: "ALTER TYPE … ADD VALUE")], quarantine: [2])
        let result = plans(plan, applied: [1, 2])
        #expect(result["dev"]?.action == .blocked)
        #expect(result["dev"]?.reason.contains("irreversible (ALTER TYPE … ADD VALUE)") == true)
    }

    @Test func dirtyChecksumUnknownAndGapBlock() {
        let plan = demoPlan(quarantine4: false, withV5: false)
        let inventory = B.inventory()
        var dirty = B.history(plan, applied: [1])
        dirty.apply(
            HistoryEntry(
                id: 9, version: "2", description: "v2", kind: .forward, script: "V2", checksum: "x", runID: "r", appliedBy: "t",
                startedAt: Date(timeIntervalSince1970: 0), finishedAt: nil, executionMS: 0, success: false, transactional: false))
        var mismatch = B.history(plan, applied: [1])
        mismatch.applied[0].checksum = "edited"
        var unknown = B.history(plan, applied: [1])
        unknown.applied.append(AppliedVersion(version: "9", kind: .forward, checksum: "c", entryID: 5))
        let gap = B.history(plan, applied: [1, 3])
        let rollout = Planner(inventory: inventory, plan: plan).plan(
            states: ["dev": dirty, "test": mismatch, "prod-ap-1": unknown, "prod-eu-1": gap])
        let byName = Dictionary(uniqueKeysWithValues: rollout.targets.map { ($0.target, $0) })
        #expect(byName["dev"]?.reason.contains("is dirty: version 2 failed outside a transaction") == true)
        #expect(byName["test"]?.reason.contains("checksum edited") == true)
        #expect(byName["prod-ap-1"]?.reason.contains("version 9 applied, which plan test does not know") == true)
        #expect(byName["prod-eu-1"]?.reason.contains("out-of-order gap") == true)
        for name in ["dev", "test", "prod-ap-1", "prod-eu-1"] { #expect(byName[name]?.action == .blocked, "\(name)") }
    }

    @Test func convergedTargetsGetNone() {
        let plan = demoPlan()
        var rolledForward = B.history(plan, applied: [1, 2, 3, 4])
        rolledForward.apply(
            HistoryEntry(
                id: 10, version: "5", description: "v5", kind: .compensate, script: "V5", checksum: plan.migrations[4].forward.checksum,
                runID: "r", appliedBy: "t", startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 0),
                executionMS: 1, success: true, transactional: true))
        let rollout = Planner(inventory: B.inventory(), plan: plan).plan(
            states: ["prod-eu-1": rolledForward, "dev": B.history(plan, applied: [1, 2, 3, 5], kinds: [5: .skip])],
            options: PlannerOptions(targets: ["prod-eu-1", "dev"]))
        #expect(rollout.targets.map(\.action) == [.none, .none])
    }
}
