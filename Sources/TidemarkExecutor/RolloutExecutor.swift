import Foundation
import Logging
import TidemarkCore

/// Runs a rollout wave by wave in the inventory's order; a wave whose failures exceed its
/// environment's `max_failures` stops the later waves, whose targets are reported `skipped`.
///
/// Targets run one at a time on a dedicated worker thread (blocking C calls never run on the
/// Swift concurrency pool). Thread-safe value.
public struct RolloutExecutor: Sendable {
    public var inventory: Inventory
    public var plan: Plan
    public var registry: BackendRegistry
    public var runID: String
    public var appliedBy: String
    public var logger: Logger

    public init(inventory: Inventory, plan: Plan, registry: BackendRegistry, runID: String, appliedBy: String, logger: Logger) {
        self.inventory = inventory
        self.plan = plan
        self.registry = registry
        self.runID = runID
        self.appliedBy = appliedBy
        self.logger = logger
    }

    /// Executes `rollout`, calling `onOutcome` as each target finishes; returns every outcome in wave order.
    public func execute(_ rollout: Rollout, onOutcome: @Sendable (TargetOutcome) -> Void = { _ in }) async -> [TargetOutcome] {
        let pool = WorkerPool(threadCount: 1, name: "tidemark-apply")
        defer { pool.shutdown() }
        let runner = TargetRunner(plan: plan, runID: runID, appliedBy: appliedBy, logger: logger)
        var outcomes: [TargetOutcome] = []
        var haltedBy: String?
        for wave in rollout.waves {
            let environment = inventory.environment(named: wave.environment)
            let maxFailures = environment?.maxFailures ?? (wave.tier == .prod ? 0 : Int.max)
            var failures = 0
            // The canary runs first; the rest of the wave waits for it.
            let ordered = wave.targets.sorted { lhs, rhs in (lhs.target == wave.canary) && (rhs.target != wave.canary) }
            for targetPlan in ordered {
                if let haltedBy {
                    let outcome = TargetOutcome(plan: targetPlan, outcome: .skipped, reason: "not run: \(haltedBy)")
                    outcomes.append(outcome)
                    onOutcome(outcome)
                    continue
                }
                let outcome: TargetOutcome
                if let target = inventory.target(named: targetPlan.target) {
                    let timeouts = environment?.timeouts ?? inventory.defaults
                    do {
                        let backend = try registry.backend(for: target)
                        outcome = (try? await pool.run { runner.run(targetPlan, on: target, backend: backend, timeouts: timeouts) })
                            ?? TargetOutcome(plan: targetPlan, outcome: .failed, error: "\(target.name): worker stopped")
                    } catch {
                        outcome = TargetOutcome(plan: targetPlan, outcome: .failed, error: error.description)
                    }
                } else {
                    outcome = TargetOutcome(
                        plan: targetPlan, outcome: .failed,
                        error: ExecutionError.unknownInRollout(target: targetPlan.target, what: "target \(targetPlan.target)").description)
                }
                outcomes.append(outcome)
                onOutcome(outcome)
                if outcome.outcome == .failed {
                    failures += 1
                    if failures > maxFailures {
                        haltedBy = "wave \(wave.environment) halted after \(failures) failure\(failures == 1 ? "" : "s") (max_failures: \(maxFailures))"
                    }
                }
            }
        }
        return outcomes
    }
}
