import Foundation

/// The record of one run, written to `.tidemark/runs/<run-id>.json` (or `--report FILE`).
/// Thread-safe value.
package struct RunReport: Sendable, Codable {
    package var schema = "tidemark.report/v1"
    package var runID: String
    package var inventory: String
    package var plan: String
    package var desiredVersion: String?
    package var strategy: Strategy
    package var appliedBy: String
    package var dryRun: Bool
    package var startedAt: Date
    package var finishedAt: Date
    package var interrupted: Bool
    /// The OpenTelemetry trace of the run, as 32 hex digits (nil: no traces were exported).
    package var traceID: String?
    /// The runner that wrote this report, in a run shared through a control database
    /// (`NAME/<pid>-<random>`; nil: a run in one process).
    package var runner: String?
    /// `apply --override-window REASON`: the run wrote outside a change window or in a freeze
    /// (docs/windows.md); nil: it did not.
    package var windowOverride: WindowOverride?
    /// Decisions on waves that wait for approval (`approval: required`), in the order they were
    /// made (docs/on-call.md#approvals); nil: none.
    package var approvals: [ApprovalDecision]?
    /// `--lock-ok VERSION --reason TEXT`: the lock risks acknowledged for this run only (nil: none).
    package var lockAcknowledgements: [LockAcknowledgement]?
    package var targets: [TargetOutcome]

    package init(
        runID: String, inventory: String, plan: String, desiredVersion: String?, strategy: Strategy, appliedBy: String,
        dryRun: Bool,
        startedAt: Date, finishedAt: Date, interrupted: Bool = false, targets: [TargetOutcome]
    ) {
        self.runID = runID
        self.inventory = inventory
        self.plan = plan
        self.desiredVersion = desiredVersion
        self.strategy = strategy
        self.appliedBy = appliedBy
        self.dryRun = dryRun
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.interrupted = interrupted
        self.targets = targets
    }

    /// How many targets ended with each outcome.
    package var counts: [Outcome: Int] {
        var counts: [Outcome: Int] = [:]
        for target in targets { counts[target.outcome, default: 0] += 1 }
        return counts
    }

    /// `12 targets: 7 succeeded, 3 unchanged, 2 blocked in 1.4 s`, and that the run was stopped
    /// when it was (a signal, `tidemark stop`).
    package var summaryLine: String {
        let counts = self.counts
        let parts = Outcome.allCases.compactMap { outcome in counts[outcome].map { "\($0) \(outcome.rawValue)" } }
        let seconds = finishedAt.timeIntervalSince(startedAt)
        let wall = DurationText.seconds(seconds)
        let stopped = interrupted ? "; stopped: running steps finished or rolled back, nothing new started" : ""
        return
            "run \(runID): \(targets.count) target\(targets.count == 1 ? "" : "s"): \(parts.joined(separator: ", ")) in \(wall)\(stopped)"
    }
}

/// How a run ended (docs/reference.md#exit-codes). Thread-safe value.
package enum RunStatus: Sendable, Hashable, CaseIterable {
    /// Every target reached its desired state, or there was nothing to do (exit 0).
    case succeeded
    /// At least one target failed (exit 1).
    case failed
    /// Nothing failed, but some targets are blocked (exit 3).
    case blocked
    /// Another run held a target's lock (exit 4).
    case locked
    /// Nothing failed, but some targets were deferred (exit 5; change windows and approvals).
    case deferred
    /// Stopped by a signal or `tidemark stop` (exit 130).
    case interrupted

    /// When several apply, the first of these wins: interrupted, failed, locked, blocked,
    /// deferred, succeeded. The one precedence every command's exit code follows.
    package static let precedence: [RunStatus] = [.interrupted, .failed, .locked, .blocked, .deferred, .succeeded]

    /// The status that wins among `statuses` (none: succeeded).
    package static func first(of statuses: some Sequence<RunStatus>) -> RunStatus {
        let present = Set(statuses)
        return precedence.first(where: present.contains) ?? .succeeded
    }

    /// What one target's outcome says of its run. A target skipped because a wave was halted
    /// did not reach its desired state: that is a failure of the run, whoever's target failed.
    package init(_ outcome: Outcome) {
        switch outcome {
        case .succeeded, .unchanged: self = .succeeded
        case .failed, .interrupted, .skipped: self = .failed
        case .locked: self = .locked
        case .blocked: self = .blocked
        case .deferred: self = .deferred
        }
    }
}

extension RunReport {
    /// Interrupted, else the first of its targets' statuses (`RunStatus.precedence`).
    package var status: RunStatus {
        if interrupted { return .interrupted }
        return RunStatus.first(of: targets.map { RunStatus($0.outcome) })
    }
}
