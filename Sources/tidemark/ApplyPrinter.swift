import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet

/// Prints a run as it goes: the rollout, live progress, the summary and where the report is.
/// With `--json`, only the report at the end. Thread-safe: events arrive from worker tasks.
struct ApplyPrinter: ApplyObserver {
    let json: Bool
    let progress: ProgressDisplay
    let out = Terminal.standardOutput

    init(json: Bool) {
        self.json = json
        self.progress = ProgressDisplay(quiet: json)
    }

    func planned(_ rollout: Rollout, unreachable: [String: BackendError]) {
        if !json { out.write(RolloutText.render(rollout, unreachable: unreachable)) }
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
        guard let report = result.report else { return }
        if json {
            out.write((try? renderJSON(report)) ?? "{}")
            return
        }
        out.write(report.summaryLine)
        for outcome in report.targets {
            if let backup = outcome.backup { out.write("backup of \(outcome.target) before its data-losing steps: \(backup.path)") }
        }
        if let path = result.reportPath { out.write("report: \(path)") }
    }
}
