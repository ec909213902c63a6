import Foundation
import Synchronization
import TidemarkCore
import TidemarkPostgres

/// How a run's target plans are stored (control schema version 8,
/// docs/tenants.md#batched-claims): each distinct plan once in `tidemark_control.plans`, with
/// its target's name, environment and reason blanked; each target row holds those three and the
/// number of its plan. A fleet of tenants planned alike is a handful of plans, whatever its size.
/// Rows stored before version 8 hold their whole plan in `targets.plan` (`plan_id` NULL), and
/// are read as they are.
extension ControlStore {
    /// The columns a target row `t`'s plan is read from, in this order (`storedPlan` reads them).
    static let planColumns =
        "t.target, t.environment, t.reason, t.plan_id, CASE WHEN t.plan_id IS NULL THEN t.plan::text END"
    /// How many columns `planColumns` is.
    static let planColumnCount = 5
    /// The tier in target row `t`'s plan, as SQL.
    static let planTier =
        "coalesce(t.plan, (SELECT p.plan FROM tidemark_control.plans p WHERE p.run_id = t.run_id AND p.plan_id = t.plan_id))->>'tier'"

    /// The plan of a target row read through `planColumns` from `offset` of `row`; nil when the
    /// row holds none this binary can read. A run's shared plans are read and decoded once per
    /// control session (they never change once stored).
    func storedPlan(_ row: [String?], at offset: Int, runID: String, on session: PostgresSession)
        throws(BackendError) -> TargetPlan?
    {
        guard row.count >= offset + Self.planColumnCount, let target = row[offset], let environment = row[offset + 1]
        else { return nil }
        guard let id = row[offset + 3].flatMap({ Int($0) }) else {
            return ControlStore.decode(TargetPlan.self, row[offset + 4])
        }
        var plan: TargetPlan
        if let known = planCache.withLock({ $0.runID == runID ? $0.plans[id] : nil }) {
            plan = known
        } else {
            let steps = StepListInterner()
            var loaded: [Int: TargetPlan] = [:]
            for stored in try session.query(
                "SELECT plan_id, plan::text FROM tidemark_control.plans WHERE run_id = $1", [runID])
            {
                guard let number = stored[0].flatMap({ Int($0) }),
                    let decoded = ControlStore.decode(TargetPlan.self, stored[1])
                else { continue }
                loaded[number] = steps.sharing(decoded)
            }
            planCache.withLock { $0 = PlanCache(runID: runID, plans: loaded) }
            guard let found = loaded[id] else { return nil }
            plan = found
        }
        plan.target = target
        plan.environment = environment
        plan.reason = row[offset + 2] ?? ""
        return plan
    }

    /// Stores the distinct plans of `plans` (their target, environment and reason blanked) for
    /// `runID`; returns each plan's number, in the order given. Each distinct plan is encoded
    /// once (100,000 plans encoded one by one were most of the time a runner took to store a run).
    static func insertPlans(_ plans: some Sequence<TargetPlan>, runID: String, on session: PostgresSession)
        throws(BackendError) -> [Int]
    {
        var numbers: [TargetPlan: Int] = [:]
        var distinct: [String] = []
        var assigned: [Int] = []
        assigned.reserveCapacity(plans.underestimatedCount)
        for plan in plans {
            var shared = plan
            shared.target = ""
            shared.environment = ""
            shared.reason = ""
            if let number = numbers[shared] {
                assigned.append(number)
                continue
            }
            numbers[shared] = distinct.count
            assigned.append(distinct.count)
            distinct.append(json(shared))
        }
        for start in stride(from: 0, to: distinct.count, by: 500) {
            let batch = Array(distinct[start..<min(distinct.count, start + 500)])
            try session.query(
                """
                INSERT INTO tidemark_control.plans (run_id, plan_id, plan)
                SELECT $1, $2::int + n - 1, j::jsonb FROM unnest($3::text[]) WITH ORDINALITY AS u(j, n)
                """, [runID, String(start), textArray(batch)])
        }
        return assigned
    }
}

/// A control session's decoded shared plans, of one run at a time. Pure value.
struct PlanCache: Sendable {
    var runID: String?
    var plans: [Int: TargetPlan] = [:]
}
