import TidemarkCore

/// What to plan for: the desired version, the strategy, and which targets.
public struct PlannerOptions: Sendable, Hashable {
    /// Nil: the latest version that is not quarantined.
    public var desiredVersion: Version?
    public var strategy: Strategy
    /// Target names to plan; nil plans every target of the inventory.
    public var targets: Set<String>?

    public init(desiredVersion: Version? = nil, strategy: Strategy = .auto, targets: Set<String>? = nil) {
        self.desiredVersion = desiredVersion
        self.strategy = strategy
        self.targets = targets
    }
}

/// Decides, per target, between apply, roll back, roll forward and blocked (SPEC 1 and 3).
///
/// A pure function of its inputs: no clock, no environment, no I/O; the same inputs always give
/// the same rollout. Thread-safe (a value).
///
/// The model: a plan's *base* versions change the schema; a *compensating* version (`tidemark:
/// compensates V`) reverses V by rolling forward. The schema a target should have at desired
/// version D is the set of base versions up to D that are neither quarantined nor reversed by a
/// compensating version up to D. A target's *effective* versions are its applied base versions
/// that no applied compensation reverses. The planner moves the effective set to the desired
/// set: pending versions are applied; versions that must go are undone where the rules allow
/// roll back, and compensated where they require roll forward. Compensating versions due on a
/// target that never ran what they reverse are recorded as `skip`.
public struct Planner: Sendable {
    public let inventory: Inventory
    public let plan: Plan
    private let compensator: [Version: Migration]
    private let migrationsByVersion: [Version: Migration]

    public init(inventory: Inventory, plan: Plan) {
        self.inventory = inventory
        self.plan = plan
        var compensator: [Version: Migration] = [:]
        var byVersion: [Version: Migration] = [:]
        for migration in plan.migrations {
            byVersion[migration.version] = migration
            if let target = migration.compensates, compensator[target] == nil {
                compensator[target] = migration
            }
        }
        self.compensator = compensator
        self.migrationsByVersion = byVersion
    }

    /// Plans every selected target; `states` holds each target's state by name (a target with
    /// no entry is planned from an empty history).
    public func plan(states: [String: TargetState], options: PlannerOptions = PlannerOptions()) -> Rollout {
        let desired = options.desiredVersion ?? plan.latestUsableVersion
        let steps = StepMemo()
        var waves: [Wave] = []
        for environment in inventory.waves {
            let selected = environment.targets.filter { options.targets?.contains($0.name) ?? true }
            guard !selected.isEmpty else { continue }
            let plans = selected.map { target in
                planTarget(
                    target, in: environment, state: states[target.name] ?? .empty, desired: desired, strategy: options.strategy,
                    steps: steps)
            }
            waves.append(
                Wave(
                    environment: environment.name, tier: environment.tier, live: environment.live, audit: environment.audit,
                    canary: environment.canary, targets: plans))
        }
        return Rollout(inventory: inventory.name, inventoryFile: inventory.file, plan: plan.name, desiredVersion: desired, strategy: options.strategy, waves: waves)
    }

    /// The desired base versions at `desired`: not quarantined, not reversed by a compensation up to it.
    public func desiredBaseVersions(upTo desired: Version?) -> Set<Version> {
        guard let desired else { return [] }
        var result = Set<Version>()
        for migration in plan.migrations where migration.compensates == nil && migration.version <= desired {
            if plan.isQuarantined(migration.version) { continue }
            if let reverser = compensator[migration.version], reverser.version <= desired { continue }
            result.insert(migration.version)
        }
        return result
    }

    // MARK: - One target

