/// What the planner decided for one target and why, as values: the rule followed, what it
/// removes, or why it is blocked. `ReasonText` words it; tests compare it. Thread-safe value.
package enum Decision: Sendable, Hashable, Codable {
    /// Already at the desired state.
    case upToDate
    /// Apply pending versions (and record compensations due as skips); `neverRun` are the quarantined
    /// versions this target passes over without ever running them.
    case applyPending(neverRun: [Version])
    /// Undo versions, as `rule` allows; `quarantined` are the plan's entries for the versions removed.
    case rollBack(rule: Rule, quarantined: [QuarantineEntry])
    /// Reverse versions by compensating ones, as `rule` requires.
    case rollForward(rule: Rule, compensations: [Compensation], quarantined: [QuarantineEntry])
    /// Only a human should decide; `rule` is the rule the target was following, when one applied.
    case blocked(reason: BlockReason, rule: Rule?)

    /// The action this decision takes.
    package var action: Action {
        switch self {
        case .upToDate: return .none
        case .applyPending: return .forward
        case .rollBack: return .rollback
        case .rollForward: return .rollforward
        case .blocked: return .blocked
        }
    }

    /// The rule (docs/guide.md#why-roll-back-why-roll-forward) followed (or that the block came up
    /// against), if versions had to go.
    package var rule: Rule? {
        switch self {
        case .upToDate, .applyPending: return nil
        case .rollBack(let rule, _), .rollForward(let rule, _, _): return rule
        case .blocked(_, let rule): return rule
        }
    }

    /// Why the target is blocked, or nil.
    package var blockReason: BlockReason? {
        if case .blocked(let reason, _) = self { return reason }
        return nil
    }
}

/// One roll forward: `reversed` is reversed by the compensating version `compensation`; `before` is
/// the version in effect below it, so the trail reads `v3 → v4 → v5`. Thread-safe value.
package struct Compensation: Sendable, Hashable, Codable {
    package var before: Version?
    package var reversed: Version
    package var compensation: Version

    package init(before: Version?, reversed: Version, compensation: Version) {
        self.before = before
        self.reversed = reversed
        self.compensation = compensation
    }
}
