import Foundation
import TidemarkControl
import TidemarkCore

/// The words for many-runner rollouts: a runner's closing lines and the `tidemark runs` table.
enum ControlText {
    /// What this runner was part of, and how its part ended.
    static func runnerSummary(_ result: ControlledApplyResult) -> String {
        var lines = ["run \(result.runID): \(result.created ? "created" : "joined") as runner \(result.runner)"]
        if result.servedNothing {
            lines.append("this runner serves no target of run \(result.runID) (check --serve); nothing to do.")
        }
        if let halted = result.halted {
            lines.append("later waves halted for every runner: \(PrintableText.escaped(halted))")
        }
        // Its exit code speaks for every target it serves, not only those it ran.
        let missed = Outcome.allCases.filter { RunStatus($0) != .succeeded }.compactMap { outcome in
            result.served[outcome].map { "\($0) \(outcome.rawValue)" }
        }
        if !missed.isEmpty {
            let total = result.served.values.reduce(0, +)
            lines.append(
                "of the \(total) target\(total == 1 ? "" : "s") of the run this runner serves, not at the desired state: \(missed.joined(separator: ", "))"
            )
        }
        if result.stoppedByControl {
            lines.append("stopped by `tidemark stop \(result.runID)`: running steps finished, nothing new started.")
        }
        return lines.joined(separator: "\n")
    }

    /// `pruned 2 runs that finished more than 90d ago (2000 targets, 2004 events); 5 runs kept.`
    static func pruned(_ summary: PruneSummary, age: String) -> String {
        func count(_ value: Int, _ noun: String) -> String {
            "\(value) \(noun)\(value == 1 ? "" : "s")"
        }
        let what = "\(count(summary.targets, "target")), \(count(summary.events, "event"))"
        return
            "pruned \(count(summary.runs, "run")) that finished more than \(age) ago (\(what)); \(count(summary.kept, "run")) kept."
    }

    /// One line per run: id, state, counts, runners seen (and alive, while it runs), last heartbeat.
    static func runsTable(_ runs: [RunSummary], now: Date = Date()) -> String {
        guard !runs.isEmpty else { return "no runs in the control database." }
        var lines = [
            "RUN                        STATE     INVENTORY  TO     TARGETS                                  RUNNERS     LAST HEARTBEAT"
        ]
        for run in runs {
            let state =
                run.stopRequested && run.state == "running"
                ? "stopping" : run.halted != nil ? "\(run.state)/halted" : run.state
            let order = [
                "succeeded", "unchanged", "failed", "blocked", "skipped", "locked", "interrupted", "claimed", "pending",
            ]
            let counts = order.compactMap { key in run.counts[key].map { "\($0) \(key)" } }.joined(separator: ", ")
            let runners =
                run.state == "running" ? "\(run.runners.count) (\(run.liveRunners) live)" : String(run.runners.count)
            let beat = run.lastHeartbeat.map { "\(Int(now.timeIntervalSince($0).rounded()))s ago" } ?? "-"
            lines.append(
                [
                    run.runID.padding(toLength: 26, withPad: " ", startingAt: 0),
                    state.padding(toLength: 9, withPad: " ", startingAt: 0),
                    PrintableText.escaped(run.inventory).padding(toLength: 10, withPad: " ", startingAt: 0),
                    PrintableText.escaped(run.desiredVersion ?? "-").padding(toLength: 6, withPad: " ", startingAt: 0),
                    counts.padding(toLength: max(40, counts.count), withPad: " ", startingAt: 0),
                    runners.padding(toLength: 11, withPad: " ", startingAt: 0), beat,
                ].joined(separator: " "))
            if let halted = run.halted { lines.append("    halted: \(PrintableText.escaped(halted))") }
            if run.state == "running" && run.liveRunners == 0 {
                lines.append(
                    "    no live runner: the run waits for one; start a runner, or end it with tidemark stop \(run.runID)"
                )
            }
        }
        return lines.joined(separator: "\n")
    }
}
