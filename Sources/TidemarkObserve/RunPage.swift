import Foundation
import TidemarkCore

/// A run report as one self-contained HTML page (`.tidemark/runs/<run-id>.html`): the targets
/// that need a person first with their reasons, every target's outcome as a grid per wave, a
/// timeline of the run, the data-losing steps and the backups taken. Readable at a glance for
/// 1,000 targets. Pure; thread-safe (no state).
package enum RunPage {
    /// Waves with at most this many targets show each target's name in its cell.
    static let namedCellLimit = 60

    package static func render(_ report: RunReport) -> String {
        var page = ""
        emit(report) { page += $0 }
        return page
    }

    /// The page in pieces, in order, each handed to `piece` (joined by `render`, written as they
    /// come by `RunPageFile`): a runner's page of 25,000 targets built as one string was four
    /// copies of 17 MB at once.
    package static func emit<Failure: Error>(_ report: RunReport, _ piece: (String) throws(Failure) -> Void)
        throws(Failure)
    {
        let seconds = report.finishedAt.timeIntervalSince(report.startedAt)
        let status = RunMetrics.result(of: report.status)
        let marker = "\u{0}body\u{0}"
        let document = HTMLPage.document(
            title: "tidemark run \(report.runID) (\(status))", style: "", body: marker, script: HTMLPage.script)
        let split = document.range(of: marker) ?? document.endIndex..<document.endIndex
        try piece(String(document[..<split.lowerBound]))

        var head =
            "<h1>Run \(e(report.runID)) <span class=\"badge\" style=\"background:\(statusColour(report.status))\">\(e(status))</span></h1>\n"
        var meta = [
            "inventory <b>\(e(report.inventory))</b>", "plan <b>\(e(report.plan))</b>",
            "to version <b>\(e(report.desiredVersion ?? "none"))</b>", "strategy <b>\(e(report.strategy.rawValue))</b>",
            "by <b>\(e(report.appliedBy))</b>",
            "started <b>\(e(ISO8601Timestamp.string(from: report.startedAt)))</b>",
            "took <b>\(e(HTMLPage.duration(seconds)))</b>",
        ]
        if report.interrupted { meta.append("<b>interrupted</b>") }
        if let traceID = report.traceID { meta.append("trace <b><code>\(e(traceID))</code></b>") }
        if let runner = report.runner { meta.append("runner <b>\(e(runner))</b>") }
        // docs/windows.md: who wrote outside the change windows, and why.
        if let override = report.windowOverride {
            meta.append(
                "<b>window override</b> in \(e(override.environments.joined(separator: ", "))) by <b>\(e(override.by))</b>: \(e(override.reason))"
            )
        }
        for acknowledgement in report.lockAcknowledgements ?? [] {
            meta.append(
                "lock-ok for version \(e(acknowledgement.version)) by <b>\(e(acknowledgement.by))</b>: \(e(acknowledgement.reason))"
            )
        }
        head += "<p class=\"meta\">\(meta.joined(separator: " · "))</p>\n"
        head += approvals(report.approvals ?? [])

        let counts = report.counts
        head += "<div class=\"chips\">"
        for outcome in Outcome.allCases {
            guard let count = counts[outcome] else { continue }
            head +=
                "<span class=\"chip\" data-outcome=\"\(outcome.rawValue)\" style=\"background:\(HTMLPage.colour(outcome))\" title=\"click to dim or show\">\(count) \(outcome.rawValue)</span>"
        }
        head += "</div>\n"
        try piece(head)
        try piece(attention(report.targets))
        try waves(report.targets, piece)
        try piece("<h2>Timeline</h2>\n" + RunTimeline.svg(report))
        try piece(backfills(report.targets))
        try piece(dataLosing(report.targets))
        try piece(backups(report.targets))
        try piece("<div id=\"detail\"></div>\n")
        try piece(String(document[split.upperBound...]))
    }

    private static func e(_ text: String) -> String { HTMLPage.escape(text) }

    private static func statusColour(_ status: RunStatus) -> String {
        switch status {
        case .succeeded: return "var(--ok)"
        case .failed: return "var(--fail)"
        case .blocked: return "var(--block)"
        case .locked: return "var(--lock)"
        case .deferred: return "var(--block)"
        case .interrupted: return "var(--int)"
        }
    }

    /// Failed, locked, interrupted and blocked targets, one row each, with the error or reason.
    private static func attention(_ outcomes: [TargetOutcome]) -> String {
        let order: [Outcome] = [.failed, .interrupted, .locked, .blocked]
        let needing = outcomes.filter { order.contains($0.outcome) }
            .sorted { (order.firstIndex(of: $0.outcome) ?? 0) < (order.firstIndex(of: $1.outcome) ?? 0) }
        var html = "<h2>Needs attention (\(needing.count))</h2>\n"
        guard !needing.isEmpty else { return html + "<p class=\"empty\">Nothing failed or is blocked.</p>\n" }
        html +=
            "<table><tr><th>target</th><th>environment</th><th>outcome</th><th>action</th><th>versions</th><th>why</th></tr>\n"
        for outcome in needing {
            let why = outcome.error ?? outcome.reason
            let failedStep =
                outcome.steps.last(where: { !$0.success }).map {
                    "<br><code>\(e($0.kind.rawValue)) \(e($0.version)) \(e($0.script))</code>"
                } ?? ""
            html +=
                "<tr id=\"attention-\(e(outcome.target))\"><td><b>\(e(outcome.target))</b></td><td>\(e(outcome.environment))</td>"
            html +=
                "<td><span class=\"badge\" style=\"background:\(HTMLPage.colour(outcome.outcome))\">\(outcome.outcome.rawValue)</span></td>"
            html +=
                "<td>\(outcome.action.rawValue)</td><td>\(e(versions(outcome)))</td><td class=\"why\">\(e(why))\(failedStep)</td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// One grid per wave (environment, in run order): a cell per target coloured by outcome.
    /// One grid per wave, handed over a few hundred cells at a time.
    private static func waves<Failure: Error>(_ outcomes: [TargetOutcome], _ piece: (String) throws(Failure) -> Void)
        throws(Failure)
    {
        var environments: [String] = []
        var byEnvironment: [String: [TargetOutcome]] = [:]
        for outcome in outcomes {
            if byEnvironment[outcome.environment] == nil { environments.append(outcome.environment) }
            byEnvironment[outcome.environment, default: []].append(outcome)
        }
        var html =
            "<h2>Targets by wave</h2>\n<p class=\"legend\">One cell per target, in run order; click a cell for its steps.</p>\n"
        for (index, environment) in environments.enumerated() {
            let members = byEnvironment[environment] ?? []
            var counts: [Outcome: Int] = [:]
            for outcome in members { counts[outcome.outcome, default: 0] += 1 }
            let summary = Outcome.allCases.compactMap { outcome in counts[outcome].map { "\($0) \(outcome.rawValue)" } }
                .joined(separator: ", ")
            html +=
                "<h3>wave \(index + 1): \(e(environment)) · \(members.count) target\(members.count == 1 ? "" : "s"): \(e(summary))</h3>\n"
            let named = members.count <= namedCellLimit
            html += "<div class=\"grid\(named ? " named" : "")\">"
            for outcome in members {
                html +=
                    "<span class=\"cell\" data-target=\"\(e(outcome.target))\" data-outcome=\"\(outcome.outcome.rawValue)\" "
                html +=
                    "style=\"background:\(HTMLPage.colour(outcome.outcome))\" title=\"\(e(title(outcome)))\" data-detail=\"\(e(detail(outcome)))\">"
                html += named ? e(outcome.target) : ""
                html += "</span>"
                if html.utf8.count > 1 << 16 {
                    try piece(html)
                    html = ""
                }
            }
            html += "</div>\n"
        }
        try piece(html)
    }

    /// docs/backfills.md#watching-a-backfill: each batched step of the run with the batches it
    /// committed, the rows they changed, its rate, and how it ended: finished, or stopped at a
    /// checkpoint the next apply resumes after (interrupted, or a batch failed). Folded away when
    /// there are many.
    private static func backfills(_ outcomes: [TargetOutcome]) -> String {
        let batched = outcomes.flatMap { outcome in
            outcome.steps.filter { $0.batches != nil }.map { (outcome, $0) }
        }
        guard !batched.isEmpty else { return "" }
        var html = "<h2 id=\"backfills\">Backfills (\(batched.count) step\(batched.count == 1 ? "" : "s"))</h2>\n"
        html += batched.count > 20 ? "<details><summary>\(batched.count) batched steps</summary>\n" : ""
        html +=
            "<table class=\"backfills\"><tr><th>target</th><th>environment</th><th>step</th><th>batches</th><th>rows changed</th><th>rows/s</th><th>ended</th></tr>\n"
        for (outcome, step) in batched {
            html +=
                "<tr data-target=\"\(e(outcome.target))\"><td>\(e(outcome.target))</td><td>\(e(outcome.environment))</td><td>\(step.kind.rawValue) \(e(step.version))</td>"
            html +=
                "<td class=\"num\">\((step.batches ?? 0).formatted())</td><td class=\"num\">\((step.rows ?? 0).formatted())</td><td class=\"num\">\(rate(step))</td><td>\(e(ending(step, of: outcome)))</td></tr>\n"
        }
        return html + "</table>\n" + (batched.count > 20 ? "</details>\n" : "")
    }

    /// Rows changed per second of the step's time in this run; a dash when it took no time.
    static func rate(_ step: StepResult) -> String {
        guard let rows = step.rows, step.executionMS > 0 else { return "-" }
        return Int((Double(rows) * 1000 / Double(step.executionMS)).rounded()).formatted()
    }

    /// `finished`, or where it stopped and why.
    static func ending(_ step: StepResult, of outcome: TargetOutcome) -> String {
        if step.success { return "finished" }
        let resumes =
            step.lastKey.map { "the next apply resumes after key \($0)" } ?? "the next apply starts at the first key"
        if outcome.outcome == .interrupted {
            return "stopped at a checkpoint (interrupted); \(resumes)"
        }
        return "failed; the batches before it committed and \(resumes)"
    }

    /// Steps only a restore undoes, targets with the same steps and backup state grouped
    /// (`shard-{001..064} (64 targets)`), and whether a backup was taken first.
    private static func dataLosing(_ outcomes: [TargetOutcome]) -> String {
        let losing = outcomes.filter { !$0.restoreOnlySteps.isEmpty }
        var html = "<h2>Data-losing steps (\(losing.count) target\(losing.count == 1 ? "" : "s"))</h2>\n"
        guard !losing.isEmpty else { return html + "<p class=\"empty\">No step of this run loses data.</p>\n" }
        struct Shape: Hashable {
            var environment: String
            var outcome: Outcome
            var steps: [String]
            var backedUp: Bool
        }
        var order: [Shape] = []
        var groups: [Shape: [TargetOutcome]] = [:]
        for outcome in losing {
            let shape = Shape(
                environment: outcome.environment, outcome: outcome.outcome, steps: outcome.restoreOnlySteps,
                backedUp: outcome.backup != nil)
            if groups[shape] == nil { order.append(shape) }
            groups[shape, default: []].append(outcome)
        }
        html +=
            "<table><tr><th>targets</th><th>environment</th><th>outcome</th><th>steps only a restore undoes</th><th>backup</th></tr>\n"
        for shape in order {
            let members = groups[shape] ?? []
            html +=
                "<tr><td>\(e(TargetNames.counted(members.map(\.target))))</td><td>\(e(shape.environment))</td><td>\(shape.outcome.rawValue)</td>"
            html += "<td>\(shape.steps.map(e).joined(separator: "<br>"))</td><td>\(backupLayout(members))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// The one backup file, or the layout every target's follows (`…/backups/<target>/RUN.dump`).
    private static func backupLayout(_ members: [TargetOutcome]) -> String {
        let paths = members.compactMap(\.backup?.path)
        guard let first = paths.first else { return "none" }
        guard paths.count > 1 else { return "<code>\(e(first))</code>" }
        let file = URL(fileURLWithPath: first)
        let layout = file.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("<target>")
            .appendingPathComponent(file.lastPathComponent)
        return "<code>\(e(layout.path))</code>"
    }

    /// Every backup file, folded away when there are many.
    private static func backups(_ outcomes: [TargetOutcome]) -> String {
        let taken = outcomes.compactMap { outcome in outcome.backup.map { (outcome.target, $0) } }
        var html = "<h2>Backups taken (\(taken.count))</h2>\n"
        guard !taken.isEmpty else { return html + "<p class=\"empty\">No backup was taken in this run.</p>\n" }
        html += taken.count > 10 ? "<details><summary>\(taken.count) files</summary>\n" : ""
        html += "<table><tr><th>target</th><th>file</th></tr>\n"
        for (target, backup) in taken {
            html += "<tr><td>\(e(target))</td><td><code>\(e(backup.path))</code></td></tr>\n"
        }
        return html + "</table>\n" + (taken.count > 10 ? "</details>\n" : "")
    }

    static func versions(_ outcome: TargetOutcome) -> String {
        "\(outcome.fromVersion ?? "-") → \(outcome.toVersion ?? "-")"
    }

    /// `shard-07: succeeded, forward 3 → 5 in 0.84 s`.
    static func title(_ outcome: TargetOutcome) -> String {
        var title = "\(outcome.target): \(outcome.outcome.rawValue), \(outcome.action.rawValue) \(versions(outcome))"
        if let started = outcome.startedAt, let finished = outcome.finishedAt {
            title += " in \(HTMLPage.duration(finished.timeIntervalSince(started)))"
        }
        return title
    }

    /// The title, the reason or error, and each step with its time.
    static func detail(_ outcome: TargetOutcome) -> String {
        var lines = [title(outcome) + " (\(outcome.environment))", outcome.error ?? outcome.reason]
        for step in outcome.steps {
            var line =
                "\(step.success ? "✓" : "✗") \(step.kind.rawValue) \(step.version) \(step.script) \(step.executionMS) ms"
            if let batches = step.batches {
                line +=
                    " · \(batches.formatted()) batches, \((step.rows ?? 0).formatted()) rows, \(rate(step)) rows/s, \(ending(step, of: outcome))"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// docs/on-call.md#approvals: each decision on a wave that waited for a person: who, when,
    /// how, the note.
    static func approvals(_ decisions: [ApprovalDecision]) -> String {
        guard !decisions.isEmpty else { return "" }
        var html =
            "<h2>Approvals</h2>\n<table class=\"approvals\"><tr><th>wave</th><th>decision</th><th>by</th><th>at</th><th>how</th><th>note</th></tr>\n"
        for decision in decisions {
            let how: String
            switch decision.channel {
            case .command: how = "tidemark \(decision.verdict == .approved ? "approve" : "reject")"
            case .terminal: how = "answered on a terminal"
            case .flag: how = "--approve \(decision.environment)"
            }
            let colour = decision.verdict == .approved ? HTMLPage.colour(.succeeded) : HTMLPage.colour(.failed)
            html +=
                "<tr><td>\(e(decision.environment))</td><td><b style=\"color:\(colour)\">\(e(decision.verdict.rawValue))</b></td><td>\(e(decision.who))</td><td>\(e(decision.decidedAt.map { ISO8601Timestamp.string(from: $0) } ?? "-"))</td><td>\(e(how))</td><td>\(e(decision.note ?? ""))</td></tr>\n"
        }
        return html + "</table>\n"
    }
}
