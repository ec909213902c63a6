/// A rule of the table in docs/guide.md#why-roll-back-why-roll-forward: why a target rolls back or
/// rolls forward when versions must go.
///
/// The planner's `RuleTable` picks one per target; `ReasonText` words it. Thread-safe value.
package enum Rule: Sendable, Hashable, Codable {
    /// `tier: prod`, `live: true`: roll forward, it is just another deployment and keeps the audit trail.
    case liveProduction
    /// `audit: true` (compliance): roll forward, never roll back, so the full history stays.
    case audited
    /// `tier: prod`, `live: false`: in its downtime window no new data is written, so roll back is clean.
    case downtimeWindow
    /// dev, test and staging: roll back is simple and touches no production audit.
    case nonProduction(tier: Tier)
    /// `--strategy rollforward`: roll forward, which every environment allows.
    case forcedRollForward
    /// `--strategy auto` where the environment allows roll back but the undo path is impossible
    /// and every version that must go has a compensating version: roll forward instead.
    case undoImpossible(because: UndoObstacle)

    /// What the rule does with versions that must go: `.rollback` or `.rollforward`.
    package var action: Action {
        switch self {
        case .downtimeWindow, .nonProduction: return .rollback
        case .liveProduction, .audited, .forcedRollForward, .undoImpossible: return .rollforward
        }
    }
}

/// Why a version cannot be undone by script; only a restore from backup takes it back. Thread-safe value.
package enum UndoObstacle: Sendable, Hashable, Codable {
    /// The version has no undo script.
    case noUndoScript(version: Version)
    /// Its undo script says `-- tidemark:irreversible <reason>`.
    case irreversible(version: Version, reason: String)

    /// The version that cannot be undone.
    package var version: Version {
        switch self {
        case .noUndoScript(let version), .irreversible(let version, _): return version
        }
    }
}
