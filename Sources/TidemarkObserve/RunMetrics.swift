import Foundation
import TidemarkCore

/// The metrics (docs/observing.md#prometheus-metrics) for one run (`apply --metrics-file`) and for
/// the fleet as `status` reads it (`status --metrics-file`). Pure; thread-safe (no state).
package enum RunMetrics {
    /// Upper bounds of `tidemark_step_duration_seconds`, in seconds: from a quick DDL to a
    /// long backfill.
    package static let stepBuckets: [Double] = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600]

    /// Where one target stands, for the version gauges: what `status` read, or how a run left it.
    package struct TargetSample: Sendable, Hashable {
        package var environment: String
        package var target: String
        /// The highest version in effect; nil: none.
        package var version: String?
        package var dirty: Bool
        /// At the desired state (nothing pending, not dirty, readable).
        package var converged: Bool
        /// False when the target could not be read: no version gauge is written for it.
        package var reachable: Bool

        package init(
            environment: String, target: String, version: String?, dirty: Bool, converged: Bool, reachable: Bool = true
        ) {
            self.environment = environment
            self.target = target
            self.version = version
            self.dirty = dirty
            self.converged = converged
            self.reachable = reachable
        }
    }

    /// Everything a finished run says: counts per environment and outcome, duration, when it
    /// finished and how, each target's version, dirty and blocked counts, step durations.
    /// `rollout` tells which failed steps ran outside a transaction (their targets are dirty).
    package static func document(report: RunReport, rollout: Rollout?) -> MetricsDocument {
        let inventory = MetricsDocument.Label("inventory", report.inventory)
        var environments: [String] = []
        for outcome in report.targets where !environments.contains(outcome.environment) {
            environments.append(outcome.environment)
        }
        var counts: [String: [Outcome: Int]] = [:]
        for outcome in report.targets { counts[outcome.environment, default: [:]][outcome.outcome, default: 0] += 1 }

        var runTargets = MetricsDocument.Family(
            name: "tidemark_run_targets", help: "Targets of the last run by environment and outcome.", kind: .gauge)
        for environment in environments {
            for outcome in Outcome.allCases {
                runTargets.samples.append(
                    .init(
                        labels: [inventory, .init("environment", environment), .init("outcome", outcome.rawValue)],
                        value: Double(counts[environment]?[outcome] ?? 0)))
            }
        }
        let duration = MetricsDocument.Family(
            name: "tidemark_run_duration_seconds", help: "Wall time of the last run.", kind: .gauge,
            samples: [.init(labels: [inventory], value: report.finishedAt.timeIntervalSince(report.startedAt))])
        let finished = MetricsDocument.Family(
            name: lastFinishedName, help: "When the last run of each result finished (Unix time).", kind: .gauge,
            samples: [
                .init(
                    labels: [inventory, .init("result", result(of: report.status))],
                    value: report.finishedAt.timeIntervalSince1970)
            ])

        let dirty = dirtyTargets(report: report, rollout: rollout)
        let samples = report.targets.map { outcome in
            TargetSample(
                environment: outcome.environment, target: outcome.target,
                // A target the run could not read, or that did not start, is where it was.
                version: outcome.outcome == .succeeded ? outcome.toVersion : (outcome.toVersion ?? outcome.fromVersion),
                dirty: dirty.contains(outcome.target),
                converged: outcome.outcome == .succeeded || outcome.outcome == .unchanged,
                reachable: !(outcome.outcome == .failed && outcome.startedAt == nil))
        }
        let blocked = MetricsDocument.Family(
            name: "tidemark_targets_blocked", help: "Targets the last run left blocked: a human must decide.",
            kind: .gauge,
            samples: [.init(labels: [inventory], value: Double(report.targets.filter { $0.outcome == .blocked }.count))]
        )
        return MetricsDocument(
            families: [runTargets, duration, finished] + targetFamilies(inventory: report.inventory, samples)
                + [blocked, stepDurations(report)] + backfillRows(report))
    }

    /// `tidemark_backfill_rows_total`: rows the last run's batched steps changed, per target and
    /// version (docs/backfills.md#watching-a-backfill); absent when the run had none, so a file
    /// without backfills reads as before.
    private static func backfillRows(_ report: RunReport) -> [MetricsDocument.Family] {
        var family = MetricsDocument.Family(
            name: "tidemark_backfill_rows_total", help: "Rows changed by the last run's batched steps (backfills).",
            kind: .counter)
        for outcome in report.targets {
            for step in outcome.steps {
                guard let rows = step.rows else { continue }
                family.samples.append(
                    .init(
                        labels: [
                            .init("inventory", report.inventory), .init("environment", outcome.environment),
                            .init("target", outcome.target),
                            .init("version", step.version),
                        ], value: Double(rows)))
            }
        }
        return family.samples.isEmpty ? [] : [family]
    }

    /// The fleet as `status` read it: each target's version, dirty targets, targets not converged.
    package static func document(inventory: String, targets: [TargetSample]) -> MetricsDocument {
        MetricsDocument(families: targetFamilies(inventory: inventory, targets))
    }

    static let lastFinishedName = "tidemark_run_last_finished_timestamp_seconds"

    /// `succeeded`, `failed`, `blocked`, `locked`, `deferred` or `interrupted`: the run's exit status in a word.
    package static func result(of status: RunStatus) -> String {
        switch status {
        case .succeeded: return "succeeded"
        case .failed: return "failed"
        case .blocked: return "blocked"
        case .locked: return "locked"
        case .deferred: return "deferred"
        case .interrupted: return "interrupted"
        }
    }

    /// Targets left dirty: blocked because they were, or a step that ran outside a transaction failed.
    package static func dirtyTargets(report: RunReport, rollout: Rollout?) -> Set<String> {
        var plans: [String: TargetPlan] = [:]
        for plan in rollout?.targets ?? [] { plans[plan.target] = plan }
        var dirty: Set<String> = []
        for outcome in report.targets {
            let plan = plans[outcome.target]
            if outcome.outcome == .blocked, case .dirty = plan?.blocked { dirty.insert(outcome.target) }
            guard let failed = outcome.steps.last(where: { !$0.success }) else { continue }
            let planned = plan?.steps.first { $0.version.text == failed.version && $0.kind == failed.kind }
            if planned?.transactional == false { dirty.insert(outcome.target) }
        }
        return dirty
    }

    private static func targetFamilies(inventory name: String, _ samples: [TargetSample]) -> [MetricsDocument.Family] {
        let inventory = MetricsDocument.Label("inventory", name)
        var version = MetricsDocument.Family(
            name: "tidemark_target_version",
            help: "The highest schema version in effect on a target (0: none; dotted versions are left out).",
            kind: .gauge)
        var targetDirty = MetricsDocument.Family(
            name: "tidemark_target_dirty",
            help: "1 when a target is dirty: a step outside a transaction failed (tidemark repair).",
            kind: .gauge)
        for sample in samples where sample.reachable {
            let labels = [inventory, .init("environment", sample.environment), .init("target", sample.target)]
            if let value = numeric(sample.version) { version.samples.append(.init(labels: labels, value: value)) }
            targetDirty.samples.append(.init(labels: labels, value: sample.dirty ? 1 : 0))
        }
        let dirty = MetricsDocument.Family(
            name: "tidemark_targets_dirty",
            help: "Dirty targets: a step outside a transaction failed (tidemark repair).", kind: .gauge,
            samples: [.init(labels: [inventory], value: Double(samples.filter(\.dirty).count))])
        let notConverged = MetricsDocument.Family(
            name: "tidemark_targets_not_converged",
            help: "Targets not at the desired state (pending, failed, blocked, dirty or unreadable).",
            kind: .gauge, samples: [.init(labels: [inventory], value: Double(samples.filter { !$0.converged }.count))])
        return [version, targetDirty, dirty, notConverged]
    }

    /// `7` as 7; no version as 0; `1.2.10` as nil (a gauge holds one number).
    static func numeric(_ version: String?) -> Double? {
        guard let version else { return 0 }
        guard !version.isEmpty, version.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Double(version)
    }

    private static func stepDurations(_ report: RunReport) -> MetricsDocument.Family {
        var family = MetricsDocument.Family(
            name: "tidemark_step_duration_seconds", help: "How long the last run's steps took, by kind.",
            kind: .histogram)
        let steps = report.targets.flatMap(\.steps)
        for kind in StepKind.allCases {
            let seconds = steps.filter { $0.kind == kind }.map { Double($0.executionMS) / 1000 }
            guard !seconds.isEmpty else { continue }
            let labels = [MetricsDocument.Label("inventory", report.inventory), .init("kind", kind.rawValue)]
            for bound in stepBuckets {
                family.samples.append(
                    .init(
                        suffix: "_bucket", labels: labels + [.init("le", MetricsDocument.number(bound))],
                        value: Double(seconds.filter { $0 <= bound }.count)))
            }
            family.samples.append(
                .init(suffix: "_bucket", labels: labels + [.init("le", "+Inf")], value: Double(seconds.count)))
            family.samples.append(.init(suffix: "_sum", labels: labels, value: seconds.reduce(0, +)))
            family.samples.append(.init(suffix: "_count", labels: labels, value: Double(seconds.count)))
        }
        return family
    }
}