    func planTarget(
        _ target: Target, in environment: Environment, state: TargetState, desired: Version?, strategy: Strategy,
        steps memo: StepMemo = StepMemo()
    ) -> TargetPlan
    {
        let policy = RollbackPolicy(environment: environment)
        let from = highestVersion(state.applied.map(\.version))
        func result(_ action: Action, _ reason: String, _ steps: [PlannedStep] = [], to: String? = nil) -> TargetPlan {
            TargetPlan(
                target: target.name, environment: environment.name, tier: environment.tier, action: action,
                reason: "\(target.name) \(reason)", steps: steps, fromVersion: from, toVersion: action == .blocked ? from : (to ?? from),
                plannedFrom: PlannedFrom(state))
        }

        // Blocked: the target's state is not one a machine should act on.
        if let dirty = state.dirty {
            return result(
                .blocked,
                "is dirty: version \(dirty.version) failed outside a transaction (history row \(dirty.id)) and may be half-applied; inspect it, then run `tidemark repair --target \(target.name) --mark-failed-step resolved|rolled-back`."
            )
        }
        var applied: [(version: Version, entry: AppliedVersion, migration: Migration)] = []
        for entry in state.applied {
            guard let version = Version(entry.version, style: plan.versionStyle), let migration = migrationsByVersion[version] else {
                return result(
                    .blocked,
                    "has version \(entry.version) applied, which plan \(plan.name) does not know; restore its script to the plan or find which plan this target belongs to.")
            }
            if (entry.kind == .forward || entry.kind == .compensate) && entry.checksum != migration.forward.checksum {
                return result(
                    .blocked,
                    "ran version \(entry.version) with checksum \(entry.checksum.prefix(12)), but \(migration.forward.path) now has \(migration.forward.checksum.prefix(12)); applied scripts must not change: restore the file, or add a new version for the change.")
            }
            applied.append((version, entry, migration))
        }

        let appliedVersions = Set(applied.map(\.version))
        let compensatedHere = Set(
            applied.compactMap { item in item.entry.kind == .compensate ? item.migration.compensates : nil })
        let effective = Set(
            applied.filter { $0.migration.compensates == nil && !compensatedHere.contains($0.version) }.map(\.version))
        let desiredSet = desiredBaseVersions(upTo: desired)
        let toRemove = effective.subtracting(desiredSet)
        let staying = effective.intersection(desiredSet)
        let pending = desiredSet.subtracting(effective)

        // An applied, undone-by-nobody version above a pending one: applying out of order is a human call.
        if let highestStaying = staying.max(), let gap = pending.filter({ $0 < highestStaying }).min() {
            return result(
                .blocked,
                "has version \(highestStaying) applied but not \(gap), which comes before it (out-of-order gap); apply \(gap) by hand if it is independent, or roll back past it.")
        }

        if toRemove.isEmpty {
            let steps = forwardSteps(
                pending: pending, appliedVersions: appliedVersions, effectiveAfterRemoval: staying, desired: desired, memo: memo)
            return decide(target: target, environment: environment, steps: steps, from: from, result: result)
        }

        // Versions must go: roll back where allowed, roll forward where required.
        let rollForwardRule = policy.rollForwardRule
        switch strategy {
        case .rollback where rollForwardRule != nil:
            return result(
                .blocked,
                "\(rollForwardRule ?? ""): a forced roll back (--strategy rollback) is refused; use --strategy auto to roll forward.")
        case .rollforward:
            return rollForward(
                target: target, environment: environment, toRemove: toRemove, pending: pending, appliedVersions: appliedVersions,
                staying: staying, desired: desired, from: from, rule: "is rolled forward as asked (--strategy rollforward)",
                memo: memo, result: result)
        case .auto where rollForwardRule != nil, .rollback where rollForwardRule != nil:
            return rollForward(
                target: target, environment: environment, toRemove: toRemove, pending: pending, appliedVersions: appliedVersions,
                staying: staying, desired: desired, from: from, rule: rollForwardRule ?? "", memo: memo, result: result)
        case .auto, .rollback:
            let rolledBack = rollBack(
                target: target, environment: environment, policy: policy, applied: applied, toRemove: toRemove, desiredSet: desiredSet,
                desired: desired, from: from, memo: memo, result: result)
            // Auto: if the undo path is impossible but a compensation exists, roll forward instead.
            if strategy == .auto, rolledBack.action == .blocked,
                toRemove.allSatisfy({ compensator[$0] != nil })
            {
                let forward = rollForward(
                    target: target, environment: environment, toRemove: toRemove, pending: pending,
                    appliedVersions: appliedVersions, staying: staying, desired: desired, from: from,
                    rule: "cannot be rolled back (\(rolledBack.reason.dropFirst(target.name.count + 1).prefix(while: { $0 != ";" })))",
                    memo: memo, result: result)
                if forward.action != .blocked { return forward }
            }
            return rolledBack
        }
    }

    /// Forward and skip steps for pending base versions and due compensations, in version order.
    private func forwardSteps(
        pending: Set<Version>, appliedVersions: Set<Version>, effectiveAfterRemoval: Set<Version>, desired: Version?, memo: StepMemo
    ) -> [PlannedStep]
    {
        guard let desired else { return [] }
        var steps: [PlannedStep] = []
        for migration in plan.migrations where migration.version <= desired {
            if pending.contains(migration.version) {
                steps.append(step(migration, kind: .forward, memo: memo))
            } else if let reversed = migration.compensates, !appliedVersions.contains(migration.version),
                !plan.isQuarantined(migration.version), !effectiveAfterRemoval.contains(reversed)
            {
                steps.append(skipStep(migration, reversed: reversed))
            }
        }
        return steps
    }

