/// What the planner decided for one target.
package enum Action: String, Sendable, Codable, CaseIterable {
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
package enum Strategy: String, Sendable, Codable, CaseIterable {
    /// Follow the rules: roll back where allowed, roll forward where required.
    case auto
    /// Roll back, where the rules allow it; refused (blocked) elsewhere.
    case rollback
    /// Roll forward everywhere (always allowed: it is just another deployment).
    case rollforward
}

/// One step of a target's plan. Thread-safe value.
package struct PlannedStep: Sendable, Hashable, Codable {
    package var version: Version
    package var description: String
    package var kind: StepKind
    /// The script's path in the plan; empty for `skip` and record-only undo of a skip.
    package var script: String
    package var checksum: String
    package var transactional: Bool
    /// The step may destroy data that only a backup brings back.
    package var dataLosing: Bool
    /// Why it is data-losing (statements found), or the acknowledgement from `data-loss-ok`.
    package var dataLossNotes: [String]
    /// For a compensating version (a `compensate` or `skip` step): the version it reverses.
    package var compensates: Version?
    /// The lock-risky statements of the script
    /// (docs/live-production.md#lint-and-lock-risk-in-the-plan), with each target's size estimate
    /// once planned.
    package var lockRisks: [LockRisk] = []
    /// The script's `-- tidemark:lock-ok <reason>`, or the reason of `--lock-ok VERSION --reason TEXT`.
    package var lockAcknowledged: String?
    /// Who gave `--lock-ok` for this step's version (nil: the script says it, or nobody).
    package var lockAcknowledgedBy: String?
    /// On a MySQL or MariaDB target, the script has a statement the server commits implicitly
    /// (DDL, `CALL`, `PREPARE`/`EXECUTE`, a session `SET`): it runs statement by statement, and a
    /// failure midway leaves the statements before it applied (docs/mysql.md#steps-transactions-and-ddl).
    package var nonTransactionalOnMySQL = false
    /// `-- tidemark:batch …`: the step runs batch by batch (docs/backfills.md).
    package var batch: BatchSpec?
    /// The target's catalog estimate of the batched table's rows, once planned (nil: unknown).
    package var batchEstimatedRows: Double?

    package init(
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
package struct PlannedFrom: Sendable, Hashable, Codable {
    /// The id of the newest history row (0 for an empty history).
    package var lastEntryID: Int64
    package var entryCount: Int
    /// Versions in effect, in the order applied.
    package var applied: [String]

    package init(lastEntryID: Int64, entryCount: Int, applied: [String]) {
        self.lastEntryID = lastEntryID
        self.entryCount = entryCount
        self.applied = applied
    }

    package init(_ state: TargetState) {
        self.init(
            lastEntryID: state.lastEntry?.id ?? 0, entryCount: state.entryCount, applied: state.applied.map(\.version))
    }
}

/// The decision for one target: action, ordered steps and a one-sentence reason. Thread-safe value.
package struct TargetPlan: Sendable, Hashable, Codable {
    package var target: String
    package var environment: String
    package var tier: Tier
    package var action: Action
    /// One sentence naming the rule followed (docs/guide.md#why-roll-back-why-roll-forward),
    /// rendered from `decision` by `ReasonText`.
    package var reason: String
    /// The decision as values (nil in rollouts saved before it was recorded).
    package var decision: Decision?
    package var steps: [PlannedStep]
    /// The highest version in effect before, and after the steps (nil: nothing).
    package var fromVersion: String?
    package var toVersion: String?
    /// For a roll back: the highest version in effect once the undo steps have run, before any
    /// forward or skip step (nil: no version, or not a roll back). The way down, said before the way up.
    package var lowestVersion: String?
    package var plannedFrom: PlannedFrom
    /// The unfinished batched step (its history row, in progress) whose version this plan takes
    /// back, or whose interrupted undo it reverses by running the forward script again; the run
    /// finishes that row as abandoned first (docs/backfills.md#going-back-below-an-unfinished-backfill).
    package var abandonsBackfill: HistoryEntry?

    package init(
        target: String, environment: String, tier: Tier, action: Action, reason: String, decision: Decision? = nil,
        steps: [PlannedStep], fromVersion: String?, toVersion: String?, lowestVersion: String? = nil,
        plannedFrom: PlannedFrom
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

    package var hasDataLosingStep: Bool { steps.contains(where: \.dataLosing) }

    /// The rule (docs/guide.md#why-roll-back-why-roll-forward) the decision follows, if versions had to go.
    package var rule: Rule? { decision?.rule }

    /// Why the target is blocked, or nil.
    package var blocked: BlockReason? { decision?.blockReason }
}

/// The targets of one environment, run as one wave. Thread-safe value.
package struct Wave: Sendable, Hashable, Codable {
    package var environment: String
    package var tier: Tier
    package var live: Bool
    package var audit: Bool
    package var canary: String?
    package var targets: [TargetPlan]
    /// Its targets to write wait for a change window, a freeze, or an earlier deferred wave
    /// (docs/windows.md); nil: they may start.
    package var deferral: Deferral?

    package init(environment: String, tier: Tier, live: Bool, audit: Bool, canary: String?, targets: [TargetPlan]) {
        self.environment = environment
        self.tier = tier
        self.live = live
        self.audit = audit
        self.canary = canary
        self.targets = targets
    }
}

/// A whole rollout: per wave, per target, what to do. `plan --out` saves it; `apply FILE` runs it.
package struct Rollout: Sendable, Hashable, Codable {
    package var schema = "tidemark.rollout/v1"
    package var inventory: String
    /// The inventory file the rollout was planned from, so `apply FILE` can find the targets.
    package var inventoryFile: String?
    package var plan: String
    /// The version every target is brought to (nil when the plan has no usable version).
    package var desiredVersion: Version?
    package var strategy: Strategy
    package var waves: [Wave]

    package init(
        inventory: String, inventoryFile: String? = nil, plan: String, desiredVersion: Version?, strategy: Strategy,
        waves: [Wave]
    ) {
        self.inventory = inventory
        self.inventoryFile = inventoryFile
        self.plan = plan
        self.desiredVersion = desiredVersion
        self.strategy = strategy
        self.waves = waves
    }

    package var targets: [TargetPlan] { waves.flatMap(\.targets) }

    /// The rollout with every version read again as a plan of `style` reads it. A rollout file
    /// keeps only a version's text, and an all-digit Diesel version (`20190301000000`) would
    /// otherwise come back numeric and match no version of its own plan.
    package func versions(readAs style: VersionStyle) -> Rollout {
        func reread(_ version: Version) -> Version { Version(version.text, style: style) ?? version }
        var copy = self
        copy.desiredVersion = desiredVersion.map(reread)
        for wave in copy.waves.indices {
            for target in copy.waves[wave].targets.indices {
                for step in copy.waves[wave].targets[target].steps.indices {
                    copy.waves[wave].targets[target].steps[step].version = reread(
                        copy.waves[wave].targets[target].steps[step].version)
                    copy.waves[wave].targets[target].steps[step].compensates =
                        copy.waves[wave].targets[target].steps[step].compensates.map(reread)
                }
            }
        }
        return copy
    }

    /// How many targets got each action.
    package var actionCounts: [Action: Int] {
        var counts: [Action: Int] = [:]
        for target in targets { counts[target.action, default: 0] += 1 }
        return counts
    }
}

extension PlannedStep {
    private enum CodingKeys: String, CodingKey {
        case version, description, kind, script, checksum, transactional, dataLosing, dataLossNotes, compensates,
            lockRisks,
            lockAcknowledged, lockAcknowledgedBy
    }

    /// Rollouts saved before lock risks were planned have no `lockRisks`: they read as none.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            version: try container.decode(Version.self, forKey: .version),
            description: try container.decode(String.self, forKey: .description),
            kind: try container.decode(StepKind.self, forKey: .kind),
            script: try container.decode(String.self, forKey: .script),
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
