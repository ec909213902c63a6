import TidemarkCore

/// Finished targets of one environment that ended the same way after the same steps, shown as
/// one line at the end of `apply`. Failed, locked, interrupted and blocked targets are never
/// grouped: each has its own error or reason. Thread-safe value.
package struct OutcomeGroup: Sendable, Hashable {
    package let representative: TargetOutcome
    package let outcomes: [TargetOutcome]

    package var targets: [String] { outcomes.map(\.target) }
    /// `prod-shard-{001..064} (64 targets)`, or the target's own name.
    package var countedName: String { TargetNames.counted(targets) }
    package var isSingle: Bool { outcomes.count == 1 }

    /// Groups `outcomes` (in the order their first target appears).
    package static func groups(of outcomes: [TargetOutcome]) -> [OutcomeGroup] {
        var order: [Shape] = []
        var members: [Shape: [TargetOutcome]] = [:]
        for (index, outcome) in outcomes.enumerated() {
            let shape = Shape(outcome, index: index)
            if members[shape] == nil { order.append(shape) }
            members[shape, default: []].append(outcome)
        }
        return order.compactMap { shape in
            guard let outcomes = members[shape], let first = outcomes.first else { return nil }
            return OutcomeGroup(representative: first, outcomes: outcomes)
        }
    }

    /// Whether a target with this outcome is listed on its own line, never in a group.
    package static func standsAlone(_ outcome: Outcome) -> Bool {
        switch outcome {
        case .failed, .locked, .interrupted, .blocked: return true
        case .succeeded, .unchanged, .skipped, .deferred: return false
        }
    }

    private struct Shape: Hashable {
        var alone: Int?
        var environment: String
        var outcome: Outcome
        var action: Action
        var fromVersion: String?
        var toVersion: String?
        var lowestVersion: String?
        var steps: [String]
        /// Skipped targets differ by why; succeeded ones by nothing else.
        var skipReason: String?

        init(_ outcome: TargetOutcome, index: Int) {
            alone = OutcomeGroup.standsAlone(outcome.outcome) ? index : nil
            environment = outcome.environment
            self.outcome = outcome.outcome
            action = outcome.action
            fromVersion = outcome.fromVersion
            toVersion = outcome.toVersion
            lowestVersion = outcome.lowestVersion
            steps = outcome.steps.map { "\($0.kind.rawValue) \($0.version) \($0.success)" }
            skipReason = outcome.outcome == .skipped ? outcome.reason : nil
        }
    }
}
