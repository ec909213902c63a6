import Foundation
import Logging
import Synchronization
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet
import TidemarkNotify
import TidemarkPlanner

/// One runner's workers: each claims a target, runs it, records the outcome, and claims the next,
/// until nothing it serves is left, the run halts or stops, or the control database is lost.
/// Blocking calls run on the executor's worker threads and the control queue, never on the Swift
/// concurrency pool. Thread-safe: its little state sits behind a `Mutex`.
final class RunnerLoop: Sendable {
    /// One control session per worker, so workers never queue behind each other's claims.
    let stores: [ControlStore]
    let control: ControlCalls
    let runID: String
    let runner: String
    /// The targets this runner may claim as a text array; nil: every target of the run.
    let served: String?
    let lease: Duration
    let poll: Duration
    let inventory: Inventory
    /// The inventory's targets by name: one lookup per claim.
    let fleet: FleetIndex
    let plan: Plan
    let desired: DesiredVersion
    let strategy: Strategy
    let limited: Bool
    let registry: BackendRegistry
    let logger: Logger
    let runControl: RunControl
    let keeper: LeaseKeeper
    let targetRunner: TargetRunner
    let pool: DispatchWorkers
    let observer: any ApplyObserver
    /// The clock change windows are weighed against before each claim (docs/windows.md#shared-runs);
    /// nil: none is weighed (the run's creator gave `--override-window`, or no environment has a window).
    let windowClock: (@Sendable () -> Date)?
    /// The run's `--override-window`: the environments whose history rows say so.
    let windowOverride: WindowOverride?

    private struct State {
        var outcomes: [TargetOutcome] = []
        var lost: ControlError?
        var stopSeen = false
        /// When a waiting worker next looks for targets no live runner serves.
        var notices: NoticeSchedule
        /// The waves (by environment) this runner has said it started on.
        var announcedWaves: Set<String> = []
        /// Waves this runner said wait for approval.
        var announcedApprovals: Set<String> = []
        /// Waves this runner deferred (outside their change window).
        var announcedDeferrals: Set<String> = []
        /// Targets claimed in a batch and not started yet, in rollout order; any worker takes the
        /// next (docs/tenants.md#batched-claims). Their leases are renewed with the others.
        var buffer: [Claim] = []
        /// How long a target took here, on average (nil: none finished yet): how many a batch may
        /// hold so that each starts within its lease.
        var averageSeconds: Double?
    }
    /// Each wave's place in the run's rollout and its size, by environment (one per wave), for
    /// the `wave 2/3: prod (40 targets)` line when this runner first claims in it.
    let waves: [String: (index: Int, targets: Int)]
    let waveCount: Int
    private let state: Mutex<State>

    /// Everything a runner's workers share: the run, this runner, the inputs, the parts they
    /// call. One value, built once by `ControlledApplyRun`. Thread-safe value.
    struct Context: Sendable {
        /// One control session per worker (the first is the runner's own).
        var stores: [ControlStore]
        var control: ControlCalls
        var runID: String
        var runner: String
        /// The targets this runner may claim as a text array; nil: every target of the run.
        var served: String?
        var lease: Duration
        var poll: Duration
        var inventory: Inventory
        var fleet: FleetIndex
        var rollout: Rollout
        var plan: Plan
        var desired: DesiredVersion
        var strategy: Strategy
        /// Some wave of the run limits its environment's targets in flight (see `ControlStore.claim`).
        var limited: Bool
        var registry: BackendRegistry
        var logger: Logger
        var runControl: RunControl
        var keeper: LeaseKeeper
        var targetRunner: TargetRunner
        var pool: DispatchWorkers
        var observer: any ApplyObserver
        var windowClock: (@Sendable () -> Date)?
        var windowOverride: WindowOverride?
    }

    init(_ context: Context) {
        self.stores = context.stores
        self.control = context.control
        self.runID = context.runID
        self.runner = context.runner
        self.served = context.served
        self.lease = context.lease
        self.poll = context.poll
        self.inventory = context.inventory
        self.fleet = context.fleet
        var waves: [String: (index: Int, targets: Int)] = [:]
        for (index, wave) in context.rollout.waves.enumerated() {
            waves[wave.environment] = (index, wave.targets.count)
        }
        self.waves = waves
        self.waveCount = context.rollout.waves.count
        self.plan = context.plan
        self.desired = context.desired
        self.strategy = context.strategy
        self.limited = context.limited
        self.registry = context.registry
        self.logger = context.logger
        self.runControl = context.runControl
        self.keeper = context.keeper
        self.targetRunner = context.targetRunner
        self.pool = context.pool
        self.observer = context.observer
        self.windowClock = context.windowClock
        self.windowOverride = context.windowOverride
        self.state = Mutex(State(notices: NoticeSchedule(after: max(context.lease * 2, .seconds(5)), now: .now)))
    }

