import Foundation
import TidemarkCore
import TidemarkExecutor

/// The whole run's `tidemark.report/v1`, assembled from the control database: every target once,
/// whichever runner ran it. Thread-safe (stateless).
package enum ControlReport {
    /// The run's report; a target not done yet reads as `skipped` with a reason saying so.
    package static func assemble(_ runID: String, from store: ControlStore) throws(ControlError) -> RunReport {
        guard let run = try store.run(runID) else { throw .unknownRun(runID) }
        let rows = try store.outcomes(runID)
        var finishedAt = run.createdAt
        let targets = rows.compactMap { row -> TargetOutcome? in
            if let outcome = row.outcome {
                if let end = outcome.finishedAt, end > finishedAt { finishedAt = end }
                return outcome
            }
            guard let plan = row.plan else { return nil }
            let place =
                row.state == "claimed"
                ? "running on \(row.runner ?? "a runner whose lease ran out")" : "waiting to be claimed"
            return TargetOutcome(plan: plan, outcome: .skipped, reason: "not finished: \(place)")
        }
        var report = RunReport(
            runID: run.runID, inventory: run.inventory, plan: run.plan, desiredVersion: run.desiredVersion,
            strategy: run.strategy,
            appliedBy: run.createdBy, dryRun: false, startedAt: run.createdAt, finishedAt: finishedAt,
            interrupted: run.stopRequested, targets: targets)
        if let override = try store.windowOverride(runID), !override.environments.isEmpty {
            report.windowOverride = override
        }
        let approvals = try store.decisions(runID)
        report.approvals = approvals.isEmpty ? nil : approvals
        return report
    }
}
