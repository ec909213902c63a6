import TidemarkCore

/// The rule table of docs/guide.md#why-roll-back-why-roll-forward in one place: per environment and
/// strategy, whether versions that must go are rolled back or rolled forward, and the rule that
/// says why. Thread-safe (no state).
///
/// | situation                               | rule               | versions that must go       |
/// |-----------------------------------------|--------------------|-----------------------------|
/// | `audit: true`                           | `.audited`         | roll forward, never back    |
/// | `tier: prod`, `live: true`              | `.liveProduction`  | roll forward                |
/// | `tier: prod`, `live: false`             | `.downtimeWindow`  | roll back                   |
/// | dev, test, staging                      | `.nonProduction`   | roll back                   |
/// | `--strategy rollforward`                | `.forcedRollForward` | roll forward anywhere     |
/// | `--strategy rollback` where forward is required | (the rule) | refused: blocked            |
/// | auto, undo impossible, compensations exist | `.undoImpossible` | roll forward instead      |
///
/// A quarantined version is one that must go; `QuarantineRule` says what else quarantine means.
package enum RuleTable {
    /// How versions that must go leave a target.
    package enum Removal: Sendable, Hashable {
        /// Run undo scripts, as the rule allows. `fallsBackToRollForward`: under `--strategy auto`, an
        /// impossible undo path gives way to compensating versions where they all exist.
        case rollBack(rule: Rule, fallsBackToRollForward: Bool)
        /// Apply compensating versions, as the rule requires.
        case rollForward(rule: Rule)
        /// `--strategy rollback` asked for what the rule forbids.
        case refused(rule: Rule)
    }

    /// The rule an environment follows when versions must go and nobody forces a strategy.
    package static func rule(for environment: Environment) -> Rule {
        if environment.audit { return .audited }
        switch environment.tier {
        case .prod: return environment.live ? .liveProduction : .downtimeWindow
        case .dev, .test, .staging: return .nonProduction(tier: environment.tier)
        }
    }

    /// Whether undo scripts may run on an environment's targets.
    package static func allowsRollback(on environment: Environment) -> Bool {
        rule(for: environment).action == .rollback
    }

    /// The removal a strategy gets on an environment.
    package static func removal(on environment: Environment, strategy: Strategy) -> Removal {
        let rule = rule(for: environment)
        switch (strategy, rule.action) {
        case (.rollforward, _): return .rollForward(rule: .forcedRollForward)
        case (.rollback, .rollforward): return .refused(rule: rule)
        case (.auto, .rollforward): return .rollForward(rule: rule)
        case (.auto, _): return .rollBack(rule: rule, fallsBackToRollForward: true)
        case (.rollback, _): return .rollBack(rule: rule, fallsBackToRollForward: false)
        }
    }
}
