import TidemarkCore

/// The rules of SPEC 1 that decide whether a target may be rolled back. Thread-safe value.
public struct RollbackPolicy: Sendable, Hashable {
    public var environment: Environment

    public init(environment: Environment) {
        self.environment = environment
    }

    /// Why this environment must roll forward, or nil when rolling back is allowed.
    public var rollForwardRule: String? {
        if environment.audit {
            return "is audited (audit: true): roll forward only, never roll back, so the full history stays"
        }
        if environment.tier == .prod && environment.live {
            return "is live production: roll forward keeps the audit trail"
        }
        return nil
    }

    /// Whether undo scripts may run on this environment's targets.
    public var allowsRollback: Bool { rollForwardRule == nil }

    /// The rule that allows rolling back, for reasons ("is a dev environment: roll back").
    public var rollbackRule: String {
        switch environment.tier {
        case .prod: return "is production in its downtime window (live: false, no new data written): roll back is clean"
        case .staging: return "is a staging environment: roll back is simple and touches no production audit"
        case .test: return "is a test environment: roll back is simple and touches no production audit"
        case .dev: return "is a dev environment: roll back is simple and touches no production audit"
        }
    }
}
