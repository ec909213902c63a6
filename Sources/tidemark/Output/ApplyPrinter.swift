import Foundation
import TidemarkControl
import TidemarkCore
import TidemarkFleet
import TidemarkObserve
import TidemarkPlanner

/// Prints a run as it goes: the rollout, live progress, the summary and where the report is.
/// With `--json`, only the report at the end. Thread-safe: events arrive from worker tasks.
struct ApplyPrinter: ApplyObserver {
    let json: Bool
    let perTarget: Bool
    let progress: ProgressDisplay
    let out = Terminal.standardOutput

    /// Without `perTarget`, identical plans and outcomes are printed as groups.
    init(json: Bool, perTarget: Bool) {
        self.json = json
        self.perTarget = perTarget
        self.progress = ProgressDisplay(quiet: json, perTarget: perTarget)
    }

    func planned(_ rollout: Rollout, unreachable: [String: BackendError], policy: WavePolicy) {
        if !json {
            out.write(RolloutText.render(rollout, unreachable: unreachable, policy: policy, perTarget: perTarget))
        }
    }

    func executionStarted(writes: Int) {
        if !json && writes > 0 { out.write("") }
        progress.start()
    }

    func handle(_ event: RunEvent) { progress.handle(event) }

    func interrupted(_ message: String) { Terminal.standardError.write("\n" + message) }

    func finished(_ result: ApplyResult) {
        progress.stop()
        if let error = result.reportWriteError { Terminal.standardError.write("warning: \(error)") }
        for error in result.observationErrors { Terminal.standardError.write("warning: \(error)") }
        guard let report = result.report else { return }
        if json {
            out.write((try? renderJSON(report)) ?? "{}")
            return
        }
        if !perTarget {
            // What the progress did not print one by one: the targets that succeeded or were skipped, grouped.
            let quiet: Set<Outcome> = [.unchanged, .blocked]
            let grouped = report.targets.filter { !OutcomeGroup.standsAlone($0.outcome) && !quiet.contains($0.outcome) }
            for group in OutcomeGroup.groups(of: grouped) {
                out.write(ProgressDisplay.line(for: group.representative, name: group.countedName, terminal: out))
            }
        }
        out.write(report.summaryLine)
        let backedUp = report.targets.filter { $0.backup != nil }
        if perTarget || backedUp.count <= 3 {
            for outcome in backedUp {
                if let backup = outcome.backup {
                    out.write(
                        "backup of \(PrintableText.escaped(outcome.target)) before its data-losing steps: \(backup.path)"
                    )
                }
            }
        } else if let first = backedUp.first?.backup {
            // One folder per target under the same root (BackupPolicy): say the layout once.
            let file = URL(fileURLWithPath: first.path)
            let layout = file.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("<target>")
                .appendingPathComponent(file.lastPathComponent).path
            out.write(
                "backups of \(TargetNames.counted(backedUp.map(\.target))) before their data-losing steps: \(layout)")
        }
        if let path = result.reportPath {
            out.write("report: \(path)\(result.pagePath.map { " (page: \($0))" } ?? "")")
        }
        if let path = result.metricsPath { out.write("metrics: \(path)") }
    }
}

extension ApplyPrinter {
    /// What `apply` prints after a run beyond the observer's lines: an empty partition's note, a
    /// dry run's count, a runner's summary. True when the command ends here with exit 0.
    static func finish(
        _ outcome: ApplyOutcome, json: Bool, dryRun: Bool, emptyPartitionNote: (Int) -> String?
    ) throws -> Bool {
        switch outcome {
        case .local(let result):
            if !json, let note = emptyPartitionNote(result.rollout.targets.count) {
                Terminal.standardOutput.write(note)
                return true
            }
            if dryRun {
                if !json {
                    let count = result.writes.count
                    Terminal.standardOutput.write(
                        "\ndry run: nothing was changed (\(count) target\(count == 1 ? "" : "s") would be written).")
                }
                return true
            }
        case .shared(let result):
            if !json { Terminal.standardOutput.write(ControlText.runnerSummary(result)) }
            if result.servedNothing { return true }
            if let lost = result.lost, result.status != .interrupted {
                throw CommandFailure(.failed, lost.description)
            }
        }
        return false
    }
}