    /// The control database failed under a worker.
    var lost: ControlError? { state.withLock { $0.lost } }
    /// A worker found the run stopped by `tidemark stop`.
    var stopSeen: Bool { state.withLock { $0.stopSeen } }

    /// Runs `concurrency` workers until they all stop; returns this runner's outcomes in the order they finished.
    func work() async -> [TargetOutcome] {
        await withTaskGroup(of: Void.self) { group in
            for store in stores {
                group.addTask { await self.workerLoop(store: store) }
            }
        }
        return state.withLock { $0.outcomes }
    }

    private func loseControl(_ error: ControlError) {
        let first = state.withLock { state -> Bool in
            defer { if state.lost == nil { state.lost = error } }
            return state.lost == nil
        }
        if first { logger.error("\(error)") }
        runControl.requestStop()
    }

    private var shouldStop: Bool { runControl.isStopRequested || lost != nil || keeper.lost != nil }

    /// The most targets one claim takes.
    static let largestBatch = 64
    /// Outcomes of fast targets a worker records in one statement, at most.
    static let recordBatch = 64
    /// A target that took less than this is fast: its outcome may wait for the worker's next
    /// ones (at most `recordBatch`, and never past the worker's next claim).
    static let fastTarget: Duration = .milliseconds(50)

    /// How many targets the next claim may take: one for every worker at first; once targets
    /// have finished here, as many as the runner's workers start within half a lease (a
    /// dead runner's buffer waits one lease for another runner), less those already buffered;
    /// at least one, at most `largestBatch`. A run that limits an environment's concurrency
    /// claims one at a time (see `ControlStore.claim`).
    func batchSize() -> Int {
        // A run with change windows claims one at a time: a target claimed into the buffer is
        // not started yet, and must still be deferred when its window closes.
        if limited || windowClock != nil { return 1 }
        let workers = stores.count
        let (average, buffered) = state.withLock { ($0.averageSeconds, $0.buffer.count) }
        let perWorker = average.map { max(1, Int((lease.seconds / 2) / max($0, 0.000_1))) } ?? 1
        let wanted = workers.multipliedReportingOverflow(by: min(perWorker, Self.largestBatch))
        return min(Self.largestBatch, max(1, (wanted.overflow ? Self.largestBatch : wanted.partialValue) - buffered))
    }

