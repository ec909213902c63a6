/// What the planner decided for one target.
public enum Action: String, Sendable, Codable, CaseIterable {
    /// Already at the desired state.
    case none
    /// Apply pending versions.
    case forward
    /// Run undo scripts: the version goes down (undo rows are added; nothing is erased).
    case rollback
    /// Apply compensating versions that reverse bad ones (v3 → v4 → v5).
    case rollforward
    /// Only a human should decide; the reason says why and what to do.
    case blocked
}

/// How to get rid of versions a target must lose.
public enum Strategy: String, Sendable, Codable, CaseIterable {
    /// Follow the rules: roll back where allowed, roll forward where required.
    case auto
    /// Roll back, where the rules allow it; refused (blocked) elsewhere.
    case rollback
    /// Roll forward everywhere (always allowed: it is just another deployment).
    case rollforward
}

/// One step of a target's plan. Thread-safe value.
public struct PlannedStep: Sendable, Hashable, Codable {
    public var version: Version
    public var description: String
    public var kind: StepKind
    /// The script's path in the plan; empty for `skip` and record-only undo of a skip.
    public var script: String
    public var checksum: String
    public var transactional: Bool
    /// The step may destroy data that only a backup brings back.
    public var dataLosing: Bool
    /// Why it is data-losing (statements found), or the acknowledgement from `data-loss-ok`.
    public var dataLossNotes: [String]
    /// For a compensating version (a `compensate` or `skip` step): the version it reverses.
    public var compensates: Version?
    /// The lock-risky statements of the script
    /// (docs/live-production.md#lint-and-lock-risk-in-the-plan), with each target's size estimate
    /// once planned.
    public var lockRisks: [LockRisk] = []
    /// The script's `-- tidemark:lock-ok <reason>`, or the reason of `--lock-ok VERSION --reason TEXT`.
    public var lockAcknowledged: String?
    /// Who gave `--lock-ok` for this step's version (nil: the script says it, or nobody).
    public var lockAcknowledgedBy: String?
    /// On a MySQL or MariaDB target, the script has a statement the server commits implicitly
    /// (DDL, `CALL`, `PREPARE`/`EXECUTE`, a session `SET`): it runs statement by statement, and a
    /// failure midway leaves the statements before it applied (docs/mysql.md#steps-transactions-and-ddl).
    public var nonTransactionalOnMySQL = false
    /// `-- tidemark:batch …`: the step runs batch by batch (docs/backfills.md).
    public var batch: BatchSpec?
    /// The target's catalog estimate of the batched table's rows, once planned (nil: unknown).
    public var batchEstimatedRows: Double?

    public init(
        version: Version, description: String, kind: StepKind, script: String, checksum: String,
        transactional: Bool, dataLosing: Bool = false, dataLossNotes: [String] = [], compensates: Version? = nil
    ) {
        self.version = version
        self.description = description
        self.kind = kind
        self.script = script
        self.checksum = checksum
        self.transactional = transactional
        self.dataLosing = dataLosing
        self.dataLossNotes = dataLossNotes
        self.compensates = compensates
    }
}

/// What the planner saw of a target, so a saved rollout can refuse to run if it changed.
public struct PlannedFrom: Sendable, Hashable, Codable {
    /// The id of the newest history row (0 for an empty history).
    public var lastEntryID: Int64
    public var entryCount: Int
    /// Versions in effect, in the order applied.
    public var applied: [String]

    public init(lastEntryID: Int64, entryCount: Int, applied: [String]) {
        self.lastEntryID = lastEntryID
        self.entryCount = entryCount
        self.applied = applied
    }

    public init(_ state: TargetState) {
        self.init(lastEntryID: state.lastEntry?.id ?? 0, entryCount: state.entryCount, applied: state.applied.map(\.version))
    }
}

/// The decision for one target: action, ordered steps and a one-sentence reason. Thread-safe value.
public struct TargetPlan: Sendable, Hashable, Codable {
    public var target: String
    public var environment: String
    public var tier: Tier
    public var action: Action
    /// One sentence naming the rule followed (docs/guide.md#why-roll-back-why-roll-forward),
    /// rendered from `decision` by `ReasonText`.
    public var reason: String
    /// The decision as values (nil in rollouts saved before it was recorded).
    public var decision: Decision?
    public var steps: [PlannedStep]
    /// The highest version in effect before, and after the steps (nil: nothing).
    public var fromVersion: String?
    public var toVersion: String?
    /// For a roll back: the highest version in effect once the undo steps have run, before any
    /// forward or skip step (nil: no version, or not a roll back). The way down, said before the way up.
    public var lowestVersion: String?
    public var plannedFrom: PlannedFrom

