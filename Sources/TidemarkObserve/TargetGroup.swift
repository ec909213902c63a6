import TidemarkCore

/// Targets of one wave whose plans are identical (same action, versions, decision and steps),
/// shown as one entry so a rollout of 1,000 targets reads in a page. Thread-safe value.
package struct TargetGroup: Sendable, Hashable {
    /// The first plan: the action, versions and steps the group shares.
    package let representative: TargetPlan
    /// The plans of the group, in wave order; every one has the same steps and decision.
    package let plans: [TargetPlan]

    package var targets: [String] { plans.map(\.target) }
    /// `prod-shard-{001..064}`, or the target's own name.
    package var name: String { TargetNames.compressed(targets) }
    /// `prod-shard-{001..064} (64 targets)`, or the target's own name.
    package var countedName: String { TargetNames.counted(targets) }
    package var isSingle: Bool { plans.count == 1 }

    /// The group's reason: the shared sentence, said of the group's name rather than its first target.
    package var reason: String {
        guard !isSingle else { return representative.reason }
        var plan = representative
        plan.target = name
        return plan.decision == nil ? representative.reason : ReasonText.sentence(for: plan, inventoryFile: nil)
    }

    init(_ first: TargetPlan, _ rest: [TargetPlan]) {
        representative = first
        plans = [first] + rest
    }

    /// The groups of a wave, in the order their first target appears. Blocked targets and the
    /// canary (it runs alone) are never grouped: each needs its own line. `perTarget`: every
    /// target is a group of its own (`--per-target`).
    package static func groups(of wave: Wave, perTarget: Bool = false) -> [TargetGroup] {
        if perTarget { return wave.targets.map { TargetGroup($0, []) } }
        var order: [PlanShape] = []
        var members: [PlanShape: [TargetPlan]] = [:]
        var singles = 0
        for plan in wave.targets {
            let shape: PlanShape
            if plan.action == .blocked || plan.target == wave.canary {
                singles += 1
                shape = .single(singles)
            } else {
                shape = .shared(SharedShape(plan))
            }
            if members[shape] == nil { order.append(shape) }
            members[shape, default: []].append(plan)
        }
        return order.compactMap { shape in
            guard let plans = members[shape], let first = plans.first else { return nil }
            return TargetGroup(first, Array(plans.dropFirst()))
        }
    }

    /// What identical means: everything in a plan but the target's own name, state and reason
    /// sentence (which starts with the name; the decision is compared instead).
    private enum PlanShape: Hashable {
        case single(Int)
        case shared(SharedShape)
    }

    private struct SharedShape: Hashable {
        var tier: Tier
        var action: Action
        var decision: Decision?
        var reason: String?
        var steps: [PlannedStep]
        var fromVersion: String?
        var toVersion: String?
        var lowestVersion: String?

        init(_ plan: TargetPlan) {
            tier = plan.tier
            action = plan.action
            decision = plan.decision
            // Without a decision (an old saved rollout) the sentence is all there is to compare.
            reason = plan.decision == nil ? plan.reason : nil
            steps = plan.steps
            fromVersion = plan.fromVersion
            toVersion = plan.toVersion
            lowestVersion = plan.lowestVersion
        }
    }
}
