import Foundation

/// How a target's part of a run ended.
package enum Outcome: String, Sendable, Codable, CaseIterable {
    /// Every planned step ran.
    case succeeded
    /// Nothing to do: the target was already at its desired state.
    case unchanged
    /// A step, the connection, or a check failed; the error says which.
    case failed
    /// The planner refused to act; the reason says what a human must decide.
    case blocked
    /// Not run: an earlier wave failed, or the run was interrupted before it started.
    case skipped
    /// Another run holds the target's lock.
    case locked
    /// The run was interrupted while this target ran: steps that committed stay, the rest did not run.
    case interrupted
    /// Not run: outside its environment's change window, in a freeze, or after a deferred wave
    /// (docs/windows.md); nothing was written.
    case deferred
}

/// What one step did. Thread-safe value.
package struct StepResult: Sendable, Hashable, Codable {
    package var version: String
    package var kind: StepKind
    package var script: String
    package var success: Bool
    package var executionMS: Int64
    package var error: String?
    /// When the step began (nil in reports written before it was recorded): traces place it.
    package var startedAt: Date?
    /// How many times the step ran when it had to wait out lock timeouts (`lock_retries`); nil: once.
    package var attempts: Int?
    /// The error of each attempt that timed out waiting for a lock, in order.
    package var lockTimeouts: [String]?
    /// `apply --verify`: true when the version's verify script passed after the step, false when it
    /// failed (the step committed; `error` holds the verify's error); nil: not verified.
    package var verified: Bool?
    /// A batched step (docs/backfills.md): the batches this run committed and the rows they
    /// changed; nil for other steps.
    package var batches: Int?
    package var rows: Int64?
    /// A batched step's checkpoint when this run left it: the last key done (nil: none yet, or
    /// not batched). For a step that did not finish, where the next apply resumes.
    package var lastKey: Int64?

    package init(
        version: String, kind: StepKind, script: String, success: Bool, executionMS: Int64, error: String? = nil,
        startedAt: Date? = nil,
        attempts: Int? = nil, lockTimeouts: [String]? = nil
    ) {
        self.version = version
        self.kind = kind
        self.script = script
        self.success = success
        self.executionMS = executionMS
        self.error = error
        self.startedAt = startedAt
        self.attempts = attempts
        self.lockTimeouts = lockTimeouts
    }
}

/// What happened to one target in a run. Thread-safe value.
package struct TargetOutcome: Sendable, Hashable, Codable {
    package var target: String
    package var environment: String
    package var action: Action
    package var outcome: Outcome
    /// The planner's reason, or why the target was skipped.
    package var reason: String
    package var fromVersion: String?
    package var toVersion: String?
    /// A roll back's low point: the version in effect after its undo steps (nil: none).
    package var lowestVersion: String?
    package var steps: [StepResult]
    package var error: String?
    package var startedAt: Date?
    package var finishedAt: Date?
    /// The backup taken before the target's first data-losing step, if one was.
    package var backup: BackupRecord?
    /// The planned steps only a restore can undo (data-losing), as `4 forward (DROP COLUMN at line 1)`.
    package var restoreOnlySteps: [String] = []
    /// Why the executor blocked the target (the drift gate); nil when the planner did, or nothing did.
    package var blockedBy: BlockReason?
    /// `drift: warn`: the live schema differed from the recorded one, and the target was migrated anyway.
    package var driftWarning: String?

    package init(
        target: String, environment: String, action: Action, outcome: Outcome, reason: String, fromVersion: String?,
        toVersion: String?, steps: [StepResult] = [], error: String? = nil, startedAt: Date? = nil,
        finishedAt: Date? = nil
    ) {
        self.target = target
        self.environment = environment
        self.action = action
        self.outcome = outcome
        self.reason = reason
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.steps = steps
        self.error = error
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    package init(plan: TargetPlan, outcome: Outcome, reason: String? = nil, error: String? = nil) {
        self.init(
            target: plan.target, environment: plan.environment, action: plan.action, outcome: outcome,
            reason: reason ?? plan.reason,
            fromVersion: plan.fromVersion, toVersion: outcome == .succeeded ? plan.toVersion : plan.fromVersion,
            error: error)
        lowestVersion = plan.lowestVersion
    }
}
