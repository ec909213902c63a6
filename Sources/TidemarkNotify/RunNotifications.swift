import Foundation
import Logging
import Synchronization
import TidemarkCore

/// Turns one `apply` run into notification events (docs/observing.md#notifications) and hands them
/// to the notifier, which delivers them in the background: nothing here waits for the network until
/// `finish`.
///
/// Thread-safe: `handle(_:)` is called from the executor's event callback, on whatever
/// thread finished the target; the little it remembers sits behind a `Mutex`, and the
/// notifier is an actor whose `post` returns at once.
package final class RunNotifications: Sendable {
    private let notifier: Notifier?
    private let runID: String
    private let inventory: String
    private let desiredVersion: String?
    private let startedAt: Date
    private let traceID: String?
    /// Whether a sink resolves incidents, so unchanged targets matter (`target.converged`).
    private let tracksIncidents: Bool

    private struct State {
        /// Targets whose event was posted (or that produce none), so `finish` adds only the rest.
        var recorded: Set<String> = []
        var haltedWaves: Set<String> = []
        /// When each target last posted `step.progress`.
        var progressPosted: [String: ContinuousClock.Instant] = [:]
    }
    private let state = Mutex(State())

    private init(
        notifier: Notifier?, runID: String, inventory: String, desiredVersion: String?, startedAt: Date,
        traceID: String?, tracksIncidents: Bool = false
    ) {
        self.notifier = notifier
        self.tracksIncidents = tracksIncidents
        self.traceID = traceID
        self.runID = runID
        self.inventory = inventory
        self.desiredVersion = desiredVersion
        self.startedAt = startedAt
    }

    /// Posts only `step.progress` (rate-limited per target as in a local run) to `notifier`: a
    /// runner of a shared run posts its own targets' progress straight to its sinks, since the
    /// run's stored events are for what must not be lost, and a progress report is stale by the
    /// time another runner would deliver it (docs/backfills.md#watching-a-backfill).
    package static func progressOnly(notifier: Notifier, runID: String, inventory: String, traceID: String?)
        -> RunNotifications
    {
        RunNotifications(
            notifier: notifier, runID: runID, inventory: inventory, desiredVersion: nil, startedAt: Date(),
            traceID: traceID)
    }

    /// A notifier for the inventory's sinks, with timeouts from `TIDEMARK_NOTIFY_*` in
    /// `environment`. Shared by `apply` and `notify test`.
    package static func makeNotifier(
        for inventory: Inventory, environment: [String: String], outbox: URL, logger: Logger,
        sharedIncidents: [String: [String: OpenIncident]]? = nil
    ) throws(NotifyError) -> Notifier {
        let options = try DeliveryOptions(environment: environment)
        // An incident sink without its key would page nobody: the run does not start.
        for sink in inventory.notify {
            if case .failure(let problem) = ResolvedSink.resolve(sink, environment: environment), problem.stopsTheRun {
                throw problem
            }
        }
        // Open incidents live beside the outbox, in the state directory.
        let incidents = outbox.deletingLastPathComponent().appendingPathComponent("incidents")
        return Notifier(
            sinks: inventory.notify, inventory: inventory.name, inventoryFile: inventory.file, outbox: outbox,
            environment: environment, logger: logger, options: options,
            tiers: Dictionary(
                inventory.environments.map { ($0.name, $0.tier) }, uniquingKeysWith: { first, _ in first }),
            incidents: incidents, sharedIncidents: sharedIncidents)
    }

    /// Starts delivery to the inventory's sinks (the outbox of earlier runs goes first) and
    /// posts `run.started`. An inventory without sinks gets an instance that does nothing.
    /// A bad `TIDEMARK_NOTIFY_*` timeout throws before anything is sent. `traceID`, the run's
    /// OpenTelemetry trace, goes in every event.
    /// `note`: what `run.started` says in its `reason` (`--override-window`: who and why).
    package static func start(
        inventory: Inventory, rollout: Rollout, runID: String, startedAt: Date, environment: [String: String],
        outbox: URL,
        logger: Logger, traceID: String? = nil, note: String? = nil
    ) async throws(NotifyError) -> RunNotifications {
        let desiredVersion = rollout.desiredVersion?.text
        guard !inventory.notify.isEmpty else {
            return RunNotifications(
                notifier: nil, runID: runID, inventory: inventory.name, desiredVersion: desiredVersion,
                startedAt: startedAt, traceID: traceID)
        }
        let notifier = try makeNotifier(for: inventory, environment: environment, outbox: outbox, logger: logger)
        await notifier.start()
        let planned = Event.tally(rollout.targets.map { ($0.environment, $0.action.rawValue) })
        notifier.post(
            Event(
                kind: .runStarted, runID: runID, inventory: inventory.name, toVersion: desiredVersion, reason: note,
                at: startedAt,
                startedAt: startedAt, counts: planned.counts, environmentCounts: planned.environments, traceID: traceID)
        )
        return RunNotifications(
            notifier: notifier, runID: runID, inventory: inventory.name, desiredVersion: desiredVersion,
            startedAt: startedAt, traceID: traceID,
            tracksIncidents: inventory.notify.contains { $0.kind.tracksIncidents })
    }

    /// Posts what the executor reports: each finished target (`record(_:)`) and each halted
    /// wave. Returns at once; called from the executor's event callback.
    package func handle(_ event: RunEvent) {
        if case .targetFinished(let outcome) = event {
            record(outcome)
        } else if case .waveHalted(let environment, let reason) = event {
            waveHalted(environment: environment, reason: reason)
        } else if case .stepProgress(let progress) = event {
            stepProgress(progress)
        }
    }

    /// How often a target's batched step may post `step.progress`.
    static let progressInterval: Duration = .seconds(10)

    /// Posts `step.progress` for a target at most every `progressInterval` (the first at once).
    package func stepProgress(_ progress: BackfillProgress) {
        guard let notifier else { return }
        let now = ContinuousClock.now
        let due = state.withLock { state in
            if let last = state.progressPosted[progress.target], now - last < Self.progressInterval { return false }
            state.progressPosted[progress.target] = now
            return true
        }
        guard due else { return }
        var event = Event(
            kind: .stepProgress, runID: runID, inventory: inventory, environment: progress.environment,
            target: progress.target,
            toVersion: progress.version, reason: Self.progressText(progress), traceID: traceID)
        event.progress = progress
        notifier.post(event)
    }

    /// `forward 2 on orders: 37%, 1,234,567 rows, 45,000 rows/s, about 80 s left`.
    static func progressText(_ progress: BackfillProgress) -> String {
        var parts: [String] = []
        if let fraction = progress.fraction { parts.append("\(Int((fraction * 100).rounded(.down)))%") }
        parts.append("\(progress.rows) rows")
        parts.append("\(Int(progress.rowsPerSecond.rounded())) rows/s")
        if let remaining = progress.remainingSeconds, remaining.isFinite {
            parts.append("about \(Int(remaining.rounded(.up))) s left")
        }
        return "\(progress.kind.rawValue) \(progress.version) on \(progress.table): \(parts.joined(separator: ", "))"
    }

    /// Posts what one finished target means: `target.succeeded`; `target.blocked`;
    /// `target.converged` for `unchanged` when an incident sink may have to resolve it; nothing
    /// for `skipped` or `deferred` (the halted wave has its own event, the count has the rest;
    /// a deferred target waits for its change window and pages nobody); `target.failed` for
    /// everything else (failed, a held lock, interrupted: the target did not get there). Returns at once.
    package func record(_ outcome: TargetOutcome) {
        guard let notifier else { return }
        state.withLock { _ = $0.recorded.insert(outcome.target) }
        let kind: EventKind
        if outcome.outcome == .succeeded {
            kind = .targetSucceeded
        } else if outcome.outcome == .blocked {
            kind = .targetBlocked
        } else if outcome.outcome == .unchanged {
            // Only incident sinks see it: a target already converged resolves an incident an
            // earlier run opened for it.
            guard tracksIncidents else { return }
            kind = .targetConverged
        } else if outcome.outcome == .skipped || outcome.outcome == .deferred {
            // A deferred target waits for its change window (docs/windows.md): nobody is paged.
            return
        } else {
            kind = .targetFailed
        }
        notifier.post(
            Event(
                kind: kind, runID: runID, inventory: inventory, environment: outcome.environment,
                target: outcome.target,
                fromVersion: outcome.fromVersion, toVersion: outcome.toVersion, action: outcome.action,
                error: kind == .targetFailed
                    ? (outcome.error ?? "\(outcome.outcome.rawValue): \(outcome.reason)") : outcome.error,
                reason: outcome.reason, startedAt: outcome.startedAt, finishedAt: outcome.finishedAt, traceID: traceID))
    }

    /// Posts `wave.halted` once per wave.
    package func waveHalted(environment: String, reason: String) {
        guard let notifier, state.withLock({ $0.haltedWaves.insert(environment).inserted }) else { return }
        notifier.post(
            Event(
                kind: .waveHalted, runID: runID, inventory: inventory, environment: environment,
                toVersion: desiredVersion, reason: reason, traceID: traceID))
    }

    /// Posts the events of outcomes the executor did not report (targets whose state could not
    /// be read), then `run.finished` with counts per outcome and per environment, and waits for
    /// delivery, at most the flush timeout. Never throws: a delivery problem is reported on
    /// standard error and never changes the run's exit code.
    package func finish(_ outcomes: [TargetOutcome]) async {
        guard let notifier else { return }
        let unrecorded = state.withLock { state in outcomes.filter { !state.recorded.contains($0.target) } }
        for outcome in unrecorded { record(outcome) }
        let tally = Event.tally(outcomes.map { ($0.environment, $0.outcome.rawValue) })
        notifier.post(
            Event(
                kind: .runFinished, runID: runID, inventory: inventory, toVersion: desiredVersion, startedAt: startedAt,
                finishedAt: Date(),
                counts: tally.counts, environmentCounts: tally.environments, traceID: traceID))
        // The notifier logs what it could not deliver (by sink name) through the run's logger.
        _ = await notifier.finish()
    }
}
