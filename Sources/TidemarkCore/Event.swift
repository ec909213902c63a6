import Foundation

/// The kinds of notification a run produces (docs/observing.md#notifications), named as sinks'
/// `on:` lists name them.
package enum EventKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A run is about to write; `counts` holds the planned actions.
    case runStarted = "run.started"
    /// A target reached its desired state.
    case targetSucceeded = "target.succeeded"
    /// A step, the connection or a check failed on a target; `error` says which.
    case targetFailed = "target.failed"
    /// The planner refused to act on a target; `reason` says what a human must decide.
    case targetBlocked = "target.blocked"
    /// A wave's failures exceeded its `max_failures`, so later waves were not run.
    case waveHalted = "wave.halted"
    /// A wave whose environment has `approval: required` waits for `tidemark approve`;
    /// `reason` holds the command to run.
    case waveAwaitingApproval = "wave.awaiting_approval"
    /// A run ended; `counts` and `environmentCounts` hold the outcomes.
    case runFinished = "run.finished"
    /// Sent only by `tidemark notify test`, to every sink whatever its `on:` list says.
    case test = "notify.test"
    /// A target was already at its desired state. Not a run event: only incident sinks
    /// (`pagerduty`, `opsgenie`) see it, to resolve an incident an earlier run opened for the
    /// target (docs/on-call.md#incidents-open-and-resolve).
    case targetConverged = "target.converged"
    /// A batched step's progress on a target, at most every 10 s (docs/backfills.md#watching-a-backfill):
    /// only to sinks whose `on:` names it, and never kept in the outbox (a late progress report is noise).
    case stepProgress = "step.progress"

    /// The six kinds a run produces (`notify.test` is not one of them).
    package static let runEvents: [EventKind] = [
        .runStarted, .targetSucceeded, .targetFailed, .targetBlocked, .waveHalted, .waveAwaitingApproval, .runFinished,
    ]

    /// `failed` for `target.failed`: the short form an `on:` list may use.
    package var lastWord: String {
        rawValue.split(separator: ".").last.map(String.init) ?? rawValue
    }

    /// Whether an `on:` entry (a full name or its last word) selects this kind.
    package func isNamed(by name: String) -> Bool {
        name == rawValue || name == lastWord
    }

    /// Run-level kinds concern the whole run, not one environment.
    package var isRunLevel: Bool {
        self == .runStarted || self == .runFinished || self == .test
    }
}

/// One thing that happened in a run, as notification sinks receive it. Thread-safe value.
///
/// Text that may quote a connection string (`error`, `reason`) is redacted when the event is
/// made, so no sink, outbox file or log ever sees a password.
package struct Event: Sendable, Hashable, Codable {
    package var kind: EventKind
    package var runID: String
    /// The inventory's name.
    package var inventory: String
    /// The target's (or halted wave's) environment; nil for run-level events.
    package var environment: String?
    package var target: String?
    /// The highest version in effect before; nil for run-level events or a new target.
    package var fromVersion: String?
    /// The version after (a target), or the desired version (run-level).
    package var toVersion: String?
    package var action: Action?
    /// Why a target failed (redacted).
    package var error: String?
    /// The planner's reason, or why a wave halted (redacted).
    package var reason: String?
    /// When the event happened.
    package var at: Date
    /// When the target's (or run's) work started and finished, where known.
    package var startedAt: Date?
    package var finishedAt: Date?
    /// Targets per outcome (`run.finished`) or per planned action (`run.started`).
    package var counts: [String: Int]?
    /// The same counts per environment.
    package var environmentCounts: [String: [String: Int]]?
    /// The run's OpenTelemetry trace id (32 hex digits), when traces are exported.
    package var traceID: String?
    /// What makes each delivery of this event the same one (`X-Tidemark-Delivery` is derived from
    /// it and the sink), so an event sent again by another runner is a duplicate a receiver drops;
    /// nil: every delivery gets a fresh id. Not part of the payload.
    package var deliveryKey: String?
    /// `step.progress`: where the batched step is.
    package var progress: BackfillProgress?

    package init(
        kind: EventKind, runID: String, inventory: String, environment: String? = nil, target: String? = nil,
        fromVersion: String? = nil, toVersion: String? = nil, action: Action? = nil, error: String? = nil,
        reason: String? = nil, at: Date = Date(), startedAt: Date? = nil, finishedAt: Date? = nil,
        counts: [String: Int]? = nil, environmentCounts: [String: [String: Int]]? = nil, traceID: String? = nil
    ) {
        self.kind = kind
        self.runID = runID
        self.inventory = inventory
        self.environment = environment
        self.target = target
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.action = action
        self.error = error.map(Self.redact)
        self.reason = reason.map(Self.redact)
        self.at = at
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.counts = counts
        self.environmentCounts = environmentCounts
        self.traceID = traceID
    }

    enum CodingKeys: String, CodingKey {
        case kind = "event"
        case runID = "run_id"
        case inventory, environment, target
        case fromVersion = "from"
        case toVersion = "to"
        case action, error,
            reason, at
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case counts
        case environmentCounts = "environments"
        case traceID = "trace_id"
        case
            progress
    }

    /// How many targets the counts cover.
    package var targetCount: Int { counts?.values.reduce(0, +) ?? 0 }

    /// Tallies `(environment, word)` pairs, e.g. each target's environment and outcome, into
    /// `counts` and `environmentCounts`. Pure; thread-safe.
    package static func tally(_ entries: [(environment: String, word: String)]) -> (
        counts: [String: Int], environments: [String: [String: Int]]
    ) {
        var counts: [String: Int] = [:]
        var environments: [String: [String: Int]] = [:]
        for entry in entries {
            counts[entry.word, default: 0] += 1
            environments[entry.environment, default: [:]][entry.word, default: 0] += 1
        }
        return (counts, environments)
    }

    /// This event as seen by a sink that follows only `environments`: run-level counts keep
    /// those environments alone. Nil when the event concerns none of them. Empty means all.
    package func restricted(to environments: [String]) -> Event? {
        guard !environments.isEmpty else { return self }
        if let environment { return environments.contains(environment) ? self : nil }
        guard kind.isRunLevel, kind != .test else { return self }
        let kept = (environmentCounts ?? [:]).filter { environments.contains($0.key) }
        guard !kept.isEmpty else { return nil }
        var copy = self
        copy.environmentCounts = kept
        var counts: [String: Int] = [:]
        for perEnvironment in kept.values {
            for (word, count) in perEnvironment { counts[word, default: 0] += count }
        }
        copy.counts = counts
        return copy
    }

    /// Redacts every password in `text`, however many connection strings it quotes and however
    /// they are spaced or quoted. Pure; thread-safe.
    package static func redact(_ text: String) -> String {
        Redaction.redactConnectionString(text)
    }
}