    private func decide(
        target: Target, environment: Environment, steps: [PlannedStep], from: String?,
        result: (Action, String, [PlannedStep], String?) -> TargetPlan
    ) -> TargetPlan {
        guard !steps.isEmpty else {
            return result(.none, "is at the desired state\(from.map { " (version \($0))" } ?? " (nothing to apply)"); nothing to do.", [], nil)
        }
        let to = steps.last.map(\.version.text)
        let forwards = steps.filter { $0.kind == .forward }.map(\.version.text)
        let skips = steps.filter { $0.kind == .skip }
        var reason = forwards.isEmpty ? "records" : "applies pending version\(forwards.count == 1 ? "" : "s") \(listed(forwards))"
        if !skips.isEmpty {
            let skipText = skips.map { "v\($0.version) as skip (it compensates v\(compensatedVersion(of: $0.version)), which this target never ran)" }
            reason += forwards.isEmpty ? " " + skipText.joined(separator: ", ") : "; records " + skipText.joined(separator: ", ")
        }
        let neverRun = plan.quarantine.map(\.version).filter { quarantined in
            steps.contains { $0.version > quarantined }
        }
        if !neverRun.isEmpty {
            reason += "; quarantined \(neverRun.map { "v\($0)" }.joined(separator: ", ")) never runs here"
        }
        return result(.forward, reason + ".", steps, to)
    }

    private func rollForward(
        target: Target, environment: Environment, toRemove: Set<Version>, pending: Set<Version>, appliedVersions: Set<Version>,
        staying: Set<Version>, desired: Version?, from: String?, rule: String, memo: StepMemo,
        result: (Action, String, [PlannedStep], String?) -> TargetPlan
    ) -> TargetPlan {
        var compensations: [(reversed: Version, migration: Migration)] = []
        for version in toRemove.sorted() {
            guard let migration = compensator[version] else {
                return result(
                    .blocked,
                    "\(rule), but version \(version) has no compensating migration in the plan; write one with `tidemark revert \(version)` (from its undo script) and plan again.",
                    [], nil)
            }
            if plan.isQuarantined(migration.version) {
                return result(
                    .blocked,
                    "\(rule), but version \(migration.version), which compensates \(version), is quarantined; write a new compensating version with `tidemark revert \(version)`.",
                    [], nil)
            }
            compensations.append((version, migration))
        }
        let compensating = Set(compensations.map(\.migration.version))
        var steps = forwardSteps(
            pending: pending, appliedVersions: appliedVersions, effectiveAfterRemoval: staying.union(toRemove), desired: desired,
            memo: memo)
        steps.removeAll { compensating.contains($0.version) }
        steps += compensations.map { step($0.migration, kind: .compensate, memo: memo) }
        steps.sort { $0.version < $1.version }
        // The audit trail as the spec writes it: the version before the bad one → the bad one → its compensation.
        let trail = compensations.map { item in
            let before = staying.filter { $0 < item.reversed }.max().map { "v\($0)" } ?? "empty"
            return "\(before) → v\(item.reversed) → v\(item.migration.version)"
        }.joined(separator: ", ")
        let reverses = compensations.map { "v\($0.migration.version) reverses v\($0.reversed)" }.joined(separator: ", ")
        let reason = "\(rule) \(trail) (\(reverses))\(quarantineNote(toRemove))."
        return result(.rollforward, reason, steps, highestVersion(Array(appliedVersions.map(\.text)) + steps.map(\.version.text)))
    }