    /// One worker: takes the next buffered target, or claims a batch when the buffer is empty
    /// (recording its waiting outcomes first), runs it, until nothing it serves is left.
    private func workerLoop(store: ControlStore) async {
        var pending = PendingRecords()
        var idle = IdleBackoff(longest: poll)
        while !shouldStop {
            if let next = state.withLock({ $0.buffer.isEmpty ? nil : $0.buffer.removeFirst() }) {
                await handle(next, store: store, pending: &pending)
                continue
            }
            // The wave barrier and the halt rule read the recorded outcomes: record before claiming.
            guard await flush(&pending, store: store) else { return }
            // The window of the lowest unfinished wave, read after this worker's outcomes are
            // recorded (else a finished wave still looks open and the next one is claimed
            // unchecked). A run with windows has no buffer: it claims one target at a time.
            if windowClock != nil {
                do {
                    try await deferIfOutsideWindow(store: store)
                } catch {
                    loseControl(error)
                    return
                }
            }
            let claims: [Claim]
            do {
                let limit = batchSize()
                claims = try await control.call {
                    [store, runID, runner, served, lease, limited] () throws(ControlError) in
                    try store.claim(runID, runner: runner, served: served, lease: lease, limited: limited, limit: limit)
                }
            } catch {
                loseControl(error)
                return
            }
            if let first = claims.first {
                // Another worker may have finished the wave before it between the window check and
                // this claim: a target of a wave whose window is closed ends deferred, unstarted,
                // and the rest of its wave and the later ones with it.
                if let windowClock,
                    let deferral = WindowRule.deferral(
                        of: fleet.environments[first.plan.environment], at: windowClock())
                {
                    await record(
                        RolloutExecutor.deferredOrNothing(first.plan, deferral: deferral), store: store,
                        pending: &pending)
                    do {
                        try await deferIfOutsideWindow(store: store)
                    } catch {
                        loseControl(error)
                        return
                    }
                    continue
                }
                state.withLock {
                    $0.notices.claimed(at: .now)
                    $0.buffer += claims.dropFirst()
                }
                idle.reset()
                await handle(first, store: store, pending: &pending)
                continue
            }
            let progress: RunProgress
            do {
                progress = try await control.call { [store, runID, served] () throws(ControlError) in
                    try store.progress(runID, served: served)
                }
            } catch {
                loseControl(error)
                return
            }
            if progress.stopRequested {
                // The lease keeper may not have renewed since the stop: this runner was stopped
                // all the same (exit 130, `interrupted` in its report), not done.
                state.withLock { $0.stopSeen = true }
                runControl.requestStop()
                await releaseBuffer(store: store) { _ in true }
                let reason = "the run was stopped (tidemark stop)"
                _ = try? await control.call { [store, runID] () throws(ControlError) in
                    try store.skipRemaining(runID, reason: reason)
                }
                return
            }
            if let reason = progress.halted {
                // A halted non-prod wave still finishes its own targets: they stay, the later waves go.
                _ = try? await control.call { [store, runID] () throws(ControlError) in
                    try store.skipRemaining(runID, reason: reason, keepingFinishingWave: true)
                }
            }
            if !progress.servesOpen { return }
            // Targets of this runner wait for an earlier wave, a canary, a lease to run out, or a person's approval.
            await sayIfTheWaveAwaitsApproval(store: store)
            await sayWhyTheRunWaits(store: store)
            try? await Task.sleep(for: idle.next())
        }
        // Stopping (SIGINT, `tidemark stop`, a lost control database): what this worker ran is
        // recorded, and what the runner claimed but never started goes back at once.
        guard lost == nil, keeper.lost == nil else { return }
        _ = await flush(&pending, store: store)
        await releaseBuffer(store: store) { _ in true }
    }

    /// Puts the buffered targets `matching` says back, in one statement.
    private func releaseBuffer(store: ControlStore, matching: (Claim) -> Bool) async {
        let released = state.withLock { state -> [String] in
            let (gone, kept) = (state.buffer.filter(matching), state.buffer.filter { !matching($0) })
            state.buffer = kept
            return gone.map(\.plan.target)
        }
        guard !released.isEmpty else { return }
        _ = try? await control.call { [store, runID, runner] () throws(ControlError) in
            try store.release(runID, targets: released, runner: runner)
        }
    }

    /// What a recorded outcome says of the run: after a stop or a halt, the buffered targets
    /// that may no longer start go back (a claim then finds nothing, and the stop or the halt
    /// skips them as it skips every target nobody runs).
    private func heed(_ run: RunState, store: ControlStore) async {
        guard run.stopRequested || run.halted != nil else { return }
        await releaseBuffer(store: store) { !run.allows(wave: $0.wave) }
    }

    /// When the schedule says so (twice the lease without a claim), one worker looks at the
    /// lowest open wave: targets nobody holds and no live runner serves (their runner died, or
    /// none was started for them) hold the run until someone acts, so the runner says which and
    /// how to go on, then again after twice as long each time while nothing changes.
    private func sayWhyTheRunWaits(store: ControlStore) async {
        guard state.withLock({ $0.notices.shouldLook(at: .now) }) else { return }
        let looked = try? await control.call { [store, runID] () throws(ControlError) in try store.waveWait(runID) }
        guard let wait = looked.flatMap({ $0 }) else { return }
        let unserved = wait.unserved(in: fleet)
        guard !unserved.isEmpty else { return }
        logger.warning("\(WaveWait.notice(runID: runID, wave: wait.wave, unserved: unserved))")
        state.withLock { $0.notices.said(at: .now) }
    }

    /// The lowest open wave waits for `tidemark approve`: the first runner to see it stores the
    /// `wave.awaiting_approval` event (with the command to run) for the sinks; each runner says
    /// so once per wave.
    private func sayIfTheWaveAwaitsApproval(store: ControlStore) async {
        let runID = self.runID
        let inventoryName = inventory.name
        let command: @Sendable (String) -> String = { environment in
            "tidemark approve \(runID) --env \(environment) --control \(store.redactedURL) [--note TEXT]   (or: tidemark reject \(runID) --env \(environment) --control \(store.redactedURL))"
        }
        let waiting = try? await control.call { [store] () throws(ControlError) in
            try store.awaitingApproval(runID) { environment in
                Event(
                    kind: .waveAwaitingApproval, runID: runID, inventory: inventoryName, environment: environment,
                    reason: command(environment))
            }
        }
        guard let environment = waiting.flatMap({ $0 }) else { return }
        guard state.withLock({ $0.announcedApprovals.insert(environment).inserted }) else { return }
        logger.warning("wave \(environment) awaits approval; to let it start: \(command(environment))")
    }

