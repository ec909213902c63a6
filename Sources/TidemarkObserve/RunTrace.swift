import Foundation
import TidemarkCore

/// A finished run as spans: one `tidemark.run`, a `tidemark.wave` child per environment that
/// ran, a `tidemark.target` child per target, a `tidemark.step` child per step. Attributes
/// name the target, environment, version, action and outcome; a failed step carries its error
/// (redacted). Pure; thread-safe (no state).
package enum RunTrace {
    package static func spans(_ report: RunReport, traceID: String) -> [Span] {
        let runSpanID = Span.newSpanID()
        var spans: [Span] = []
        var environments: [String] = []
        var byEnvironment: [String: [TargetOutcome]] = [:]
        for outcome in report.targets {
            if byEnvironment[outcome.environment] == nil { environments.append(outcome.environment) }
            byEnvironment[outcome.environment, default: []].append(outcome)
        }
        var waveStart = report.startedAt
        for (index, environment) in environments.enumerated() {
            let members = byEnvironment[environment] ?? []
            let started = members.compactMap(\.startedAt)
            let start = started.min() ?? waveStart
            let end = members.compactMap(\.finishedAt).max() ?? start
            let waveSpanID = Span.newSpanID()
            let failed = members.filter { $0.outcome == .failed || $0.outcome == .locked || $0.outcome == .interrupted }
                .count
            var counts: [(key: String, value: Span.Value)] = []
            for outcome in Outcome.allCases {
                let count = members.filter { $0.outcome == outcome }.count
                if count > 0 { counts.append(("tidemark.targets.\(outcome.rawValue)", .int(Int64(count)))) }
            }
            spans.append(
                Span(
                    traceID: traceID, spanID: waveSpanID, parentSpanID: runSpanID, name: "tidemark.wave", start: start,
                    end: end,
                    attributes: [
                        ("tidemark.environment", .string(environment)), ("tidemark.wave.index", .int(Int64(index + 1))),
                        ("tidemark.targets", .int(Int64(members.count))),
                    ] + counts,
                    status: failed > 0 ? .error("\(failed) target\(failed == 1 ? "" : "s") failed") : .unset))
            for outcome in members {
                spans += targetSpans(outcome, traceID: traceID, parent: waveSpanID, notStartedAt: start)
            }
            waveStart = end
        }
        let result = RunMetrics.result(of: report.status)
        var attributes: [(key: String, value: Span.Value)] = [
            ("tidemark.run_id", .string(report.runID)), ("tidemark.inventory", .string(report.inventory)),
            ("tidemark.plan", .string(report.plan)), ("tidemark.strategy", .string(report.strategy.rawValue)),
            ("tidemark.result", .string(result)), ("tidemark.targets", .int(Int64(report.targets.count))),
            ("tidemark.applied_by", .string(report.appliedBy)),
        ]
        if let desired = report.desiredVersion { attributes.append(("tidemark.version.desired", .string(desired))) }
        let status: Span.Status =
            report.status == .succeeded ? .ok : report.status == .blocked ? .unset : .error("run \(result)")
        spans.insert(
            Span(
                traceID: traceID, spanID: runSpanID, parentSpanID: nil, name: "tidemark.run", start: report.startedAt,
                end: report.finishedAt,
                attributes: attributes, status: status), at: 0)
        return spans
    }

    /// The target's span and its steps' spans. A target that did not start (unchanged,
    /// blocked, skipped) is a zero-length span at its wave's start.
    static func targetSpans(_ outcome: TargetOutcome, traceID: String, parent: String, notStartedAt: Date) -> [Span] {
        let start = outcome.startedAt ?? notStartedAt
        let end = outcome.finishedAt ?? start
        let spanID = Span.newSpanID()
        var attributes: [(key: String, value: Span.Value)] = [
            ("tidemark.target", .string(outcome.target)), ("tidemark.environment", .string(outcome.environment)),
            ("tidemark.action", .string(outcome.action.rawValue)),
            ("tidemark.outcome", .string(outcome.outcome.rawValue)),
        ]
        if let from = outcome.fromVersion { attributes.append(("tidemark.version.from", .string(from))) }
        if let to = outcome.toVersion { attributes.append(("tidemark.version.to", .string(to))) }
        if outcome.outcome == .blocked || outcome.outcome == .skipped || outcome.outcome == .deferred {
            attributes.append(("tidemark.reason", .string(Redaction.redactConnectionString(outcome.reason))))
        }
        if let backup = outcome.backup { attributes.append(("tidemark.backup", .string(backup.path))) }
        let status: Span.Status
        switch outcome.outcome {
        case .failed, .locked, .interrupted:
            status = .error(Redaction.redactConnectionString(outcome.error ?? outcome.outcome.rawValue))
        case .succeeded, .unchanged: status = .ok
        case .blocked, .skipped, .deferred: status = .unset
        }
        var spans = [
            Span(
                traceID: traceID, spanID: spanID, parentSpanID: parent, name: "tidemark.target", start: start, end: end,
                attributes: attributes, status: status)
        ]
        // Reports written before steps recorded their start: laid end to end from the target's start.
        var next = start
        for step in outcome.steps {
            let stepStart = step.startedAt ?? next
            let stepEnd = stepStart.addingTimeInterval(Double(step.executionMS) / 1000)
            next = stepEnd
            var stepAttributes: [(key: String, value: Span.Value)] = [
                ("tidemark.target", .string(outcome.target)), ("tidemark.environment", .string(outcome.environment)),
                ("tidemark.version", .string(step.version)), ("tidemark.step.kind", .string(step.kind.rawValue)),
                ("tidemark.action", .string(outcome.action.rawValue)),
                ("tidemark.outcome", .string(step.success ? "succeeded" : "failed")),
            ]
            if !step.script.isEmpty { stepAttributes.append(("tidemark.step.script", .string(step.script))) }
            let stepStatus: Span.Status =
                step.success ? .ok : .error(Redaction.redactConnectionString(step.error ?? "failed"))
            if let error = step.error {
                stepAttributes.append(("error.message", .string(Redaction.redactConnectionString(error))))
            }
            spans.append(
                Span(
                    traceID: traceID, spanID: Span.newSpanID(), parentSpanID: spanID, name: "tidemark.step",
                    start: stepStart, end: stepEnd,
                    attributes: stepAttributes, status: stepStatus))
        }
        return spans
    }
}
