import Foundation
import Logging
import TidemarkCore

/// Runs a rollout wave by wave (the inventory's `order`), each target on a dedicated worker
/// thread, within the fleet-wide and per-environment concurrency limits.
///
/// In each wave the canary runs alone first and the rest wait for it; a failed canary, or more
/// failures than the environment's `max_failures` (default 0 for prod, unlimited otherwise),
/// halts the wave and every later one, whose targets are reported `skipped`. A stop request
/// (`RunControl`) starts no new target or step. Blocking libpq and sqlite3 calls run only on the
/// executor's own threads, never on the Swift concurrency pool. Thread-safe value.
public struct RolloutExecutor: Sendable {
    public var inventory: Inventory
    public var plan: Plan
    public var registry: BackendRegistry
    public var runID: String
    public var appliedBy: String
    public var logger: Logger
    public var control: RunControl
    /// The fleet-wide worker limit; defaults to the inventory's `concurrency`.
    public var concurrency: Int
    /// Backups before data-losing steps on prod targets (`--no-backup`: `.disabled`).
    public var backups = BackupPolicy()
    /// `apply --drift` / `drift:`: fingerprint each target before touching it; nil: no gate.
    public var driftGate: DriftGate?
    /// `apply --verify`: run each version's verify script after its forward step.
    public var verify = false

    public init(
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
        self.concurrency = max(1, concurrency ?? inventory.concurrency)
    }

    /// Executes `rollout`; returns every target's outcome in wave order.
    public func execute(
        _ rollout: Rollout, onOutcome: @escaping @Sendable (TargetOutcome) -> Void = { _ in },
        onEvent: @escaping @Sendable (RunEvent) -> Void = { _ in }
    ) async -> [TargetOutcome] {
        let pool = DispatchWorkers(count: concurrency, label: "tidemark-worker")
        let fleet = FleetIndex(inventory)
        let report: @Sendable (TargetOutcome) -> Void = { outcome in
            onEvent(.targetFinished(outcome))
            onOutcome(outcome)
        }
        var outcomes: [TargetOutcome] = []
        var haltedBy: String?
        for (index, wave) in rollout.waves.enumerated() {
            if let reason = haltedBy ?? (control.isStopRequested ? "interrupted before this wave started" : nil) {
                for targetPlan in wave.targets {
                    let outcome = TargetOutcome(plan: targetPlan, outcome: .skipped, reason: "not run: \(reason)")
                    outcomes.append(outcome)
                    report(outcome)
                }
                continue
            }
            onEvent(.waveStarted(environment: wave.environment, index: index, count: rollout.waves.count, targets: wave.targets.count))
            let result = await run(wave, pool: pool, fleet: fleet, report: report, onEvent: onEvent)
            outcomes += result.outcomes
            if let halt = result.haltReason {
                haltedBy = halt
                onEvent(.waveHalted(environment: wave.environment, reason: halt))
            }
        }
        return outcomes
    }

    /// One wave: canary alone, then the rest with at most `limit` in flight.
    private func run(
        _ wave: Wave, pool: DispatchWorkers, fleet: FleetIndex, report: @escaping @Sendable (TargetOutcome) -> Void,
        onEvent: @escaping @Sendable (RunEvent) -> Void
    ) async -> (
        outcomes: [TargetOutcome], haltReason: String?
    ) {
        let environment = fleet.environments[wave.environment]
        let limit = min(concurrency, max(1, environment?.concurrency ?? concurrency))
        let maxFailures = environment?.maxFailures ?? (wave.tier == .prod ? 0 : Int.max)
        var byTarget: [String: TargetOutcome] = [:]
        var failures = 0
        var haltReason: String?

        func record(_ outcome: TargetOutcome) {
            byTarget[outcome.target] = outcome
            report(outcome)
            guard outcome.outcome == .failed else { return }
            failures += 1
            if haltReason == nil && failures > maxFailures {
                haltReason =
                    "wave \(wave.environment) halted after \(failures) failure\(failures == 1 ? "" : "s") (max_failures: \(maxFailures))"
            }
        }

        var queue = wave.targets[...]
        if let canaryName = wave.canary, let canary = wave.targets.first(where: { $0.target == canaryName }) {
            queue = wave.targets.filter { $0.target != canaryName }[...]
            let outcome = await runTarget(canary, pool: pool, fleet: fleet, onEvent: onEvent)
            record(outcome)
            // Said as the canary rule, whatever the failure budget: the canary exists to stop the rest.
            if outcome.outcome == .failed {
                haltReason = "canary \(canaryName) of wave \(wave.environment) failed, so the rest of the wave did not start"
            }
        }

        await withTaskGroup(of: TargetOutcome.self) { group in
            var inFlight = 0
            func launchMore() {
                while inFlight < limit, haltReason == nil, !control.isStopRequested, let next = queue.popFirst() {
                    // Targets with nothing to run finish at once, without taking a worker.
                    if next.action == .none || next.action == .blocked {
                        record(TargetOutcome(plan: next, outcome: next.action == .none ? .unchanged : .blocked))
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
        let notStarted = haltReason ?? "interrupted before this target started"
        for targetPlan in queue {
            record(TargetOutcome(plan: targetPlan, outcome: .skipped, reason: "not run: \(notStarted)"))
        }
        return (wave.targets.compactMap { byTarget[$0.target] }, haltReason)
    }

    /// One target on a pool thread; its running statement can be cancelled through `control`.
    private func runTarget(
        _ targetPlan: TargetPlan, pool: DispatchWorkers, fleet: FleetIndex, onEvent: @escaping @Sendable (RunEvent) -> Void
    ) async -> TargetOutcome {
        guard let target = fleet.targets[targetPlan.target] else {
            return TargetOutcome(
                plan: targetPlan, outcome: .failed,
                error: ExecutionError.unknownInRollout(target: targetPlan.target, what: "target \(targetPlan.target)").description)
        }
        let backend: any Backend
        do {
            backend = try registry.backend(for: target)
        } catch {
            return TargetOutcome(plan: targetPlan, outcome: .failed, error: error.description)
        }
        if control.isStopRequested {
            return TargetOutcome(plan: targetPlan, outcome: .skipped, reason: "not run: interrupted before this target started")
        }
        let timeouts = inventory.timeouts(for: target)
        onEvent(.targetStarted(target: target.name, environment: target.environment))
        var configured = TargetRunner(plan: plan, runID: runID, appliedBy: appliedBy, logger: logger, backups: backups)
        configured.inventoryFile = inventory.file
        configured.driftGate = driftGate
        configured.verify = verify
        let runner = configured
        let control = self.control
        var outcome = await pool.run {
            runner.run(
                targetPlan, on: target, backend: backend, timeouts: timeouts,
                lockRetries: fleet.environments[target.environment]?.lockRetries ?? 0, shouldStop: { control.isStopRequested },
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