    /// Before claiming: when the lowest open wave's environment may not start writes now (outside
    /// its change window, in a freeze), what nobody runs of it and of every later wave ends
    /// `deferred`; running targets finish (docs/windows.md#shared-runs).
    private func deferIfOutsideWindow(store: ControlStore) async throws(ControlError) {
        guard let windowClock else { return }
        let runID = self.runID
        guard let open = try await control.call({ [store] () throws(ControlError) in try store.lowestOpenWave(runID) }),
            let deferral = WindowRule.deferral(of: fleet.environments[open.environment], at: windowClock())
        else { return }
        let deferred = try await control.call { [store] () throws(ControlError) in
            try store.deferRemaining(runID, fromWave: open.wave, environment: open.environment, deferral: deferral)
        }
        guard !deferred.isEmpty else { return }
        // This runner ended them: they are in its report (and count toward its exit code, 5).
        state.withLock { $0.outcomes += deferred }
        for outcome in deferred { observer.handle(.targetFinished(outcome)) }
        guard state.withLock({ $0.announcedDeferrals.insert(open.environment).inserted }) else { return }
        logger.notice(
            "wave \(open.environment) deferred (\(deferred.count) target\(deferred.count == 1 ? "" : "s") not started, with the later waves'): \(deferral.sentence)"
        )
    }

    /// The first claim of this runner in a wave starts that wave for it (waves go in order fleet-wide).
    private func announceWave(of planned: TargetPlan) {
        guard let wave = waves[planned.environment] else { return }
        let first = state.withLock { $0.announcedWaves.insert(planned.environment).inserted }
        guard first else { return }
        observer.handle(
            .waveStarted(environment: planned.environment, index: wave.index, count: waveCount, targets: wave.targets))
    }

    /// Runs one claimed target: its real state read first, re-planned when it differs from the
    /// stored plan; the outcome recorded with its event.
    private func handle(_ claim: Claim, store: ControlStore, pending: inout PendingRecords) async {
        let started = ContinuousClock.now
        defer { learn(ContinuousClock.now - started) }
        let planned = claim.plan
        guard let target = fleet.targets[planned.target] else {
            await record(
                TargetOutcome(
                    plan: planned, outcome: .failed,
                    error: ExecutionError.unknownInRollout(target: planned.target, what: "target \(planned.target)")
                        .description), store: store, pending: &pending)
            return
        }
        announceWave(of: planned)
        observer.handle(.targetStarted(target: target.name, environment: target.environment))
        let timeouts = inventory.timeouts(for: target)
        var targetPlan = planned
        if claim.needsFreshState {
            // Taken over from a runner that died or stopped mid-target, or never read: its real state
            // decides (TargetRunner checks it again under the target's lock).
            let read = await readState(of: target, timeouts: timeouts)
            let current: TargetState
            switch read {
            case .success(let state): current = state
            case .failure(let error):
                await record(
                    TargetOutcome(plan: planned, outcome: .failed, error: error.description), store: store,
                    pending: &pending)
                return
            }
            if planned.staleness(found: current) != nil {
                let replanned = Planner(inventory: inventory, plan: plan).plan(
                    states: [target.name: current],
                    options: PlannerOptions(desiredVersion: desired, strategy: strategy, targets: [target.name]))
                if let fresh = replanned.targets.first { targetPlan = fresh }
                logger.notice(
                    "\(target.name): its state differs from the run's plan\(claim.previousRunner.map { " (taken over from \($0))" } ?? ""); planned again: \(targetPlan.action.rawValue)"
                )
            }
        }
        var outcome: TargetOutcome
        switch targetPlan.action {
        case .none: outcome = TargetOutcome(plan: targetPlan, outcome: .unchanged)
        case .blocked: outcome = TargetOutcome(plan: targetPlan, outcome: .blocked)
        case .forward, .rollback, .rollforward:
            let backend: any Backend
            do {
                backend = try registry.backend(for: target)
            } catch {
                await record(
                    TargetOutcome(plan: targetPlan, outcome: .failed, error: error.description), store: store,
                    pending: &pending)
                return
            }
            var configured = targetRunner
            if let windowOverride, windowOverride.environments.contains(target.environment) {
                configured.descriptionNote = windowOverride.historyNote
            }
            let runner = configured
            let runControl = self.runControl
            let lockRetries = inventory.environment(named: target.environment)?.lockRetries ?? 0
            let observer = self.observer
            let chosen = targetPlan
            outcome = await pool.run {
                runner.run(
                    chosen, on: target, backend: backend, timeouts: timeouts, lockRetries: lockRetries,
                    shouldStop: { runControl.isStopRequested },
                    onConnection: { runControl.register(target.name, canceller: $0) },
                    onEvent: { observer.handle($0) })
            }
            runControl.unregister(target.name)
            if outcome.outcome == .failed && runControl.isCancelRequested { outcome.outcome = .interrupted }
        }
        if outcome.outcome == .interrupted {
            // This runner was interrupted (SIGINT): the target goes back at once, for a runner that
            // goes on to read its real state and finish it.
            state.withLock { $0.outcomes.append(outcome) }
            observer.handle(.targetFinished(outcome))
            _ = try? await control.call { [store, runID, runner] () throws(ControlError) in
                try store.release(runID, target: target.name, runner: runner, lease: .zero)
            }
            return
        }
        if outcome.outcome == .locked && claim.previousRunner != nil {
            // The runner whose lease ran out still holds the target: it is alive, only slow. Leave
            // the target to it; whoever claims it after the next lease reads its state again.
            _ = try? await control.call { [store, runID, runner, lease] () throws(ControlError) in
                try store.release(runID, target: target.name, runner: runner, lease: lease)
            }
            return
        }
        await record(outcome, store: store, pending: &pending, fast: ContinuousClock.now - started < Self.fastTarget)
    }