    public init(
        target: String, environment: String, tier: Tier, action: Action, reason: String, decision: Decision? = nil,
        steps: [PlannedStep], fromVersion: String?, toVersion: String?, lowestVersion: String? = nil, plannedFrom: PlannedFrom
    ) {
        self.target = target
        self.environment = environment
        self.tier = tier
        self.action = action
        self.reason = reason
        self.decision = decision
        self.steps = steps
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.lowestVersion = lowestVersion
        self.plannedFrom = plannedFrom
    }

    public var hasDataLosingStep: Bool { steps.contains(where: \.dataLosing) }

    /// The rule (docs/guide.md#why-roll-back-why-roll-forward) the decision follows, if versions had to go.
    public var rule: Rule? { decision?.rule }

    /// Why the target is blocked, or nil.
    public var blocked: BlockReason? { decision?.blockReason }
}

/// The targets of one environment, run as one wave. Thread-safe value.
public struct Wave: Sendable, Hashable, Codable {
    public var environment: String
    public var tier: Tier
    public var live: Bool
    public var audit: Bool
    public var canary: String?
    public var targets: [TargetPlan]
    /// Its targets to write wait for a change window, a freeze, or an earlier deferred wave
    /// (docs/windows.md); nil: they may start.
    public var deferral: Deferral?

    public init(environment: String, tier: Tier, live: Bool, audit: Bool, canary: String?, targets: [TargetPlan]) {
        self.environment = environment
        self.tier = tier
        self.live = live
        self.audit = audit
        self.canary = canary
        self.targets = targets
    }
}

/// A whole rollout: per wave, per target, what to do. `plan --out` saves it; `apply FILE` runs it.
public struct Rollout: Sendable, Hashable, Codable {
    public var schema = "tidemark.rollout/v1"
    public var inventory: String
    /// The inventory file the rollout was planned from, so `apply FILE` can find the targets.
    public var inventoryFile: String?
    public var plan: String
    /// The version every target is brought to (nil when the plan has no usable version).
    public var desiredVersion: Version?
    public var strategy: Strategy
    public var waves: [Wave]

    public init(
        inventory: String, inventoryFile: String? = nil, plan: String, desiredVersion: Version?, strategy: Strategy, waves: [Wave]
    ) {
        self.inventory = inventory
        self.inventoryFile = inventoryFile
        self.plan = plan
        self.desiredVersion = desiredVersion
        self.strategy = strategy
        self.waves = waves
    }

    public var targets: [TargetPlan] { waves.flatMap(\.targets) }

    /// The rollout with every version read again as a plan of `style` reads it. A rollout file
    /// keeps only a version's text, and an all-digit Diesel version (`20190301000000`) would
    /// otherwise come back numeric and match no version of its own plan.
    public func versions(readAs style: VersionStyle) -> Rollout {
        func reread(_ version: Version) -> Version { Version(version.text, style: style) ?? version }
        var copy = self
        copy.desiredVersion = desiredVersion.map(reread)
        for wave in copy.waves.indices {
            for target in copy.waves[wave].targets.indices {
                for step in copy.waves[wave].targets[target].steps.indices {
                    copy.waves[wave].targets[target].steps[step].version = reread(copy.waves[wave].targets[target].steps[step].version)
                    copy.waves[wave].targets[target].steps[step].compensates =
                        copy.waves[wave].targets[target].steps[step].compensates.map(reread)
                }
            }
        }
        return copy
    }

    /// How many targets got each action.
    public var actionCounts: [Action: Int] {
        var counts: [Action: Int] = [:]
        for target in targets { counts[target.action, default: 0] += 1 }
        return counts
    }
}

extension PlannedStep {
    private enum CodingKeys: String, CodingKey {
        case version, description, kind, script, checksum, transactional, dataLosing, dataLossNotes, compensates, lockRisks,
            lockAcknowledged, lockAcknowledgedBy
    }

    /// Rollouts saved before lock risks were planned have no `lockRisks`: they read as none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            version: try container.decode(Version.self, forKey: .version),
            description: try container.decode(String.self, forKey: .description),
            kind: try container.decode(StepKind.self, forKey: .kind), script: try container.decode(String.self, forKey: .script),
            checksum: try container.decode(String.self, forKey: .checksum),
            transactional: try container.decode(Bool.self, forKey: .transactional),
            dataLosing: try container.decode(Bool.self, forKey: .dataLosing),
            dataLossNotes: try container.decode([String].self, forKey: .dataLossNotes),
            compensates: try container.decodeIfPresent(Version.self, forKey: .compensates))
        lockRisks = try container.decodeIfPresent([LockRisk].self, forKey: .lockRisks) ?? []
        lockAcknowledged = try container.decodeIfPresent(String.self, forKey: .lockAcknowledged)
        lockAcknowledgedBy = try container.decodeIfPresent(String.self, forKey: .lockAcknowledgedBy)
    }
}
