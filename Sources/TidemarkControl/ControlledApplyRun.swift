import Foundation
import Logging
import Synchronization
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkFleet
import TidemarkNotify
import TidemarkPlanner

/// What a runner of a many-runner rollout is asked
/// (docs/many-runners.md#one-run-across-runners-a-control-database): the apply request, where the
/// control database is, which run to join and which targets it may serve. Thread-safe value.
package struct ControlledApplyRequest: Sendable {
    package var apply: ApplyRequest
    /// `--control URL`; nil: the inventory's `control:`.
    package var database: ControlDatabase?
    /// `--run-id ID`: join this run; nil: the open run for the same inputs, or a new one.
    package var joinRunID: String?
    /// `--serve SELECTOR`…: an environment, `tag:NAME` or a target name; empty: every target.
    package var serve: [String] = []
    /// `--lease`: how long a claim holds without renewal (renewed every third of it).
    package var lease: Duration = .seconds(30)
    /// How long a runner with nothing to claim waits before asking again.
    package var pollInterval: Duration = .milliseconds(200)
    /// `--runner NAME` (checked by `RunnerName`); nil: the pod's or host's name.
    package var runnerName: String?

    package init(apply: ApplyRequest, database: ControlDatabase? = nil) {
        self.apply = apply
        self.database = database
    }
}

/// What one runner did in a many-runner rollout. Thread-safe value.
package struct ControlledApplyResult: Sendable {
    /// This runner's part: the targets it ran (its own report).
    package var apply: ApplyResult
    package var runID: String
    /// Whether this runner created the run (false: it joined one).
    package var created: Bool
    package var runner: String
    /// The run serves no target this runner may serve: it did nothing (exit 0).
    package var servedNothing = false
    /// The control database went away mid-run: this runner stopped claiming (exit 1).
    package var lost: ControlError?
    /// `tidemark stop` asked every runner to stop.
    package var stoppedByControl = false
    /// Why the run's later waves did not start, when some runner saw a failure.
    package var halted: String?
    /// How every target of the run that this runner serves ended, whoever ran it.
    package var served: [Outcome: Int] = [:]

    /// How this runner's part ended, for its exit code: its own report, the control database
    /// lost, and every target it serves (one skipped because a wave halted is a failure, as in
    /// one process), by the one precedence.
    package var status: RunStatus {
        if servedNothing { return .succeeded }
        return RunStatus.first(
            of: [apply.status, lost == nil ? .succeeded : .failed] + served.keys.map { RunStatus($0) })
    }
}

