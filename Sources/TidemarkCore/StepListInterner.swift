/// Shares equal step lists between target plans. A fleet's targets are mostly planned alike, so
/// one array serves thousands of plans instead of a copy each (a kilobyte per target: 100 MB at
/// 100,000 targets), whether the plans come from the planner or are decoded from a control
/// database. Not thread-safe: one per planning pass or decoding loop.
package final class StepListInterner {
    private struct Key: Hashable {
        var version: Version
        var kind: StepKind
        var script: String
    }

    private var lists: [[Key]: [PlannedStep]] = [:]

    package init() {}

    /// `list`, or an equal list seen before.
    package func shared(_ list: [PlannedStep]) -> [PlannedStep] {
        guard !list.isEmpty else { return list }
        let key = list.map { Key(version: $0.version, kind: $0.kind, script: $0.script) }
        if let known = lists[key], known == list { return known }
        lists[key] = list
        return list
    }

    /// `plan` with its steps shared.
    package func sharing(_ plan: TargetPlan) -> TargetPlan {
        var plan = plan
        plan.steps = shared(plan.steps)
        return plan
    }
}