    private func rollBack(
        target: Target, environment: Environment, policy: RollbackPolicy,
        applied: [(version: Version, entry: AppliedVersion, migration: Migration)], toRemove: Set<Version>, desiredSet: Set<Version>,
        desired: Version?, from: String?, memo: StepMemo, result: (Action, String, [PlannedStep], String?) -> TargetPlan
    ) -> TargetPlan {
        guard let lowest = toRemove.min() else { return result(.none, "has nothing to roll back.", [], nil) }
        // Undo is a stack: everything applied at or above the lowest version to remove comes off, newest first.
        let unwound = applied.filter { $0.version >= lowest }.sorted { $0.version > $1.version }
        var steps: [PlannedStep] = []
        for item in unwound {
            switch item.entry.kind {
            case .skip, .baseline:
                steps.append(
                    PlannedStep(
                        version: item.version, description: item.migration.description, kind: .undo, script: "", checksum: "",
                        transactional: true))
            case .forward, .compensate, .undo:
                guard let undo = item.migration.undo else {
                    return result(
                        .blocked,
                        "\(policy.rollbackRule), but version \(item.version) has no undo script; only a restore from backup takes it back (`tidemark restore`).",
                        [], nil)
                }
                if let why = undo.irreversible {
                    return result(
                        .blocked,
                        "\(policy.rollbackRule), but version \(item.version) is irreversible (\(why)); only a restore from backup takes it back (`tidemark restore`).",
                        [], nil)
                }
                steps.append(step(item.migration, kind: .undo, memo: memo))
            }
        }
        let remaining = Set(applied.map(\.version)).subtracting(unwound.map(\.version))
        let remainingEffective = Set(applied.filter { remaining.contains($0.version) && $0.migration.compensates == nil }.map(\.version))
        let reapply = desiredSet.subtracting(remainingEffective)
        steps += forwardSteps(
            pending: reapply, appliedVersions: remaining, effectiveAfterRemoval: remainingEffective, desired: desired, memo: memo)
        let undone = steps.filter { $0.kind == .undo }.map { "v\($0.version)" }
        let below = highestVersion(remaining.map(\.text))
        let reason = "\(policy.rollbackRule); undoes \(undone.joined(separator: ", ")) (\(from.map { "v\($0)" } ?? "empty") → \(below.map { "v\($0)" } ?? "empty"))\(quarantineNote(toRemove))."
        return result(.rollback, reason, steps, highestVersion(remaining.map(\.text) + steps.filter { $0.kind != .undo }.map(\.version.text)))
    }

    // MARK: - Helpers

    private func quarantineNote(_ versions: Set<Version>) -> String {
        let notes = versions.sorted().compactMap { version in
            plan.quarantine.first { $0.version == version }.map { "v\(version) is quarantined: \($0.reason)" }
        }
        return notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")
    }

    private func compensatedVersion(of version: Version) -> String {
        migrationsByVersion[version]?.compensates?.text ?? "?"
    }

    private func step(_ migration: Migration, kind: StepKind, memo: StepMemo) -> PlannedStep {
        memo.step(migration.version, kind) { step(migration, kind: kind) }
    }

    private func step(_ migration: Migration, kind: StepKind) -> PlannedStep {
        let script = kind == .undo ? (migration.undo ?? migration.forward) : migration.forward
        let findings = DataLossClassifier.findings(in: script.sql).map(\.description)
        var notes = findings
        if let acknowledged = script.dataLossAcknowledged { notes.append("acknowledged: \(acknowledged)") }
        return PlannedStep(
            version: migration.version, description: migration.description, kind: kind, script: script.path,
            checksum: script.checksum, transactional: script.isTransactional, dataLosing: !findings.isEmpty, dataLossNotes: notes)
    }

    private func skipStep(_ migration: Migration, reversed: Version) -> PlannedStep {
        PlannedStep(
            version: migration.version, description: migration.description, kind: .skip, script: migration.forward.path,
            checksum: migration.forward.checksum, transactional: true)
    }

    private func highestVersion(_ texts: [String]) -> String? {
        texts.compactMap { Version($0, style: plan.versionStyle) }.max()?.text
    }

    private func listed(_ versions: [String]) -> String {
        versions.count > 4 ? "\(versions[0])…\(versions[versions.count - 1]) (\(versions.count))" : versions.joined(separator: ", ")
    }
}

/// The planned steps of one `plan(states:)` pass, by version and kind: a step depends only on its
/// migration, so it is built (and its script run through `DataLossClassifier`) once per pass, not
/// once per target; on a 10,000-target fleet that was most of the planning time.
/// Not thread-safe: one planning pass owns it.
final class StepMemo {
    private struct Key: Hashable {
        var version: Version
        var kind: StepKind
    }

    private var steps: [Key: PlannedStep] = [:]

    func step(_ version: Version, _ kind: StepKind, make: () -> PlannedStep) -> PlannedStep {
        let key = Key(version: version, kind: kind)
        if let step = steps[key] { return step }
        let step = make()
        steps[key] = step
        return step
    }
}