    /// The target's history, read on a worker thread (a missing database reads as empty).
    private func readState(of target: Target, timeouts: Timeouts) async -> Result<TargetState, BackendError> {
        await pool.run { [registry, logger] in
            do {
                let backend = try registry.backend(for: target)
                let connection = try backend.connect(to: target, access: .readOnly, timeouts: timeouts, logger: logger)
                defer { connection.close() }
                return .success(TargetState(history: try connection.readHistory()))
            } catch BackendError.databaseNotFound(_, _) {
                return .success(.empty)
            } catch let error as BackendError {
                return .failure(error)
            } catch {
                return .failure(.queryFailed(target: target.name, message: "\(error)", sqlState: nil))
            }
        }
    }

    /// A target finished here in `duration`: the average a batch is sized by.
    private func learn(_ duration: Duration) {
        let seconds = duration.seconds
        state.withLock { state in
            state.averageSeconds = state.averageSeconds.map { $0 * 0.8 + seconds * 0.2 } ?? seconds
        }
    }

    /// Records a finished target: a failure at once (it may halt the run), after the outcomes
    /// waiting before it; a fast target's outcome waits for the worker's next ones, up to
    /// `recordBatch` (one statement records them all); any other at once.
    private func record(
        _ outcome: TargetOutcome, store: ControlStore, pending: inout PendingRecords, fast: Bool = false
    )
        async
    {
        var outcome = outcome
        if outcome.finishedAt == nil { outcome.finishedAt = Date() }
        let finished = outcome
        state.withLock { $0.outcomes.append(finished) }
        observer.handle(.targetFinished(finished))
        // Stored only when a sink of the inventory takes it: the run's events are there for the
        // runner that delivers them (a fleet without sinks stores none per target).
        let event = Self.event(
            for: finished, runID: runID, inventory: inventory.name,
            tracksIncidents: inventory.notify.contains { $0.kind.tracksIncidents }
        ).flatMap { event in inventory.notify.contains { $0.accepts(event) != nil } ? event : nil }
        if finished.outcome != .failed {
            pending.add(finished, event: event)
            if !fast || pending.count >= Self.recordBatch { _ = await flush(&pending, store: store) }
            return
        }
        guard await flush(&pending, store: store) else { return }
        let inventoryName = inventory.name
        let runID = self.runID
        do {
            let result = try await control.call { [store, runner] () throws(ControlError) in
                try store.record(finished, runID: runID, runner: runner, event: event) { environment, reason in
                    Event(
                        kind: .waveHalted, runID: runID, inventory: inventoryName, environment: environment,
                        reason: reason)
                }
            }
            if let halted = result.halted {
                observer.handle(.waveHalted(environment: finished.environment, reason: halted))
            }
            if !result.recorded { warnTakenOver(finished.target) }
            let run = try await control.call { [store] () throws(ControlError) in try store.runState(runID) }
            await heed(run, store: store)
        } catch {
            loseControl(error)
        }
    }

