import TidemarkCore
import TidemarkSQLCheck

/// What to plan for: the desired version, the strategy, and which targets.
package struct PlannerOptions: Sendable, Hashable {
    package var desiredVersion: DesiredVersion
    package var strategy: Strategy
    /// Target names to plan; nil plans every target of the inventory.
    package var targets: Set<String>?

    package init(desiredVersion: DesiredVersion = .latest, strategy: Strategy = .auto, targets: Set<String>? = nil) {
        self.desiredVersion = desiredVersion
        self.strategy = strategy
        self.targets = targets
    }
}

/// Decides, per target, between apply, roll back, roll forward and blocked
/// (docs/guide.md#the-rules-the-planner-follows).
///
/// A pure function of its inputs: no clock, no environment, no I/O; the same inputs always give
/// the same rollout. Thread-safe (a value).
///
/// The model: a plan's *base* versions change the schema; a *compensating* version (`tidemark:
/// compensates V`) reverses V by rolling forward. The schema a target should have at desired
/// version D is the set of base versions up to D that are neither quarantined nor reversed by a
/// compensating version up to D. A target's *effective* versions are its applied base versions
/// that no applied compensation reverses. The planner moves the effective set to the desired
/// set: pending versions are applied; versions that must go are undone or compensated as the
/// `RuleTable` says. Compensating versions due on a target that never ran what they reverse are
/// recorded as `skip`. What quarantine means is `QuarantineRule`'s; the words are `ReasonText`'s.
package struct Planner: Sendable {
    package let inventory: Inventory
    package let plan: Plan
    private let compensator: [Version: Migration]
    private let migrationsByVersion: [Version: Migration]
    private let quarantine: QuarantineRule

    package init(inventory: Inventory, plan: Plan) {
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
        self.quarantine = QuarantineRule(plan: plan)
    }

    /// Plans every selected target; `states` holds each target's state by name (a target with
    /// no entry is planned from an empty history).
    package func plan(states: [String: TargetState], options: PlannerOptions = PlannerOptions()) -> Rollout {
        let desired = options.desiredVersion.resolved(in: plan)
        let steps = StepMemo()
        var waves: [Wave] = []
        for environment in inventory.waves {
            let selected = environment.targets.filter { options.targets?.contains($0.name) ?? true }
            guard !selected.isEmpty else { continue }
            let plans = selected.map { target in
                planTarget(
                    target, in: environment, state: states[target.name] ?? .empty, desired: desired,
                    strategy: options.strategy,
                    steps: steps)
            }
            waves.append(
                Wave(
                    environment: environment.name, tier: environment.tier, live: environment.live,
                    audit: environment.audit,
                    canary: environment.canary, targets: plans))
        }
        return Rollout(
            inventory: inventory.name, inventoryFile: inventory.file, plan: plan.name, desiredVersion: desired,
            strategy: options.strategy, waves: waves)
    }

    /// The desired base versions at `desired`: not quarantined, not reversed by a compensation up to it.
    package func desiredBaseVersions(upTo desired: Version?) -> Set<Version> {
        guard let desired else { return [] }
        var result = Set<Version>()
        for migration in plan.migrations where migration.compensates == nil && migration.version <= desired {
            if !quarantine.mayRun(migration.version) { continue }
            if let reverser = compensator[migration.version], reverser.version <= desired { continue }
            result.insert(migration.version)
        }
        return result
    }

    // MARK: - One target

    /// What one target has applied, as the plan knows it.
    private typealias Applied = (version: Version, entry: AppliedVersion, migration: Migration)

    /// Builds a target's plan from a decision; its reason is rendered by `ReasonText`.
    private struct TargetPlanMaker {
        var target: Target
        var environment: Environment
        var state: TargetState
        var from: String?
        var inventoryFile: String

        /// `to`: the highest version in effect after `steps` (nil: none); without steps the target stays where it is.
        func callAsFunction(_ decision: Decision, _ steps: [PlannedStep] = [], to: String? = nil, lowest: String? = nil)
            -> TargetPlan
        {
            var plan = TargetPlan(
                target: target.name, environment: environment.name, tier: environment.tier, action: decision.action,
                reason: "",
                decision: decision, steps: steps, fromVersion: from, toVersion: steps.isEmpty ? from : to,
                lowestVersion: lowest, plannedFrom: PlannedFrom(state))
            plan.reason = ReasonText.sentence(for: plan, inventoryFile: inventoryFile)
            return plan
        }
    }

    func planTarget(
        _ target: Target, in environment: Environment, state: TargetState, desired: Version?, strategy: Strategy,
        steps memo: StepMemo = StepMemo()
    ) -> TargetPlan {
        let result = TargetPlanMaker(
            target: target, environment: environment, state: state, from: highestVersion(state.applied.map(\.version)),
            inventoryFile: inventory.file)
        var plan = planVersions(
            target, in: environment, state: state, desired: desired, strategy: strategy, memo: memo, result: result)
        if let unfinished = state.backfill,
            plan.steps.contains(where: { step in
                step.version.text == unfinished.version
                    && (unfinished.kind == .forward ? step.kind == .undo : step.kind == .forward)
                    || step.kind == .compensate && step.compensates?.text == unfinished.version
            })
        {
            plan.abandonsBackfill = unfinished
        }
        var checked = checkingLocks(
            plan, target: target, environment: environment, state: state, result: result, memo: memo)
        if target.backendKind == .mysql { checked.steps = markingImplicitCommits(checked.steps, memo: memo) }
        checked.steps = memo.shared(checked.steps)
        return estimatingBatches(checked, state: state)
    }

    /// docs/backfills.md#in-the-plan: a batched step gets the target's estimate of its table's
    /// rows (nil where the catalog has none, as on SQLite). Steps are copied only when one changes.
    private func estimatingBatches(_ plan: TargetPlan, state: TargetState) -> TargetPlan {
        guard
            plan.steps.contains(where: { step in
                step.batch.map { state.estimatedRows[$0.table] != step.batchEstimatedRows } ?? false
            })
        else { return plan }
        var plan = plan
        plan.steps = plan.steps.map { step in
            var step = step
            if let spec = step.batch { step.batchEstimatedRows = state.estimatedRows[spec.table] }
            return step
        }
        return plan
    }

    /// docs/live-production.md#lint-and-lock-risk-in-the-plan: each lock-risky step gets the
    /// target's size estimate of the table it changes; on a live environment, a scan or rewrite of
    /// a table estimated above `lock_risk_rows` blocks the target unless the script says
    /// `-- tidemark:lock-ok`. Dev and test only show the risk. SQLite targets have no such locks
    /// (one writer at a time, no catalog estimates): no risk shown.
    private func checkingLocks(
        _ plan: TargetPlan, target: Target, environment: Environment, state: TargetState, result: TargetPlanMaker,
        memo: StepMemo
    ) -> TargetPlan {
        var plan = plan
        // docs/mysql.md#online-ddl-classes: on MySQL the risks are the ALTERs the target's
        // server copies or rebuilds, not PostgreSQL's rules.
        if target.backendKind == .mysql { plan.steps = mysqlLockRisks(plan.steps, server: state.server, memo: memo) }
        guard plan.steps.contains(where: { !$0.lockRisks.isEmpty }) else { return plan }
        // The rules are PostgreSQL's (what it locks, and CONCURRENTLY as the fix). SQLite takes
        // no table locks that block readers the way these do: its risks go.
        let sqlite = target.backendKind == .sqlite
        func estimate(_ risk: LockRisk) -> Double? {
            sqlite ? nil : risk.relations.first.flatMap { state.estimatedRows[$0] }
        }
        // The steps are written only when something changes: a write copies the target's steps
        // (a kilobyte per target at 100,000 targets), and the copy would be made even for an
        // unchanged value, as the optimizer makes an array unique before a loop that may write it.
        if sqlite
            || plan.steps.contains(where: { step in step.lockRisks.contains { estimate($0) != $0.estimatedRows } })
        {
            plan.steps = plan.steps.map { step in
                var step = step
                step.lockRisks =
                    sqlite
                    ? []
                    : step.lockRisks.map { risk in
                        var risk = risk
                        risk.estimatedRows = estimate(risk)
                        return risk
                    }
                return step
            }
        }
        guard environment.live else { return plan }
        for step in plan.steps where step.lockAcknowledged == nil {
            if let risk = step.lockRisks.first(where: { $0.exceeds(environment.lockRiskRows) }) {
                return result(
                    .blocked(
                        reason: .lockRisk(
                            version: step.version, script: step.script, risk: risk, threshold: environment.lockRiskRows),
                        rule: nil))
            }
        }
        return plan
    }

    /// docs/mysql.md#steps-transactions-and-ddl: on a MySQL target, a step whose script is not
    /// all DML commits as it goes, whatever its directives say.
    /// Each step's MySQL online-DDL risks for `server` (MySQL 8.0 when it is not known).
    private func mysqlLockRisks(_ steps: [PlannedStep], server: DatabaseServer?, memo: StepMemo) -> [PlannedStep] {
        let server = server ?? DatabaseServer(product: .mysql, version: "8.0")
        let risks = steps.map { step -> [LockRisk] in
            guard step.kind == .forward || step.kind == .undo || step.kind == .compensate, !step.script.isEmpty,
                let migration = migrationsByVersion[step.version]
            else { return [] }
            let script = step.kind == .undo ? (migration.undo ?? migration.forward) : migration.forward
            return memo.mysqlRisks(step.version, step.kind, server) {
                MySQLOnlineDDL.findings(in: script.sql, server: server).compactMap(LockRisk.init)
            }
        }
        guard zip(steps, risks).contains(where: { $0.lockRisks != $1 }) else { return steps }
        return zip(steps, risks).map { step, risks in
            var step = step
            step.lockRisks = risks
            return step
        }
    }

    private func markingImplicitCommits(_ steps: [PlannedStep], memo: StepMemo) -> [PlannedStep] {
        guard steps.contains(where: { hasImplicitCommit($0, memo: memo) }) else { return steps }
        return steps.map { step in
            var step = step
            step.nonTransactionalOnMySQL = hasImplicitCommit(step, memo: memo)
            return step
        }
    }

    private func hasImplicitCommit(_ step: PlannedStep, memo: StepMemo) -> Bool {
        guard step.kind == .forward || step.kind == .undo || step.kind == .compensate, !step.script.isEmpty,
            let migration = migrationsByVersion[step.version]
        else { return false }
        let script = step.kind == .undo ? (migration.undo ?? migration.forward) : migration.forward
        return memo.implicitCommit(step.version, step.kind) {
            guard let statements = try? MySQLScript.statements(in: script.sql) else { return true }
            return !MySQLScript.isAllDML(statements)
        }
    }

    /// The plan of versions alone (docs/guide.md#the-rules-the-planner-follows), before lock risks
    /// are weighed.
    private func planVersions(
        _ target: Target, in environment: Environment, state: TargetState, desired: Version?, strategy: Strategy,
        memo: StepMemo, result: TargetPlanMaker
    ) -> TargetPlan {

        // Blocked: the target's state is not one a machine should act on.
        if let dirty = state.dirty {
            return result(.blocked(reason: .dirty(version: dirty.version, historyRow: dirty.id), rule: nil))
        }
        if let tool = state.foreignHistory, state.applied.isEmpty {
            return result(.blocked(reason: .adoptFirst(tool: tool, table: tool.historyTable.qualifiedName), rule: nil))
        }
        var applied: [Applied] = []
        let desiredSet = desiredBaseVersions(upTo: desired)
        // docs/backfills.md#going-back-below-an-unfinished-backfill: a batched step stopped
        // mid-way has changed part of its table. A plan that keeps its version runs the forward
        // (resuming a forward; an undo's part is reversed by the forward run again); a plan below
        // it takes it back as if it were in effect (the undo, resuming an undo; or a compensation,
        // as the rule table chooses).
        var entries = state.applied
        // A compensating step stopped mid-way is left to the compensation rules (it resumes).
        if let unfinished = state.backfill, unfinished.kind == .forward || unfinished.kind == .undo,
            let version = Version(unfinished.version, style: plan.versionStyle),
            migrationsByVersion[version]?.compensates == nil
        {
            if desiredSet.contains(version) {
                entries.removeAll { $0.version == unfinished.version }
            } else if !entries.contains(where: { $0.version == unfinished.version }) {
                entries.append(
                    AppliedVersion(
                        version: unfinished.version, kind: .forward, checksum: unfinished.checksum,
                        entryID: unfinished.id))
            }
        }
        for entry in entries {
            guard let version = Version(entry.version, style: plan.versionStyle),
                let migration = migrationsByVersion[version]
            else {
                return result(.blocked(reason: .unknownVersion(version: entry.version, plan: plan.name), rule: nil))
            }
            if (entry.kind == .forward || entry.kind == .compensate)
                && !migration.forward.matches(recordedChecksum: entry.checksum) && entry.entryID != state.backfill?.id
            {
                return result(
                    .blocked(
                        reason: .checksumMismatch(
                            version: entry.version, applied: entry.checksum, script: migration.forward.path,
                            current: migration.forward.checksum),
                        rule: nil))
            }
            applied.append((version, entry, migration))
        }

        let appliedVersions = Set(applied.map(\.version))
        let compensatedHere = Set(
            applied.compactMap { item in item.entry.kind == .compensate ? item.migration.compensates : nil })
        let effective = Set(
            applied.filter { $0.migration.compensates == nil && !compensatedHere.contains($0.version) }.map(\.version))
        let toRemove = effective.subtracting(desiredSet)
        let staying = effective.intersection(desiredSet)
        let pending = desiredSet.subtracting(effective)

        // An applied, undone-by-nobody version above a pending one: applying out of order is a human call.
        if let highestStaying = staying.max(), let gap = pending.filter({ $0 < highestStaying }).min() {
            return result(.blocked(reason: .outOfOrderGap(applied: highestStaying, missing: gap), rule: nil))
        }

        if toRemove.isEmpty {
            let steps = forwardSteps(
                pending: pending, appliedVersions: appliedVersions, effectiveAfterRemoval: staying, desired: desired,
                memo: memo)
            guard !steps.isEmpty else { return result(.upToDate) }
            return result(
                .applyPending(neverRun: quarantine.neverRun(passedBy: steps)), steps, to: steps.last.map(\.version.text)
            )
        }

        // Versions must go: the rule table says how.
        func rollForward(_ rule: Rule) -> TargetPlan {
            self.rollForward(
                toRemove: toRemove, pending: pending, appliedVersions: appliedVersions, staying: staying,
                desired: desired, rule: rule,
                memo: memo, result: result)
        }
        switch RuleTable.removal(on: environment, strategy: strategy) {
        case .refused(let rule):
            return result(.blocked(reason: .forcedRollbackRefused, rule: rule))
        case .rollForward(let rule):
            return rollForward(rule)
        case .rollBack(let rule, let fallsBackToRollForward):
            let rolledBack = rollBack(
                applied: applied, toRemove: toRemove, desiredSet: desiredSet, desired: desired, rule: rule, memo: memo,
                result: result)
            // The undo path is impossible, but every version that must go has a compensation: roll forward instead.
            if fallsBackToRollForward, case .cannotUndo(let obstacle)? = rolledBack.blocked,
                toRemove.allSatisfy({ compensator[$0] != nil })
            {
                let forward = rollForward(.undoImpossible(because: obstacle))
                if forward.action != .blocked { return forward }
            }
            return rolledBack
        }
    }

    /// Forward and skip steps for pending base versions and due compensations, in version order.
    private func forwardSteps(
        pending: Set<Version>, appliedVersions: Set<Version>, effectiveAfterRemoval: Set<Version>, desired: Version?,
        memo: StepMemo
    ) -> [PlannedStep] {
        guard let desired else { return [] }
        var steps: [PlannedStep] = []
        // Room for the pending versions exactly (skips are rare): each target keeps its steps.
        steps.reserveCapacity(pending.count)
        for migration in plan.migrations where migration.version <= desired {
            if pending.contains(migration.version) {
                steps.append(step(migration, kind: .forward, memo: memo))
            } else if let reversed = migration.compensates, !appliedVersions.contains(migration.version),
                quarantine.mayRun(migration.version), !effectiveAfterRemoval.contains(reversed)
            {
                steps.append(step(migration, kind: .skip, memo: memo))
            }
        }
        return steps
    }

    private func rollForward(
        toRemove: Set<Version>, pending: Set<Version>, appliedVersions: Set<Version>, staying: Set<Version>,
        desired: Version?,
        rule: Rule, memo: StepMemo, result: TargetPlanMaker
    ) -> TargetPlan {
        var compensations: [Compensation] = []
        for version in toRemove.sorted() {
            guard let migration = compensator[version] else {
                return result(.blocked(reason: .noCompensation(version: version), rule: rule))
            }
            if !quarantine.mayRun(migration.version) {
                return result(
                    .blocked(
                        reason: .compensationQuarantined(version: version, compensation: migration.version), rule: rule)
                )
            }
            compensations.append(
                Compensation(
                    before: staying.filter { $0 < version }.max(), reversed: version, compensation: migration.version))
        }
        let compensating = Set(compensations.map(\.compensation))
        var steps = forwardSteps(
            pending: pending, appliedVersions: appliedVersions, effectiveAfterRemoval: staying.union(toRemove),
            desired: desired,
            memo: memo)
        steps.removeAll { compensating.contains($0.version) }
        steps += compensations.compactMap { item in
            migrationsByVersion[item.compensation].map { step($0, kind: .compensate, memo: memo) }
        }
        steps.sort { $0.version < $1.version }
        return result(
            .rollForward(rule: rule, compensations: compensations, quarantined: quarantine.entries(removing: toRemove)),
            steps,
            to: highestVersion(Array(appliedVersions.map(\.text)) + steps.map(\.version.text)))
    }

    private func rollBack(
        applied: [Applied], toRemove: Set<Version>, desiredSet: Set<Version>, desired: Version?, rule: Rule,
        memo: StepMemo,
        result: TargetPlanMaker
    ) -> TargetPlan {
        guard let lowest = toRemove.min() else { return result(.upToDate) }
        // Undo is a stack: everything applied at or above the lowest version to remove comes off, newest first.
        let unwound = applied.filter { $0.version >= lowest }.sorted { $0.version > $1.version }
        var steps: [PlannedStep] = []
        for item in unwound {
            switch item.entry.kind {
            // A skipped version never ran, so there is nothing to undo. An adopted (baseline)
            // version did run, by another tool, and its objects are there: its undo script runs.
            case .skip:
                steps.append(
                    PlannedStep(
                        version: item.version, description: item.migration.description, kind: .undo, script: "",
                        checksum: "",
                        transactional: true))
            case .forward, .compensate, .undo, .repair, .baseline:
                guard let undo = item.migration.undo else {
                    return result(
                        .blocked(reason: .cannotUndo(because: .noUndoScript(version: item.version)), rule: rule))
                }
                if let why = undo.irreversible {
                    return result(
                        .blocked(
                            reason: .cannotUndo(because: .irreversible(version: item.version, reason: why)), rule: rule)
                    )
                }
                steps.append(step(item.migration, kind: .undo, memo: memo))
            }
        }
        let remaining = Set(applied.map(\.version)).subtracting(unwound.map(\.version))
        let remainingEffective = Set(
            applied.filter { remaining.contains($0.version) && $0.migration.compensates == nil }.map(\.version))
        let reapply = desiredSet.subtracting(remainingEffective)
        steps += forwardSteps(
            pending: reapply, appliedVersions: remaining, effectiveAfterRemoval: remainingEffective, desired: desired,
            memo: memo)
        return result(
            .rollBack(rule: rule, quarantined: quarantine.entries(removing: toRemove)), steps,
            to: highestVersion(remaining.map(\.text) + steps.filter { $0.kind != .undo }.map(\.version.text)),
            lowest: highestVersion(remaining.map(\.text)))
    }

    // MARK: - Helpers

    private func step(_ migration: Migration, kind: StepKind, memo: StepMemo) -> PlannedStep {
        memo.step(migration.version, kind) { step(migration, kind: kind) }
    }

    private func step(_ migration: Migration, kind: StepKind) -> PlannedStep {
        if kind == .skip {
            // Recorded, not run: nothing to classify.
            return PlannedStep(
                version: migration.version, description: migration.description, kind: .skip,
                script: migration.forward.path,
                checksum: migration.forward.checksum, transactional: true, compensates: migration.compensates)
        }
        let script = kind == .undo ? (migration.undo ?? migration.forward) : migration.forward
        let findings = DataLossClassifier.findings(in: script.sql).map(\.description)
        var notes = findings
        if let acknowledged = script.dataLossAcknowledged { notes.append("acknowledged: \(acknowledged)") }
        var step = PlannedStep(
            version: migration.version, description: migration.description, kind: kind, script: script.path,
            checksum: script.checksum, transactional: script.isTransactional, dataLosing: !findings.isEmpty,
            dataLossNotes: notes,
            compensates: kind == .undo ? nil : migration.compensates)
        // A batched script is the fix for an unbatched data change: its one statement is not one.
        step.lockRisks = LockRiskClassifier.findings(in: script.sql).filter {
            script.batch == nil || $0.rule != .unbatchedDataChange
        }
        .map(LockRisk.init)
        step.lockAcknowledged = script.lockAcknowledged
        step.lockAcknowledgedBy = script.lockAcknowledgedBy
        step.batch = script.batch
        return step
    }

    private func highestVersion(_ texts: [String]) -> String? {
        texts.compactMap { Version($0, style: plan.versionStyle) }.max()?.text
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
    private var implicitCommits: [Key: Bool] = [:]
    private var mysqlRisks: [String: [LockRisk]] = [:]

    /// The MySQL online-DDL risks of `version`'s `kind` step on `server`, classified once per pass.
    func mysqlRisks(_ version: Version, _ kind: StepKind, _ server: DatabaseServer, compute: () -> [LockRisk])
        -> [LockRisk]
    {
        let key = "\(version.text)|\(kind.rawValue)|\(server.product.rawValue)|\(server.version)"
        if let known = mysqlRisks[key] { return known }
        let value = compute()
        mysqlRisks[key] = value
        return value
    }
    /// Step lists already planned: targets planned alike share one array.
    private let lists = StepListInterner()

    func step(_ version: Version, _ kind: StepKind, make: () -> PlannedStep) -> PlannedStep {
        let key = Key(version: version, kind: kind)
        if let step = steps[key] { return step }
        let step = make()
        steps[key] = step
        return step
    }

    /// Whether the script of `version`'s `kind` step commits implicitly on MySQL, split once per pass.
    func implicitCommit(_ version: Version, _ kind: StepKind, compute: () -> Bool) -> Bool {
        let key = Key(version: version, kind: kind)
        if let known = implicitCommits[key] { return known }
        let value = compute()
        implicitCommits[key] = value
        return value
    }

    /// `list`, or an equal list planned before for another target.
    func shared(_ list: [PlannedStep]) -> [PlannedStep] {
        lists.shared(list)
    }
}
