import Foundation
import Testing
import TidemarkCore
import TidemarkPlanner

/// Lock risk (docs/live-production.md#lint-and-lock-risk-in-the-plan) in the planner: the same
/// lock-risky step, weighed against each target's size estimate.
@Suite struct PlannerLockRiskTests {
    typealias B = PlanBuilder

    func plan(acknowledged: String? = nil) -> Plan {
        var index = B.migration(
            2, "orders status index", forward: "CREATE INDEX orders_status ON orders (status);",
            undo: "DROP INDEX orders_status;")
        index.forward.lockAcknowledged = acknowledged
        return B.plan([B.migration(1), index])
    }

    func plans(_ plan: Plan, rows: [String: Double], lockRiskRows: Int? = nil, sqliteTarget: Bool = false) -> [String:
        TargetPlan]
    {
        let environments = [
            Environment(
                name: "dev", tier: .dev,
                targets: [
                    Target(
                        name: "dev-1", environment: "dev",
                        connection: .url(sqliteTarget ? "sqlite:dev.db" : "memory:dev-1"))
                ]),
            Environment(
                name: "prod", tier: .prod, live: true, lockRiskRows: lockRiskRows,
                targets: [
                    Target(name: "prod-big", environment: "prod", connection: .url("memory:prod-big")),
                    Target(name: "prod-small", environment: "prod", connection: .url("memory:prod-small")),
                ]),
        ]
        let inventory = Inventory(name: "t", file: "t.yaml", planDirectory: "p", environments: environments)
        var states: [String: TargetState] = [:]
        for target in inventory.allTargets {
            var state = B.history(plan, applied: [1])
            state.estimatedRows = ["orders": rows[target.name] ?? 0]
            states[target.name] = state
        }
        let rollout = Planner(inventory: inventory, plan: plan).plan(states: states)
        return Dictionary(uniqueKeysWithValues: rollout.targets.map { ($0.target, $0) })
    }

    static let sizes: [String: Double] = ["dev-1": 12_400_000, "prod-big": 12_400_000, "prod-small": 900]

    @Test func aLiveTargetOverTheThresholdIsBlockedWithTheRuleTheSizeAndTheThreshold() {
        let result = plans(plan(), rows: Self.sizes)
        let risk = LockRisk(
            rule: .requireConcurrentIndexCreation, line: 1, relations: ["orders"], estimatedRows: 12_400_000)
        #expect(
            result["prod-big"]?.blocked
                == .lockRisk(version: B.v(2), script: "V2__x.sql", risk: risk, threshold: 100_000))
        #expect(result["prod-big"]?.reason.contains("~12.4M estimated rows, over lock_risk_rows 100000") == true)
        // The small live target and the big dev one go forward, the risk shown with their own size.
        #expect(result["prod-small"]?.action == .forward)
        #expect(result["prod-small"]?.steps.first?.lockRisks.first?.estimatedRows == 900)
        #expect(result["dev-1"]?.action == .forward)
        #expect(result["dev-1"]?.steps.first?.lockRisks.first?.summary == "SHARE on orders, full scan, ~12.4M rows")
    }

    @Test func lockOkLetsTheStepRunOnLiveTargets() {
        let result = plans(plan(acknowledged: "paused writers"), rows: Self.sizes)
        #expect(result.values.allSatisfy { $0.action == .forward })
        #expect(result["prod-big"]?.steps.first?.lockAcknowledged == "paused writers")
    }

    @Test func theEnvironmentsThresholdDecides() {
        #expect(plans(plan(), rows: Self.sizes, lockRiskRows: 20_000_000)["prod-big"]?.action == .forward)
        #expect(plans(plan(), rows: Self.sizes, lockRiskRows: 500)["prod-small"]?.action == .blocked)
    }

    @Test func briefLocksAndUnknownSizesDoNotBlock() {
        // DROP INDEX holds its lock briefly: shown, never blocking by size.
        let drop = B.plan([B.migration(1), B.migration(2, forward: "DROP INDEX orders_status;")])
        #expect(
            plans(drop, rows: ["prod-big": 12_400_000, "orders_status": 12_400_000])["prod-big"]?.action == .forward)
        // No estimate (the table does not exist yet on the target): nothing to weigh.
        let result = plans(plan(), rows: [:])
        #expect(result["prod-big"]?.action == .forward)
    }

    @Test func sqliteTargetsCarryNoLockRisk() {
        #expect(plans(plan(), rows: Self.sizes, sqliteTarget: true)["dev-1"]?.steps.first?.lockRisks == [])
    }

    @Test func rowCountsReadAsEstimates() {
        #expect(LockRisk.rowCount(12_400_000) == "~12.4M")
        #expect(LockRisk.rowCount(200_000) == "~200k")
        #expect(LockRisk.rowCount(10) == "~10")
        #expect(LockRisk.rowCount(1_050) == "~1.1k")
    }
}