    /// Records the outcomes waiting in `pending` in one statement; false when the control
    /// database was lost.
    private func flush(_ pending: inout PendingRecords, store: ControlStore) async -> Bool {
        guard !pending.isEmpty else { return true }
        let batch = pending.take()
        do {
            let (recorded, run) = try await control.call { [store, runID, runner] () throws(ControlError) in
                try store.record(batch, runID: runID, runner: runner)
            }
            for entry in batch where !recorded.contains(entry.outcome.target) { warnTakenOver(entry.outcome.target) }
            await heed(run, store: store)
            return true
        } catch {
            loseControl(error)
            return false
        }
    }

    private func warnTakenOver(_ target: String) {
        logger.warning("\(target): its lease ran out before the outcome was recorded; another runner took it over")
    }

    /// The notification a finished target means (as `RunNotifications.record`): none for
    /// skipped targets, and for unchanged ones only when an incident sink may have to resolve
    /// one (`target.converged`).
    static func event(for outcome: TargetOutcome, runID: String, inventory: String, tracksIncidents: Bool = false)
        -> Event?
    {
        let kind: EventKind
        switch outcome.outcome {
        case .succeeded: kind = .targetSucceeded
        case .blocked: kind = .targetBlocked
        case .unchanged:
            guard tracksIncidents else { return nil }
            kind = .targetConverged
        case .skipped, .deferred: return nil
        case .failed, .locked, .interrupted: kind = .targetFailed
        }
        return Event(
            kind: kind, runID: runID, inventory: inventory, environment: outcome.environment, target: outcome.target,
            fromVersion: outcome.fromVersion, toVersion: outcome.toVersion, action: outcome.action,
            error: kind == .targetFailed
                ? (outcome.error ?? "\(outcome.outcome.rawValue): \(outcome.reason)") : outcome.error,
            reason: outcome.reason, startedAt: outcome.startedAt, finishedAt: outcome.finishedAt)
    }
}

/// A worker's outcomes of fast targets not recorded yet, in the order they finished. Pure value.
struct PendingRecords {
    private var entries: [(outcome: TargetOutcome, event: Event?)] = []
    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    mutating func add(_ outcome: TargetOutcome, event: Event?) { entries.append((outcome, event)) }

    mutating func take() -> [(outcome: TargetOutcome, event: Event?)] {
        defer { entries = [] }
        return entries
    }
}

/// How long a worker with nothing to claim waits before asking again: 10 ms at first, twice as
/// long each time nothing comes, up to the poll interval; a claim starts over. At a wave's end the
/// next wave opens as soon as its last target is recorded, which a fixed 200 ms wait missed by
/// 100 ms on average at every wave and canary (a fifth of a 20,000-target run's time). Pure value.
struct IdleBackoff {
    let first: Duration
    let longest: Duration
    private var current: Duration

    init(longest: Duration, first: Duration = .milliseconds(10)) {
        self.first = min(first, longest)
        self.longest = longest
        current = self.first
    }

    /// The next wait; the one after is twice as long (at most `longest`).
    mutating func next() -> Duration {
        defer { current = min(current * 2, longest) }
        return current
    }

    /// A target was claimed: the next wait is the first again.
    mutating func reset() { current = first }
}

/// When a waiting runner next looks for targets no live runner serves: `after` without a claim,
/// and after saying so, twice as long as the time before, up to `longest`; a look that finds
/// nothing to say is tried again `after` later; a claim starts over. Pure value.
struct NoticeSchedule: Sendable {
    let after: Duration
    let longest: Duration
    private(set) var next: ContinuousClock.Instant
    private var gap: Duration

    init(after: Duration, longest: Duration = .seconds(600), now: ContinuousClock.Instant) {
        self.after = after
        self.longest = longest
        self.next = now + after
        self.gap = after
    }

    /// This runner claimed a target: the run moves.
    mutating func claimed(at now: ContinuousClock.Instant) {
        gap = after
        next = now + after
    }

    /// Whether to look now (and when to look again if the look finds nothing to say).
    mutating func shouldLook(at now: ContinuousClock.Instant) -> Bool {
        guard now >= next else { return false }
        next = now + after
        return true
    }

    /// The runner said why the run waits: the next time is twice as far off.
    mutating func said(at now: ContinuousClock.Instant) {
        gap = min(gap * 2, longest)
        next = now + gap
    }
}