/// Runs this runner's part of a rollout coordinated through a PostgreSQL control database
/// (docs/many-runners.md#one-run-across-runners-a-control-database): the
/// `tidemark apply --control URL` use case, `RunSession`'s stages with a runner loop
/// (`RunnerOutcomes`) producing the outcomes.
///
/// The first runner plans the selected targets and stores the rollout; the others join it. Each
/// runner claims one target at a time (`FOR UPDATE SKIP LOCKED`) in the lowest wave not done
/// everywhere, the canary first; it re-reads the target's real state and re-plans it when it
/// differs from the stored plan (a dead runner's target taken over, a target changed since), and
/// the target's own advisory lock still guards every step. Outcomes, halts and events go through
/// the control database, whose clock decides every lease. Thread-safe value.
package struct ControlledApplyRun: Sendable {
    package var registry: BackendRegistry
    package var logger: Logger

    package init(registry: BackendRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Joins or creates the run and works on it until nothing this runner serves is left, the
    /// run halts or stops, or the control database is lost. Input problems (an unreachable control
    /// database, a different plan, an unknown run) throw before anything is written.
    package func run(_ request: ControlledApplyRequest, observer: some ApplyObserver = SilentApplyObserver())
        async throws(ControlError) -> ControlledApplyResult
    {
        let source = RunnerOutcomes(request: request, registry: registry, logger: logger)
        defer { source.close() }
        let apply = try await RunSession(registry: registry, logger: logger).run(
            request.apply, source: source, observer: observer)
        return source.result(apply)
    }
}

/// A runner loop through the control database as a run's source of outcomes, and its sinks (the
/// run's events are stored with the outcomes; one runner at a time delivers them). Thread-safe:
/// what it learns while the run goes on sits behind a `Mutex`.
final class RunnerOutcomes: OutcomeSource, RunSinks {
    let request: ControlledApplyRequest
    let registry: BackendRegistry
    let logger: Logger
    /// The runner's own serial queue for control-database calls.
    let control = ControlCalls(pool: DispatchWorkers(count: 1, label: "tidemark-control"))
    let runner: String

    /// What the stages learn, for the next stage and the result.
    private struct Joined: Sendable {
        var store: ControlStore?
        var run: ControlRun?
        var created = false
        var servedList: String?
        var desired: DesiredVersion = .latest
        var strategy: Strategy = .auto
        var database: ControlDatabase?
        var notifier: Notifier?
        /// Posts this runner's `step.progress` straight to its sinks.
        var progress: RunNotifications?
        var keeper: LeaseKeeper?
        var lost: ControlError?
        var halted: String?
        var served: [Outcome: Int] = [:]
        var servedNothing = false
        /// A worker found the run stopped (`tidemark stop`) before the lease keeper did.
        var stopSeen = false
        /// The run creator's `--override-window` (every runner honours it); nil: windows are weighed.
        var windowOverride: WindowOverride?
        /// The open incidents as read from the control database when the notifier started (nil:
        /// no incident sink).
        var incidents: [String: [String: OpenIncident]]?
        var inventoryName = ""
    }
    private let joined = Mutex(Joined())

    init(request: ControlledApplyRequest, registry: BackendRegistry, logger: Logger) {
        self.request = request
        self.registry = registry
        self.logger = logger
        runner = RunnerName.runnerID(
            name: request.runnerName ?? RunIdentity.defaultRunnerName(environment: request.apply.environment))
    }

    static func failure(_ error: FleetError) -> ControlError { .fleet(error) }

    /// Inputs: the inventory and plan read, the run joined (or created and planned), what this
    /// runner serves, the rule the run's waves follow.
    func prepare(_ apply: ApplyRequest, startedAt: Date) async throws(ControlError) -> PreparedRun {
        if !apply.approve.isEmpty { throw .approveInSharedRun(environments: apply.approve.sorted()) }
        guard case .inventory(let inventoryFile, let selection, let desiredText, let strategy) = apply.source else {
            throw .fleet(
                .rolloutFile(
                    .unreadable(path: "", message: "a saved rollout cannot be run with --control; give -i INVENTORY")))
        }
        // The inventory as written: its `discover:` sources are read only by the runner that
        // creates the run; the others take the fleet it stored (docs/tenants.md#a-shared-run-stores-its-fleet).
        let listed: Inventory
        let plan: Plan
        let desired: DesiredVersion
        do {
            listed = try FleetInputs.inventory(at: inventoryFile)
            plan = try FleetInputs.acknowledging(
                apply.lockAcknowledgements, in: FleetInputs.plan(at: listed.planDirectory))
            desired = try FleetInputs.desiredVersion(desiredText, in: plan)
        } catch {
            throw .fleet(error)
        }
        guard let database = request.database ?? listed.control else { throw .noControlDatabase }
        let appliedBy = apply.appliedBy
        let logger = self.logger
        let store = try await control.call { () throws(ControlError) in
            try ControlStore(database: database, appliedBy: appliedBy, logger: logger, environment: apply.environment)
        }
        joined.withLock {
            $0.store = store
            $0.database = database
            $0.desired = desired
            $0.strategy = strategy
        }

        // Join or create.
        let key = RunKey.digest(
            inventory: listed, plan: plan, selection: selection, desired: desiredText, strategy: strategy)
        let scripts = RunKey.scripts(of: plan)
        let (run, created, inventory, planned) = try await joinOrCreate(
            key: key, scripts: scripts, listed: listed, plan: plan, selection: selection,
            desired: desired,
            desiredText: desiredText, strategy: strategy, startedAt: startedAt, store: store, runID: apply.runID)
        if let script = run.firstDifferingScript(from: scripts) { throw .planDiffers(runID: run.runID, script: script) }
        // `--target NAME` names a target of the fleet the run works on, whoever read it.
        do { _ = try selection.select(from: inventory) } catch { throw .fleet(error) }
        let runID = run.runID

        // What this runner serves, and the run's rollout as stored.
        // The creator has the rollout it stored; a runner that joins reads it back.
        let plans: [TargetPlan]
        if let planned {
            plans = planned
        } else {
            plans = try await control.call { () throws(ControlError) in try store.plans(runID) }
        }
        let fleet = FleetIndex(inventory)
        let served = plans.filter { ServeSelector.serves(request.serve, target: fleet.targets[$0.target]) }
        let rollout = RunKey.rollout(of: plans, inventory: inventory, plan: plan, run: run)
        // The waves follow the rule the run was opened with, which an older Tidemark stored
        // without a failure budget outside prod: said once, here.
        let (policy, legacy) = try await control.call { () throws(ControlError) in try store.wavePolicy(runID) }
        if legacy {
            logger.warning(
                "run \(runID) was opened by an older Tidemark, which stored no max_failures for its non-prod waves: in this run a failure there does not stop the later waves (runs opened from now on stop at the first failure unless max_failures says otherwise)"
            )
        }
        let servedList: String? = served.count == plans.count ? nil : ControlStore.textArray(served.map(\.target))
        // docs/windows.md#shared-runs: the creator's --override-window holds for every runner.
        let windowOverride = try await control.call { () throws(ControlError) in try store.windowOverride(runID) }
        if windowOverride == nil, apply.windowOverride != nil, !created {
            logger.warning(
                "run \(runID) was opened without --override-window; this runner's is ignored and the change windows are weighed (the override is given by whoever opens the run)"
            )
        }
        let displayed =
            windowOverride == nil ? WindowRule.applied(to: rollout, inventory: inventory, at: apply.clock()) : rollout
        joined.withLock { [run, created] in
            $0.windowOverride = windowOverride
            $0.run = run
            $0.created = created
            $0.servedList = servedList
            $0.servedNothing = served.isEmpty
        }
        var prepared = PreparedRun(
            runID: runID, inventory: inventory, plan: plan, rollout: displayed, policy: policy,
            writes: served.filter(\.action.writes),
            // Each runner writes its own part; `tidemark report RUN_ID --control URL` assembles the run.
            reportPath: apply.stateDirectory.runs.appendingPathComponent("\(runID)-\(RunKey.fileSafe(runner)).json")
                .path)
        prepared.fleet = fleet
        prepared.executes = !served.isEmpty
        prepared.traces = false
        prepared.runner = runner
        if let windowOverride, !windowOverride.environments.isEmpty { prepared.windowOverride = windowOverride }
        return prepared
    }

    /// Sinks: the runner joins the run, its notifier starts, and its lease keeper (which renews
    /// its leases and, holding the run's delivery lock, hands the run's events to the notifier).
    func sinks(for prepared: PreparedRun, request apply: ApplyRequest, startedAt: Date, traceID: String?)
        async throws(ControlError) -> any RunSinks
    {
        let (store, database) = joined.withLock { ($0.store, $0.database) }
        guard let store, let database else { throw .noControlDatabase }
        let runID = prepared.runID
        let runner = self.runner
        let serves = request.serve.isEmpty ? "all" : request.serve.joined(separator: ",")
        let lease = request.lease
        try await control.call { () throws(ControlError) in
            try store.join(runID, runner: runner, serves: serves, lease: lease)
        }
        let notifier: Notifier?
        // docs/on-call.md#incidents-open-and-resolve: a shared run's open incidents live in the
        // control database, so whichever runner delivers its events resolves them.
        let inventoryName = prepared.inventory.name
        let incidents: [String: [String: OpenIncident]]? =
            prepared.inventory.notify.contains { $0.kind.tracksIncidents }
            ? try await control.call { () throws(ControlError) in try store.openIncidents(inventory: inventoryName) }
            : nil
        if prepared.inventory.notify.isEmpty {
            notifier = nil
        } else {
            do {
                let made = try RunNotifications.makeNotifier(
                    for: prepared.inventory, environment: apply.environment, outbox: apply.stateDirectory.outbox,
                    logger: logger, sharedIncidents: incidents)
                await made.start()
                notifier = made
            } catch {
                throw .fleet(.notifySettings(error.description))
            }
        }
        let runControl = apply.control
        let logger = self.logger
        let keeper = try await control.call { () throws(ControlError) in
            try LeaseKeeper(
                database: database, runID: runID, runner: runner, lease: lease, appliedBy: apply.appliedBy,
                logger: logger,
                environment: apply.environment, notifier: notifier, onStop: { runControl.requestStop() })
        }
        keeper.start()
        let progress = notifier.map {
            RunNotifications.progressOnly(
                notifier: $0, runID: runID, inventory: prepared.inventory.name, traceID: traceID)
        }
        joined.withLock {
            $0.notifier = notifier
            $0.progress = progress
            $0.keeper = keeper
            $0.incidents = incidents
            $0.inventoryName = inventoryName
        }
        return self
    }

    /// Outcomes: this runner's workers claim, run and record targets until nothing it serves is
    /// left; then what nobody runs after a stop is skipped and the run finished when it is done.
    func outcomes(
        of prepared: PreparedRun, request apply: ApplyRequest, driftGate: DriftGate?, sinks: any RunSinks,
        observer: any ApplyObserver
    ) async -> [TargetOutcome] {
        let state = joined.withLock { $0 }
        guard let store = state.store, let database = state.database, let keeper = state.keeper, let run = state.run
        else { return [] }
        let runID = prepared.runID
        var targetRunner = TargetRunner(
            plan: prepared.plan, runID: runID, appliedBy: apply.appliedBy, logger: logger, backups: apply.backups)
        targetRunner.inventoryFile = prepared.inventory.file
        targetRunner.driftGate = driftGate
        let concurrency = WavePolicy.workers(requested: apply.concurrency, inventory: prepared.inventory)
        // One control session per worker (the first is the runner's own), each on a thread of its own.
        var stores = [store]
        let logger = self.logger
        for _ in 1..<max(1, concurrency) {
            guard
                let extra = try? await control.call({ () throws(ControlError) in
                    try ControlStore(
                        database: database, appliedBy: apply.appliedBy, logger: logger, environment: apply.environment)
                })
            else { break }
            stores.append(extra)
        }
        defer { for extra in stores.dropFirst() { extra.close() } }
        let worker = RunnerLoop(
            RunnerLoop.Context(
                stores: stores,
                control: ControlCalls(pool: DispatchWorkers(count: concurrency, label: "tidemark-control-worker")),
                runID: runID,
                runner: runner, served: state.servedList, lease: request.lease, poll: request.pollInterval,
                inventory: prepared.inventory,
                fleet: prepared.fleet, rollout: prepared.rollout, plan: prepared.plan, desired: state.desired,
                strategy: state.strategy,
                limited: prepared.policy.rules.values.contains { $0.concurrency != nil }, registry: registry,
                logger: logger,
                runControl: apply.control, keeper: keeper, targetRunner: targetRunner,
                pool: DispatchWorkers(count: concurrency, label: "tidemark-worker"),
                observer: state.progress.map { ProgressPosting(observer, to: $0) } ?? observer,
                windowClock: state.windowOverride == nil
                    && prepared.inventory.environments.contains { !$0.schedule.isUnrestricted } ? apply.clock : nil,
                windowOverride: state.windowOverride))
        let outcomes = await worker.work()

        let lost = worker.lost ?? keeper.lost
        if lost == nil && keeper.stopRequested {
            // `tidemark stop`: what nobody runs is skipped, so the run ends for every runner.
            _ = try? await control.call { () throws(ControlError) in
                try store.skipRemaining(runID, reason: "the run was stopped (tidemark stop)")
            }
        }
        let runner = self.runner
        if lost == nil {
            _ = try? await control.call { () throws(ControlError) in try store.finishIfDone(run) }
            _ = try? await control.call { () throws(ControlError) in try store.leave(runID, runner: runner) }
        }
        let servedList = state.servedList
        let progress =
            lost == nil
            ? try? await control.call { () throws(ControlError) in try store.progress(runID, served: servedList) } : nil
        let served =
            lost == nil
            ? try? await control.call { () throws(ControlError) in try store.servedOutcomes(runID, served: servedList) }
            : nil
        // docs/on-call.md#approvals: the run's decisions, whoever made them, in this runner's report.
        if lost == nil,
            let decisions = try? await control.call({ () throws(ControlError) in try store.decisions(runID) })
        {
            apply.approvals.replace(with: decisions)
        }
        joined.withLock {
            $0.lost = lost
            $0.stopSeen = worker.stopSeen
            $0.halted = progress?.halted
            $0.served = served ?? [:]
        }
        return outcomes
    }

    func interrupted(_ apply: ApplyRequest) -> Bool {
        apply.control.isStopRequested && joined.withLock { $0.lost } == nil
    }

    /// Events were stored with the outcomes: nothing to hand on here.
    func handle(_ event: RunEvent) {}

    /// The lease keeper stops (delivering what is left while it holds the delivery lock); only
    /// once delivered or kept in the outbox are this runner's events marked delivered.
    func finish(_ outcomes: [TargetOutcome]) async {
        let (keeper, notifier, lost) = joined.withLock { ($0.keeper, $0.notifier, $0.lost) }
        guard let keeper else { return }
        await keeper.stop(drain: lost == nil)
        if let notifier { _ = await notifier.finish() }
        let (before, inventory, store) = joined.withLock { ($0.incidents, $0.inventoryName, $0.store) }
        if let notifier, let before, let store {
            // What this runner's deliveries opened and resolved, stored for the runs that follow.
            let after = await notifier.openIncidents()
            do {
                try await control.call { () throws(ControlError) in
                    try store.updateIncidents(inventory: inventory, before: before, after: after)
                }
            } catch {
                logger.warning(
                    "notify incidents: cannot store the open incidents in the control database (\(error)); a later run cannot resolve the ones this runner opened automatically."
                )
            }
        }
        _ = try? await control.call { () throws(ControlError) in keeper.finishDelivery() }
    }

    /// This runner's result: its part of the run and what it learned of the whole.
    func result(_ apply: ApplyResult) -> ControlledApplyResult {
        joined.withLock { state in
            var result = ControlledApplyResult(
                apply: apply, runID: state.run?.runID ?? "", created: state.created, runner: runner)
            result.servedNothing = state.servedNothing
            result.lost = state.lost
            result.halted = state.halted
            result.served = state.served
            result.stoppedByControl = (state.keeper?.stopRequested ?? false) || state.stopSeen
            return result
        }
    }

    /// Closes the runner's own control session.
    func close() {
        joined.withLock { $0.store }?.close()
    }
}

extension RunnerOutcomes {
    /// The run `--run-id` names, or the open run for `key`, or a new one planned and stored here
    /// (under the key's creation lock, so runners starting together plan it once); `created`:
    /// this runner stored it.
    fileprivate func joinOrCreate(
        key: String, scripts: [String: String], listed: Inventory, plan: Plan, selection: TargetSelection,
        desired: DesiredVersion, desiredText: String?, strategy: Strategy, startedAt: Date, store: ControlStore,
        runID: String
    ) async throws(ControlError) -> (ControlRun, created: Bool, inventory: Inventory, planned: [TargetPlan]?) {
        if let joining = request.joinRunID {
            guard let found = try await control.call({ () throws(ControlError) in try store.run(joining) }) else {
                throw .unknownRun(joining)
            }
            guard found.key == key else {
                throw .runMismatch(
                    runID: joining,
                    what:
                        "\(found.inventory) (plan \(found.plan), \(found.selection), --to \(found.desiredVersion ?? "latest"))"
                )
            }
            return (found, false, try await fleet(of: found, listed: listed, store: store), nil)
        }
        try await control.call { () throws(ControlError) in try store.lockCreation(key: key) }
        do throws(ControlError) {
            let result: (ControlRun, created: Bool, inventory: Inventory, planned: [TargetPlan]?)
            if let open = try await control.call({ () throws(ControlError) in try store.openRun(key: key) }) {
                result = (open, false, try await fleet(of: open, listed: listed, store: store), nil)
            } else {
                let inventory = try await discover(listed)
                let selected: [Target]
                do {
                    selected = try selection.select(from: inventory)
                } catch {
                    throw .fleet(error)
                }
                let (run, rollout) = try await create(
                    key: key, scripts: scripts, inventory: inventory,
                    fleet: StoredFleet(resolved: inventory, listed: listed),
                    plan: plan, selected: selected, selection: selection, desired: desired,
                    desiredText: desiredText, strategy: strategy, startedAt: startedAt, store: store)
                let created = run.runID == runID
                result =
                    created
                    ? (run, true, inventory, rollout.targets)
                    : (run, false, try await fleet(of: run, listed: listed, store: store), nil)
            }
            try await control.call { () throws(ControlError) in try store.unlockCreation(key: key) }
            return result
        } catch {
            _ = try? await control.call { () throws(ControlError) in try store.unlockCreation(key: key) }
            throw error
        }
    }

    /// The inventory's `discover:` sources read (every source, or exit 2 before anything runs).
    private func discover(_ listed: Inventory) async throws(ControlError) -> Inventory {
        do {
            return try await TargetDiscovery(registry: registry, logger: logger, environment: request.apply.environment)
                .resolve(listed)
        } catch {
            throw .fleet(error)
        }
    }

    /// The fleet a joining runner works on: the one the run's creator stored, or, for a run
    /// stored without one (an inventory without sources, or a Tidemark before control schema
    /// version 6), the sources read again here.
    private func fleet(of run: ControlRun, listed: Inventory, store: ControlStore) async throws(ControlError)
        -> Inventory
    {
        let runID = run.runID
        if let stored = try await control.call({ () throws(ControlError) in try store.storedFleet(runID) }) {
            return stored.applied(to: listed)
        }
        return try await discover(listed)
    }

    /// Reads the selected targets, plans them and stores the run (under the key's creation lock).
    fileprivate func create(
        key: String, scripts: [String: String], inventory: Inventory, fleet: StoredFleet?, plan: Plan,
        selected: [Target], selection: TargetSelection,
        desired: DesiredVersion, desiredText: String?, strategy: Strategy, startedAt: Date, store: ControlStore
    ) async throws(ControlError) -> (ControlRun, Rollout) {
        let snapshot = await FleetSnapshot.read(
            inventory: inventory, plan: plan, targets: selected, registry: registry, logger: logger)
        // A target this runner cannot reach is planned from an empty state and marked: whoever
        // claims it reads its real state first and plans it again (as a takeover does).
        var states = snapshot.states
        for name in snapshot.unreachable.keys { states[name] = .empty }
        let unread = Set(snapshot.unreachable.keys)
        let rollout = Planner(inventory: inventory, plan: plan).plan(
            states: states,
            options: PlannerOptions(desiredVersion: desired, strategy: strategy, targets: Set(selected.map(\.name))))
        let fresh = ControlRun(
            runID: request.apply.runID, key: key, inventory: inventory.name, plan: plan.name,
            selection: RunKey.describe(selection),
            desiredVersion: rollout.desiredVersion?.text ?? desiredText, strategy: strategy, scripts: scripts,
            createdBy: request.apply.appliedBy)
        let planned = Event.tally(rollout.targets.map { ($0.environment, $0.action.rawValue) })
        let override = request.apply.windowOverride.map { reason in
            WindowOverride(
                reason: reason, by: request.apply.appliedBy,
                environments: WindowRule.closedEnvironments(
                    of: rollout, inventory: inventory, at: request.apply.clock()))
        }
        var started = Event(
            kind: .runStarted, runID: fresh.runID, inventory: inventory.name, toVersion: fresh.desiredVersion,
            at: startedAt,
            startedAt: startedAt, counts: planned.counts, environmentCounts: planned.environments)
        // As a local run's `run.started` says it (docs/windows.md): who overrode which windows, and why.
        if let override, !override.environments.isEmpty {
            started.reason = "\(override.historyNote) in \(override.environments.joined(separator: ", "))"
        }
        let run = try await control.call { [started] () throws(ControlError) in
            try store.create(
                fresh, rollout: rollout, inventory: inventory, unread: unread, startedEvent: started, fleet: fleet)
        }
        // docs/windows.md#shared-runs: stored before the creation lock is released, so every runner sees it.
        if let override, run.runID == fresh.runID {
            let runID = run.runID
            try await control.call { () throws(ControlError) in try store.setWindowOverride(runID, override) }
        }
        return (run, rollout)
    }
}

/// Blocking control-database calls on the runner's own serial queue, never on the Swift
/// concurrency pool (ARCHITECTURE.md#concurrency). Thread-safe.
struct ControlCalls: Sendable {
    let pool: DispatchWorkers

    func call<T: Sendable>(_ body: @escaping @Sendable () throws(ControlError) -> T) async throws(ControlError) -> T {
        let result: Result<T, ControlError> = await pool.run {
            do throws(ControlError) { return .success(try body()) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// The runner's observer, with each `step.progress` of its targets also posted to its sinks
/// (rate-limited by `RunNotifications`, never stored with the run's events).
struct ProgressPosting: ApplyObserver {
    let inner: any ApplyObserver
    let notifications: RunNotifications

    init(_ inner: any ApplyObserver, to notifications: RunNotifications) {
        self.inner = inner
        self.notifications = notifications
    }

    func planned(_ rollout: Rollout, unreachable: [String: BackendError], policy: WavePolicy) {
        inner.planned(rollout, unreachable: unreachable, policy: policy)
    }
    func executionStarted(writes: Int) { inner.executionStarted(writes: writes) }
    func handle(_ event: RunEvent) {
        if case .stepProgress(let progress) = event { notifications.stepProgress(progress) }
        inner.handle(event)
    }
    func interrupted(_ message: String) { inner.interrupted(message) }
    func finished(_ result: ApplyResult) { inner.finished(result) }
}
