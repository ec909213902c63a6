import Foundation
import Logging
import TidemarkCore
import TidemarkPlanner

/// Runs a rollout wave by wave (the inventory's `order`), each target on a dedicated worker
/// thread, within the fleet-wide and per-environment concurrency limits.
///
/// Waves halt as `WavePolicy` says: the canary alone first, the rest waiting for it; a failed
/// canary, or more failures than the environment's `max_failures` (default 0), stops the later
/// waves, whose targets are reported `skipped`; a halted prod wave starts no new target of its
/// own, a halted non-prod wave finishes its own. A stop request
/// (`RunControl`) starts no new target or step. Blocking libpq and sqlite3 calls run only on the
/// executor's own threads, never on the Swift concurrency pool. Thread-safe value.
package struct RolloutExecutor: Sendable {
    package var inventory: Inventory
    package var plan: Plan
    package var registry: BackendRegistry
    package var runID: String
    package var appliedBy: String
    package var logger: Logger
    package var control: RunControl
    /// The fleet-wide worker limit; defaults to the inventory's `concurrency`.
    package var concurrency: Int
    /// Backups before data-losing steps on prod targets (`--no-backup`: `.disabled`).
    package var backups = BackupPolicy()
    /// `apply --drift` / `drift:`: fingerprint each target before touching it; nil: no gate.
    package var driftGate: DriftGate?
    /// `apply --verify`: run each version's verify script after its forward step.
    package var verify = false
    /// The clock change windows and freezes are weighed against (docs/windows.md), before each
    /// wave and each target that writes; nil: no window is weighed (`--override-window`).
    package var windowClock: (@Sendable () -> Date)?
    /// `--override-window`: the environments it overrode, and the note their history rows add.
    package var windowOverride: WindowOverride?
    /// Waves whose environment has `approval: required` start only once this approves them
    /// (docs/on-call.md#approvals); nil: no wave waits (an executor without a person to ask).
    package var approvals: ApprovalGate?

    package init(
        inventory: Inventory, plan: Plan, registry: BackendRegistry, runID: String, appliedBy: String, logger: Logger,
        control: RunControl = RunControl(), concurrency: Int? = nil
    ) {
        self.inventory = inventory
        self.plan = plan
        self.registry = registry
        self.runID = runID
        self.appliedBy = appliedBy
        self.logger = logger
        self.control = control
        self.concurrency = WavePolicy.workers(requested: concurrency, inventory: inventory)
    }

    /// Executes `rollout`; returns every target's outcome in wave order.
    package func execute(
        _ rollout: Rollout, onOutcome: @escaping @Sendable (TargetOutcome) -> Void = { _ in },
        onEvent: @escaping @Sendable (RunEvent) -> Void = { _ in }
    ) async -> [TargetOutcome] {
        let pool = DispatchWorkers(count: concurrency, label: "tidemark-worker")
        let fleet = FleetIndex(inventory)
        let policy = WavePolicy(inventory: inventory)
        let report: @Sendable (TargetOutcome) -> Void = { outcome in
            onEvent(.targetFinished(outcome))
            onOutcome(outcome)
        }
        var outcomes: [TargetOutcome] = []
        var haltedBy: String?
        var deferredBy: Deferral?
        for (index, wave) in rollout.waves.enumerated() {
            // docs/windows.md: a wave outside its window, or after a deferred one, writes nothing.
            if haltedBy == nil, !control.isStopRequested,
                let deferral = deferredBy ?? windowDeferral(of: wave.environment)
            {
                for targetPlan in wave.targets {
                    let outcome = Self.deferredOrNothing(targetPlan, deferral: deferral)
                    outcomes.append(outcome)
                    report(outcome)
                }
                if deferredBy == nil && wave.targets.contains(where: \.action.writesTarget) {
                    deferredBy = Deferral(cause: .earlierWave(environment: wave.environment), until: nil)
                }
                continue
            }
            if let reason = haltedBy ?? (control.isStopRequested ? "interrupted before this wave started" : nil) {
                for targetPlan in wave.targets {
                    let outcome = TargetOutcome(plan: targetPlan, outcome: .skipped, reason: "not run: \(reason)")
                    outcomes.append(outcome)
                    report(outcome)
                }
                continue
            }
            switch await approval(of: wave, index: index, count: rollout.waves.count, pool: pool) {
            case .approved: break
            case .deferred(let deferral):
                for targetPlan in wave.targets {
                    let outcome = Self.deferredOrNothing(targetPlan, deferral: deferral)
                    outcomes.append(outcome)
                    report(outcome)
                }
                deferredBy = Deferral(cause: .earlierWave(environment: wave.environment), until: nil)
                continue
            case .rejected(let reason):
                haltedBy = reason
                for targetPlan in wave.targets {
                    let outcome = TargetOutcome(plan: targetPlan, outcome: .skipped, reason: "not run: \(reason)")
                    outcomes.append(outcome)
                    report(outcome)
                }
                onEvent(.waveHalted(environment: wave.environment, reason: reason))
                continue
            }
            onEvent(
                .waveStarted(
                    environment: wave.environment, index: index, count: rollout.waves.count, targets: wave.targets.count
                ))
            let result = await run(
                wave, rule: policy.rule(for: wave), pool: pool, fleet: fleet, report: report, onEvent: onEvent)
            outcomes += result.outcomes
            if result.outcomes.contains(where: { $0.outcome == .deferred }) {
                deferredBy = Deferral(cause: .earlierWave(environment: wave.environment), until: nil)
            }
            if let halt = result.haltReason {
                haltedBy = halt
                onEvent(.waveHalted(environment: wave.environment, reason: halt))
            }
        }
        return outcomes
    }

    /// One wave: canary alone, then the rest with at most the rule's limit in flight, while the
    /// rule lets the wave start more.
    private func run(
        _ wave: Wave, rule: WavePolicy.Rule, pool: DispatchWorkers, fleet: FleetIndex,
        report: @escaping @Sendable (TargetOutcome) -> Void,
        onEvent: @escaping @Sendable (RunEvent) -> Void
    ) async -> (
        outcomes: [TargetOutcome], haltReason: String?
    ) {
        let limit = rule.limit(workers: concurrency)
        var byTarget: [String: TargetOutcome] = [:]
        var progress = WavePolicy.Progress(rule: rule)

        func record(_ outcome: TargetOutcome) {
            byTarget[outcome.target] = outcome
            report(outcome)
            _ = progress.record(outcome.outcome, target: outcome.target, canary: outcome.target == wave.canary)
        }

        var queue = wave.targets[...]
        if let canaryName = wave.canary, let canary = wave.targets.first(where: { $0.target == canaryName }) {
            queue = wave.targets.filter { $0.target != canaryName }[...]
            record(await runTarget(canary, pool: pool, fleet: fleet, onEvent: onEvent))
        }

        await withTaskGroup(of: TargetOutcome.self) { group in
            var inFlight = 0
            func launchMore() {
                while inFlight < limit, progress.startsMore, !control.isStopRequested, let next = queue.popFirst() {
                    // Targets with nothing to run finish at once, without taking a worker.
                    if next.action == .none || next.action == .blocked {
                        record(TargetOutcome(plan: next, outcome: next.action == .none ? .unchanged : .blocked))
                        continue
                    }
                    // A window that closed mid-run: running targets finish, the rest wait for the next.
                    if let deferral = windowDeferral(of: wave.environment) {
                        record(Self.deferredOrNothing(next, deferral: deferral))
                        continue
                    }
                    inFlight += 1
                    group.addTask { await runTarget(next, pool: pool, fleet: fleet, onEvent: onEvent) }
                }
            }
            launchMore()
            for await outcome in group {
                inFlight -= 1
                record(outcome)
                launchMore()
            }
        }
        // Whatever did not start: halted or interrupted.
        let notStarted = progress.haltReason ?? "interrupted before this target started"
        for targetPlan in queue {
            record(TargetOutcome(plan: targetPlan, outcome: .skipped, reason: "not run: \(notStarted)"))
        }
        return (wave.targets.compactMap { byTarget[$0.target] }, progress.haltReason)
    }

    /// Whether `wave` may start: approved (or it needs no approval, or writes nothing), rejected
    /// by a person on a terminal, or deferred for want of anyone to ask. The question blocks for
    /// its answer on a worker thread, never on the Swift concurrency pool.
    private func approval(of wave: Wave, index: Int, count: Int, pool: DispatchWorkers) async -> ApprovalGate.Verdict {
        guard let approvals,
            inventory.environments.first(where: { $0.name == wave.environment })?.approvalRequired == true
        else { return .approved }
        let writes = wave.targets.filter(\.action.writesTarget).map(\.target)
        guard !writes.isEmpty else { return .approved }
        let question = ApprovalGate.Question(
            runID: runID, environment: wave.environment, index: index, count: count, targets: writes)
        return await pool.run { approvals.decide(question) }
    }

    /// Why `environment` may not start writes now (nil: it may, or no window is weighed).
    private func windowDeferral(of environment: String) -> Deferral? {
        guard let windowClock else { return nil }
        return WindowRule.deferral(of: inventory.environments.first { $0.name == environment }, at: windowClock())
    }

    /// A deferred target that would write, or what a target with nothing to write ends as anyway.
    package static func deferredOrNothing(_ targetPlan: TargetPlan, deferral: Deferral) -> TargetOutcome {
        switch targetPlan.action {
        case .none: return TargetOutcome(plan: targetPlan, outcome: .unchanged)
        case .blocked: return TargetOutcome(plan: targetPlan, outcome: .blocked)
        case .forward, .rollback, .rollforward:
            return TargetOutcome(plan: targetPlan, outcome: .deferred, reason: "deferred: \(deferral.sentence)")
        }
    }

    /// One target on a pool thread; its running statement can be cancelled through `control`.
    private func runTarget(
        _ targetPlan: TargetPlan, pool: DispatchWorkers, fleet: FleetIndex,
        onEvent: @escaping @Sendable (RunEvent) -> Void
    ) async -> TargetOutcome {
        guard let target = fleet.targets[targetPlan.target] else {
            return TargetOutcome(
                plan: targetPlan, outcome: .failed,
                error: ExecutionError.unknownInRollout(target: targetPlan.target, what: "target \(targetPlan.target)")
                    .description)
        }
        let backend: any Backend
        do {
            backend = try registry.backend(for: target)
        } catch {
            return TargetOutcome(plan: targetPlan, outcome: .failed, error: error.description)
        }
        if control.isStopRequested {
            return TargetOutcome(
                plan: targetPlan, outcome: .skipped, reason: "not run: interrupted before this target started")
        }
        let timeouts = inventory.timeouts(for: target)
        onEvent(.targetStarted(target: target.name, environment: target.environment))
        var configured = TargetRunner(plan: plan, runID: runID, appliedBy: appliedBy, logger: logger, backups: backups)
        configured.inventoryFile = inventory.file
        configured.driftGate = driftGate
        configured.verify = verify
        if let windowOverride, windowOverride.environments.contains(target.environment) {
            configured.descriptionNote = windowOverride.historyNote
        }
        let runner = configured
        let control = self.control
        var outcome = await pool.run {
            runner.run(
                targetPlan, on: target, backend: backend, timeouts: timeouts,
                lockRetries: fleet.environments[target.environment]?.lockRetries ?? 0,
                shouldStop: { control.isStopRequested },
                onConnection: { control.register(target.name, canceller: $0) }, onEvent: onEvent)
        }
        control.unregister(target.name)
        // A statement cancelled by a second interrupt is an interruption, not a failure of the target.
        if outcome.outcome == .failed && control.isCancelRequested {
            outcome.outcome = .interrupted
        }
        return outcome
    }
}
