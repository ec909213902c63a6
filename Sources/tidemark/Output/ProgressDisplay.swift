import Foundation
import Synchronization
import TidemarkCore
import TidemarkObserve

/// Shows a run's progress. On a terminal: finished targets scroll by above one live status line
/// (wave, done / running / failed / skipped, the slowest running target, elapsed), redrawn four
/// times a second. Otherwise: one plain line per event, stable for cron mail and CI logs.
/// Thread-safe: events arrive from worker tasks; state sits behind a `Mutex`.
final class ProgressDisplay: Sendable {
    private struct State {
        var wave = ""
        var waveIndex = 0
        var waveCount = 0
        var waveTargets = 0
        var done = 0
        var failed = 0
        var skipped = 0
        var running: [String: ContinuousClock.Instant] = [:]
        /// The latest progress of each running batched step, and when a plain line last said it.
        var backfills: [String: BackfillProgress] = [:]
        var backfillLines: [String: ContinuousClock.Instant] = [:]
        var statusShown = false
        /// After `stop()`: a ticker iteration already past its sleep must not draw again.
        var stopped = false
    }

    private let terminal: Terminal
    private let live: Bool
    private let quiet: Bool
    private let perTarget: Bool
    private let started = ContinuousClock.now
    private let state = Mutex(State())
    private let ticker = Mutex<Task<Void, Never>?>(nil)
    /// A question waits for a person's answer on the terminal (`ApprovalPrompt`): the status
    /// line is not redrawn over it.
    static let prompting = Atomic<Bool>(false)

