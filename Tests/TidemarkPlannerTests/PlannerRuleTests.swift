import Foundation
import Testing
import TidemarkCore
import TidemarkPlanner

/// The rules of docs/guide.md#why-roll-back-why-roll-forward, one scenario each, on the demo fleet's shape.
@Suite struct PlannerRuleTests {
    typealias B = PlanBuilder

    /// v1..v4 where v4 is the bad destructive one; optionally v5 compensating v4.
    func demoPlan(quarantine4: Bool = true, withV5: Bool = true) -> Plan {
        var migrations = [
            B.migration(1), B.migration(2), B.migration(3),
            B.migration(
                4, "drop totals", forward: "ALTER TABLE orders DROP COLUMN total;",
                undo: "ALTER TABLE orders ADD COLUMN total int;"),
        ]
        if withV5 {
            migrations.append(
                B.migration(
                    5, "revert drop totals", forward: "ALTER TABLE orders ADD COLUMN total int;",
                    undo: "ALTER TABLE orders DROP COLUMN total;", compensates: 4))
        }
        return B.plan(migrations, quarantine: quarantine4 ? [4] : [])
    }

    func plans(_ plan: Plan, applied: [Int], strategy: Strategy = .auto, to desired: DesiredVersion = .latest)
        -> [String: TargetPlan]
    {
        let inventory = B.inventory(extraEnvironments: [
            Environment(
                name: "fresh", tier: .test,
                targets: [Target(name: "fresh-1", environment: "fresh", connection: .url("memory:fresh-1"))])
        ])
        var states: [String: TargetState] = [:]
        for target in inventory.allTargets where target.name != "fresh-1" {
            states[target.name] = B.history(plan, applied: applied)
        }
        let rollout = Planner(inventory: inventory, plan: plan).plan(
            states: states, options: PlannerOptions(desiredVersion: desired, strategy: strategy))
        return Dictionary(uniqueKeysWithValues: rollout.targets.map { ($0.target, $0) })
    }

    func kinds(_ plan: TargetPlan?) -> [String]? {
        plan?.steps.map { "\($0.kind.rawValue) \($0.version)" }
    }

    @Test func appliesPendingVersionsInOrder() {
        let result = plans(demoPlan(quarantine4: false, withV5: false), applied: [1])
        #expect(result["dev"]?.decision == .applyPending(neverRun: []))
        #expect(result["dev"]?.steps.map(\.version.text) == ["2", "3", "4"])
        #expect(result["dev"]?.steps.last?.dataLosing == true)
        #expect(result["prod-eu-1"]?.reason == "prod-eu-1 applies pending versions 2, 3, 4.")
    }