    /// `quiet` prints nothing (for `--json`); `live` needs a terminal. Without `perTarget`, only
    /// targets that stand alone (failed, locked, interrupted) are printed as they finish; the
    /// rest are printed in groups at the end (`ApplyPrinter`).
    init(terminal: Terminal = .standardOutput, quiet: Bool, perTarget: Bool = true) {
        self.terminal = terminal
        self.quiet = quiet
        self.perTarget = perTarget
        self.live = !quiet && terminal.isInteractive && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    func start() {
        guard live else { return }
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                // Cancelled while asleep: the sleep returns early, and drawing now would leave a stale status line.
                if Task.isCancelled { break }
                self?.redraw()
            }
        }
        ticker.withLock { $0 = task }
    }

    func stop() {
        ticker.withLock { task in
            task?.cancel()
            task = nil
        }
        guard live else { return }
        state.withLock { state in
            if state.statusShown { terminal.writeRaw("\r\u{1B}[K") }
            state.statusShown = false
            state.stopped = true
        }
    }

    func handle(_ event: RunEvent) {
        guard !quiet else { return }
        switch event {
        case .waveStarted(let environment, let index, let count, let targets):
            state.withLock { state in
                state = State(
                    wave: environment, waveIndex: index, waveCount: count, waveTargets: targets,
                    statusShown: state.statusShown)
            }
            if !live {
                terminal.write(
                    "wave \(index + 1)/\(count): \(PrintableText.escaped(environment)) (\(targets) target\(targets == 1 ? "" : "s"))"
                )
            }
        case .targetStarted(let target, _):
            state.withLock { $0.running[target] = ContinuousClock.now }
        case .targetFinished(let outcome):
            state.withLock { state in
                state.running[outcome.target] = nil
                state.backfills[outcome.target] = nil
                switch outcome.outcome {
                case .failed, .locked, .interrupted: state.failed += 1
                case .skipped, .deferred: state.skipped += 1
                default: state.done += 1
                }
            }
            // Unchanged targets were shown in the plan; say what ran, what did not, and what is
            // blocked and why (with the plan printed far above, or not at all in a long run's log,
            // a blocked target must not vanish from the outcome lines).
            guard outcome.outcome != .unchanged else { return }
            guard perTarget || OutcomeGroup.standsAlone(outcome.outcome) || outcome.driftWarning != nil else { return }
            print(Self.line(for: outcome, terminal: terminal))
        case .waveHalted(let environment, let reason):
            print(
                terminal.styled(
                    "wave \(PrintableText.escaped(environment)) halted: \(PrintableText.escaped(reason))", .red))
        case .stepRetrying(let target, let version, let kind, let attempt, let of, let delay, _):
            print(
                terminal.styled(
                    "retrying   \(PrintableText.escaped(target)) \(kind.rawValue) \(PrintableText.escaped(version)): timed out waiting for a lock (rolled back); attempt \(attempt) of \(of) in \(delay.milliseconds) ms",
                    .yellow))
        case .backupStarted(let target, let version, let waits):
            print("backing up \(target) before its data-losing step \(version) (\(waits))")
        case .stepProgress(let progress):
            // On a terminal the status line shows it; in a log, one line per target every 10 s.
            let now = ContinuousClock.now
            let due = state.withLock { state in
                state.backfills[progress.target] = progress
                if live { return false }
                if let last = state.backfillLines[progress.target], now - last < .seconds(10) { return false }
                state.backfillLines[progress.target] = now
                return true
            }
            if due { print("backfill   \(PrintableText.escaped(progress.target)) \(Self.backfillText(progress))") }
        }
    }

    /// `5 v7 orders 37% · 1,234,567 rows · 45,000 rows/s · ETA 1m20s`.
    static func backfillText(_ progress: BackfillProgress) -> String {
        var parts = [
            "\(progress.kind.rawValue) \(PrintableText.escaped(progress.version)) \(PrintableText.escaped(progress.table))"
        ]
        if let fraction = progress.fraction { parts[0] += " \(Int((fraction * 100).rounded(.down)))%" }
        parts.append("\(progress.rows.formatted()) rows")
        parts.append("\(Int(progress.rowsPerSecond.rounded()).formatted()) rows/s")
        if let remaining = progress.remainingSeconds, remaining.isFinite {
            parts.append("ETA \(DurationText.text(.seconds(Int64(remaining.rounded(.up)))))")
        }
        return parts.joined(separator: " · ")
    }

    /// Prints a line above the live status line.
    private func print(_ line: String) {
        state.withLock { state in
            if live && state.statusShown {
                terminal.writeRaw("\r\u{1B}[K")
                state.statusShown = false
            }
            terminal.write(line)
        }
        if live { redraw() }
    }

    private func redraw() {
        guard live, !Self.prompting.load(ordering: .relaxed) else { return }
        state.withLock { state in
            guard !state.wave.isEmpty, !state.stopped else { return }
            let now = ContinuousClock.now
            var parts = [
                "wave \(state.waveIndex + 1)/\(state.waveCount) \(PrintableText.escaped(state.wave))",
                "\(state.done)/\(state.waveTargets) done",
                "\(state.running.count) running", "\(state.failed) failed", "\(state.skipped) skipped",
            ]
            if let backfill = state.backfills.values.min(by: { ($0.fraction ?? 0) < ($1.fraction ?? 0) }) {
                parts.append("backfill \(PrintableText.escaped(backfill.target)) \(Self.backfillText(backfill))")
            }
            if let slowest = state.running.min(by: { $0.value < $1.value }) {
                parts.append("slowest \(PrintableText.escaped(slowest.key)) \(Self.seconds(now - slowest.value))")
            }
            parts.append("\(Self.seconds(now - started)) elapsed")
            terminal.writeRaw("\r\u{1B}[K" + terminal.styled(parts.joined(separator: " · "), .dim))
            state.statusShown = true
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1fs", Double(duration.milliseconds) / 1000)
    }

    /// `succeeded prod-eu-1 (prod) rollforward 4 → 5: compensate 5`;
    /// `succeeded dev (dev) rollback 4 → 3, then skip 5: undo 4, skip 5`.
    /// `name` replaces the target's name (a group's `shard-{01..40} (40 targets)`).
    static func line(for outcome: TargetOutcome, name: String? = nil, terminal: Terminal) -> String {
        let versions =
            outcome.action == .rollback && outcome.outcome == .succeeded
            ? RolloutText.path(
                from: outcome.fromVersion, lowest: outcome.lowestVersion, to: outcome.toVersion,
                steps: outcome.steps.map { ($0.kind, $0.version) })
            : "\(outcome.fromVersion ?? "-") → \(outcome.toVersion ?? "-")"
        let steps = outcome.steps.map { step in
            let attempts =
                step.attempts.map {
                    " (\($0) attempts, \(step.lockTimeouts?.count ?? 0) lock timeout\(step.lockTimeouts?.count == 1 ? "" : "s"))"
                } ?? ""
            let batches =
                step.batches.map { " (\($0) batch\($0 == 1 ? "" : "es"), \((step.rows ?? 0).formatted()) rows)" } ?? ""
            return
                "\(step.kind.rawValue) \(PrintableText.escaped(step.version))\(step.success ? "" : " FAILED")\(attempts)\(batches)"
        }.joined(separator: ", ")
        let style: Terminal.Style =
            switch outcome.outcome {
            case .succeeded, .unchanged: .green
            case .failed, .locked, .interrupted: .red
            case .blocked, .skipped, .deferred: .yellow
            }
        // Every field may come from a saved report or a server: escaped, so none adds a line.
        let shown = PrintableText.escaped(name ?? outcome.target)
        var line =
            "\(terminal.styled(outcome.outcome.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0), style)) \(shown) (\(PrintableText.escaped(outcome.environment))) \(outcome.action.rawValue) \(PrintableText.escaped(versions))"
        if !steps.isEmpty { line += ": \(steps)" }
        if let error = outcome.error { line += "\n            \(PrintableText.escaped(error))" }
        if outcome.outcome == .skipped || outcome.outcome == .deferred {
            line += ": \(PrintableText.escaped(outcome.reason))"
        }
        if outcome.outcome == .blocked, !outcome.reason.isEmpty {
            line += "\n            \(PrintableText.escaped(outcome.reason))"
        }
        if let warning = outcome.driftWarning {
            line += "\n            drift (warn): \(PrintableText.escaped(warning))"
        }
        return line
    }
}