    @Test func liveProdRollsForwardWhenV4IsQuarantined() {
        let plan = demoPlan()
        let result = plans(plan, applied: [1, 2, 3, 4])["prod-eu-1"]
        #expect(
            result?.decision
                == .rollForward(
                    rule: .liveProduction,
                    compensations: [Compensation(before: B.v(3), reversed: B.v(4), compensation: B.v(5))],
                    quarantined: plan.quarantine))
        #expect(kinds(result) == ["compensate 5"])
        #expect(result?.steps.first?.compensates == B.v(4))
        #expect(
            result?.reason
                == "prod-eu-1 is live production: roll forward keeps the audit trail v3 → v4 → v5 (v5 reverses v4); v4 is quarantined: bad 4."
        )
        #expect(result?.toVersion == "5")
    }

    @Test func devTestAndDowntimeProdRollBackTheQuarantinedVersion() {
        let plan = demoPlan()
        let result = plans(plan, applied: [1, 2, 3, 4])
        let rules: [String: Rule] = [
            "dev": .nonProduction(tier: .dev), "test": .nonProduction(tier: .test), "prod-ap-1": .downtimeWindow,
        ]
        for (name, rule) in rules {
            #expect(result[name]?.decision == .rollBack(rule: rule, quarantined: plan.quarantine), "\(name)")
            #expect(kinds(result[name]) == ["undo 4", "skip 5"], "\(name)")
            // The way down and where it lands (v3), then v5 recorded as skip: the target ends at 5.
            #expect(result[name]?.lowestVersion == "3", "\(name)")
            #expect(result[name]?.toVersion == "5", "\(name)")
        }
    }

    @Test func auditedEnvironmentNeverRollsBack() {
        let plan = plans(demoPlan(), applied: [1, 2, 3, 4])["audit-1"]
        #expect(plan?.action == .rollforward)
        #expect(plan?.rule == .audited)
        #expect(plan?.steps.contains { $0.kind == .undo } == false)
    }

    @Test func newTargetNeverRunsTheQuarantinedVersion() {
        let plan = plans(demoPlan(), applied: [1, 2, 3, 4])["fresh-1"]
        #expect(plan?.decision == .applyPending(neverRun: [B.v(4)]))
        #expect(kinds(plan) == ["forward 1", "forward 2", "forward 3", "skip 5"])
        #expect(plan?.steps.last?.compensates == B.v(4))
    }

    @Test func quarantineWithoutCompensationBlocksLiveProdWithRevertHint() {
        let result = plans(demoPlan(withV5: false), applied: [1, 2, 3, 4])
        #expect(
            result["prod-eu-1"]?.decision == .blocked(reason: .noCompensation(version: B.v(4)), rule: .liveProduction))
        #expect(result["dev"]?.action == .rollback)
        #expect(kinds(result["dev"]) == ["undo 4"])
    }

    @Test func forcedRollbackOfLiveProdIsRefusedWithTheReason() {
        let result = plans(demoPlan(), applied: [1, 2, 3, 4], strategy: .rollback)
        #expect(result["prod-eu-1"]?.decision == .blocked(reason: .forcedRollbackRefused, rule: .liveProduction))
        #expect(result["audit-1"]?.decision == .blocked(reason: .forcedRollbackRefused, rule: .audited))
        #expect(result["dev"]?.rule == .nonProduction(tier: .dev))
    }

    @Test func strategyRollforwardCompensatesOnDevToo() {
        let plan = plans(demoPlan(), applied: [1, 2, 3, 4], strategy: .rollforward)["dev"]
        #expect(plan?.action == .rollforward)
        #expect(plan?.rule == .forcedRollForward)
        #expect(kinds(plan) == ["compensate 5"])
    }

    @Test func lowerDesiredVersionRollsBackOrForwardBySameRules() {
        let result = plans(demoPlan(quarantine4: false, withV5: false), applied: [1, 2, 3, 4], to: .version(B.v(2)))
        #expect(result["dev"]?.decision == .rollBack(rule: .nonProduction(tier: .dev), quarantined: []))
        #expect(kinds(result["dev"]) == ["undo 4", "undo 3"])
        #expect(result["dev"]?.toVersion == "2")
        #expect(
            result["prod-eu-1"]?.decision == .blocked(reason: .noCompensation(version: B.v(3)), rule: .liveProduction))
    }

    @Test func devRollsBackToEmptyButLiveProdDoesNot() {
        let result = plans(demoPlan(quarantine4: false, withV5: false), applied: [1, 2, 3, 4], to: .empty)
        for name in ["dev", "test", "prod-ap-1"] {
            #expect(result[name]?.action == .rollback, "\(name)")
            #expect(kinds(result[name]) == ["undo 4", "undo 3", "undo 2", "undo 1"], "\(name)")
            #expect(result[name]?.toVersion == nil, "\(name)")
            #expect(result[name]?.lowestVersion == nil, "\(name)")
        }
        #expect(
            result["prod-eu-1"]?.decision == .blocked(reason: .noCompensation(version: B.v(1)), rule: .liveProduction))
        #expect(result["audit-1"]?.decision == .blocked(reason: .noCompensation(version: B.v(1)), rule: .audited))
        #expect(result["fresh-1"]?.decision == .upToDate)
    }

    @Test func desiredVersionTextZeroMeansNoVersion() throws {
        let plan = demoPlan()
        #expect(try DesiredVersion(parsing: "0", in: plan) == .empty)
        #expect(try DesiredVersion(parsing: "3", in: plan) == .version(B.v(3)))
        #expect(DesiredVersion.empty.resolved(in: plan) == nil)
        #expect(DesiredVersion.latest.resolved(in: plan) == B.v(5))
        #expect(throws: DesiredVersionError.unknownVersion("99", plan: "test", versions: ["1", "2", "3", "4", "5"])) {
            try DesiredVersion(parsing: "99", in: plan)
        }
    }

    @Test func missingUndoBlocksRollbackSayingRestoreIsTheWayBack() {
        let plan = B.plan([B.migration(1), B.migration(2, undo: .none)], quarantine: [2])
        let result = plans(plan, applied: [1, 2])
        #expect(
            result["dev"]?.decision
                == .blocked(
                    reason: .cannotUndo(because: .noUndoScript(version: B.v(2))), rule: .nonProduction(tier: .dev)))
    }

    @Test func irreversibleUndoBlocksWithItsReason() {
        let plan = B.plan(
            [B.migration(1), B.migration(2, undo: "SELECT 1;", irreversible: "ALTER TYPE … ADD VALUE")], quarantine: [2]
        )
        let result = plans(plan, applied: [1, 2])
        #expect(
            result["dev"]?.decision
                == .blocked(
                    reason: .cannotUndo(because: .irreversible(version: B.v(2), reason: "ALTER TYPE … ADD VALUE")),
                    rule: .nonProduction(tier: .dev)))
    }

    @Test func autoRollsForwardWhereTheUndoIsImpossibleButACompensationExists() {
        let plan = B.plan(
            [B.migration(1), B.migration(2, undo: .none), B.migration(3, compensates: 2)], quarantine: [2])
        let result = plans(plan, applied: [1, 2])
        #expect(result["dev"]?.rule == .undoImpossible(because: .noUndoScript(version: B.v(2))))
        #expect(result["dev"]?.action == .rollforward)
        #expect(kinds(result["dev"]) == ["compensate 3"])
        // A forced roll back does not fall back.
        let forced = plans(plan, applied: [1, 2], strategy: .rollback)
        #expect(forced["dev"]?.blocked == .cannotUndo(because: .noUndoScript(version: B.v(2))))
    }

    @Test func quarantinedCompensationCannotRollForward() {
        let plan = B.plan([B.migration(1), B.migration(2), B.migration(3, compensates: 2)], quarantine: [2, 3])
        let result = plans(plan, applied: [1, 2])
        #expect(
            result["prod-eu-1"]?.decision
                == .blocked(
                    reason: .compensationQuarantined(version: B.v(2), compensation: B.v(3)), rule: .liveProduction))
        #expect(kinds(result["dev"]) == ["undo 2"])
    }

    @Test func dirtyChecksumUnknownAndGapBlock() {
        let plan = demoPlan(quarantine4: false, withV5: false)
        let inventory = B.inventory()
        var dirty = B.history(plan, applied: [1])
        dirty.apply(
            HistoryEntry(
                id: 9, version: "2", description: "v2", kind: .forward, script: "V2", checksum: "x", runID: "r",
                appliedBy: "t",
                startedAt: Date(timeIntervalSince1970: 0), finishedAt: nil, executionMS: 0, success: false,
                transactional: false))
        var mismatch = B.history(plan, applied: [1])
        mismatch.applied[0].checksum = "edited"
        var unknown = B.history(plan, applied: [1])
        unknown.applied.append(AppliedVersion(version: "9", kind: .forward, checksum: "c", entryID: 5))
        let gap = B.history(plan, applied: [1, 3])
        let rollout = Planner(inventory: inventory, plan: plan).plan(
            states: ["dev": dirty, "test": mismatch, "prod-ap-1": unknown, "prod-eu-1": gap])
        let byName = Dictionary(uniqueKeysWithValues: rollout.targets.map { ($0.target, $0) })
        #expect(byName["dev"]?.decision == .blocked(reason: .dirty(version: "2", historyRow: 9), rule: nil))
        #expect(
            byName["test"]?.blocked
                == .checksumMismatch(
                    version: "1", applied: "edited", script: "V1__x.sql", current: plan.migrations[0].forward.checksum))
        #expect(byName["prod-ap-1"]?.blocked == .unknownVersion(version: "9", plan: "test"))
        #expect(byName["prod-eu-1"]?.blocked == .outOfOrderGap(applied: B.v(3), missing: B.v(2)))
        for name in ["dev", "test", "prod-ap-1", "prod-eu-1"] {
            #expect(byName[name]?.action == .blocked, "\(name)")
            #expect(byName[name]?.toVersion == byName[name]?.fromVersion, "\(name)")
        }
    }

    @Test func convergedTargetsGetNone() {
        let plan = demoPlan()
        var rolledForward = B.history(plan, applied: [1, 2, 3, 4])
        rolledForward.apply(
            HistoryEntry(
                id: 10, version: "5", description: "v5", kind: .compensate, script: "V5",
                checksum: plan.migrations[4].forward.checksum,
                runID: "r", appliedBy: "t", startedAt: Date(timeIntervalSince1970: 0),
                finishedAt: Date(timeIntervalSince1970: 0),
                executionMS: 1, success: true, transactional: true))
        let rollout = Planner(inventory: B.inventory(), plan: plan).plan(
            states: ["prod-eu-1": rolledForward, "dev": B.history(plan, applied: [1, 2, 3, 5], kinds: [5: .skip])],
            options: PlannerOptions(targets: ["prod-eu-1", "dev"]))
        #expect(rollout.targets.map(\.decision) == [.upToDate, .upToDate])
    }

    @Test func theRuleTableMatchesSpecSection1() {
        func environment(_ tier: Tier, live: Bool = false, audit: Bool = false) -> Environment {
            Environment(name: "e", tier: tier, live: live, audit: audit, targets: [])
        }
        #expect(RuleTable.rule(for: environment(.prod, live: true)) == .liveProduction)
        #expect(RuleTable.rule(for: environment(.prod, live: false)) == .downtimeWindow)
        #expect(RuleTable.rule(for: environment(.prod, live: false, audit: true)) == .audited)
        #expect(RuleTable.rule(for: environment(.dev, audit: true)) == .audited)
        #expect(RuleTable.rule(for: environment(.staging)) == .nonProduction(tier: .staging))
        #expect(
            RuleTable.removal(on: environment(.prod, live: true), strategy: .rollback)
                == .refused(rule: .liveProduction))
        #expect(
            RuleTable.removal(on: environment(.dev), strategy: .rollforward) == .rollForward(rule: .forcedRollForward))
        #expect(
            RuleTable.removal(on: environment(.dev), strategy: .auto)
                == .rollBack(rule: .nonProduction(tier: .dev), fallsBackToRollForward: true))
        #expect(
            RuleTable.removal(on: environment(.test), strategy: .rollback)
                == .rollBack(rule: .nonProduction(tier: .test), fallsBackToRollForward: false))
    }
}
