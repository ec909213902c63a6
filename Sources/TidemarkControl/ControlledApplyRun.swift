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
public struct ControlledApplyRequest: Sendable {
    public var apply: ApplyRequest
    /// `--control URL`; nil: the inventory's `control:`.
    public var database: ControlDatabase?
    /// `--run-id ID`: join this run; nil: the open run for the same inputs, or a new one.
    public var joinRunID: String?
    /// `--serve SELECTOR`…: an environment, `tag:NAME` or a target name; empty: every target.
    public var serve: [String] = []
    /// `--lease`: how long a claim holds without renewal (renewed every third of it).
    public var lease: Duration = .seconds(30)
    /// How long a runner with nothing to claim waits before asking again.
    public var pollInterval: Duration = .milliseconds(200)

    public init(apply: ApplyRequest, database: ControlDatabase? = nil) {
        self.apply = apply
        self.database = database
    }
}

/// What one runner did in a many-runner rollout. Thread-safe value.
public struct ControlledApplyResult: Sendable {
    /// This runner's part: the targets it ran (its own report).
    public var apply: ApplyResult
    public var runID: String
    /// Whether this runner created the run (false: it joined one).
    public var created: Bool
    public var runner: String
    /// The run serves no target this runner may serve: it did nothing (exit 0).
    public var servedNothing = false
    /// The control database went away mid-run: this runner stopped claiming (exit 1).
    public var lost: ControlError?
    /// `tidemark stop` asked every runner to stop.
    public var stoppedByControl = false
    /// Why the run's later waves did not start, when some runner saw a failure.
    public var halted: String?
    /// How every target of the run that this runner serves ended, whoever ran it.
    public var served: [Outcome: Int] = [:]

    /// How this runner's part ended, for its exit code: its own report, the control database
    /// lost, and every target it serves (one skipped because a wave halted is a failure, as in
    /// one process), by the one precedence.
    public var status: RunStatus {
        if servedNothing { return .succeeded }
        return RunStatus.first(of: [apply.status, lost == nil ? .succeeded : .failed] + served.keys.map { RunStatus($0) })
    }
}

/// Runs this runner's part of a rollout coordinated through a PostgreSQL control database
/// (docs/many-runners.md#one-run-across-runners-a-control-database): the
/// `tidemark apply --control URL` use case.
///
/// The first runner plans the selected targets and stores the rollout; the others join it. Each
/// runner claims one target at a time (`FOR UPDATE SKIP LOCKED`) in the lowest wave not done
/// everywhere, the canary first; it re-reads the target's real state and re-plans it when it
/// differs from the stored plan (a dead runner's target taken over, a target changed since), and
/// the target's own advisory lock still guards every step. Outcomes, halts and events go through
/// the control database, whose clock decides every lease. Thread-safe value.
public struct ControlledApplyRun: Sendable {
    public var registry: BackendRegistry
    public var logger: Logger

    public init(registry: BackendRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Joins or creates the run and works on it until nothing this runner serves is left, the
    /// run halts or stops, or the control database is lost. Input problems (an unreachable control
    /// database, a different plan, an unknown run) throw before anything is written.
    public func run(_ request: ControlledApplyRequest, observer: some ApplyObserver = SilentApplyObserver()) async throws(ControlError) -> ControlledApplyResult {
        let startedAt = Date()
        guard case .inventory(let inventoryFile, let selection, let desiredText, let strategy) = request.apply.source else {
            throw .fleet(.rolloutFile(.unreadable(path: "", message: "a saved rollout cannot be run with --control; give -i INVENTORY")))
        }
        let inventory: Inventory
        let plan: Plan
        let selected: [Target]
        let desired: DesiredVersion
        do {
            inventory = try FleetInputs.inventory(at: inventoryFile)
            plan = try FleetInputs.plan(at: inventory.planDirectory)
            selected = try selection.select(from: inventory)
            desired = try FleetInputs.desiredVersion(desiredText, in: plan)
        } catch {
            throw .fleet(error)
        }
        guard let database = request.database ?? inventory.control else { throw .noControlDatabase }
        let appliedBy = request.apply.appliedBy
        let control = ControlCalls(pool: DispatchWorkers(count: 1, label: "tidemark-control"))
        let logger = self.logger
        let store = try await control.call { () throws(ControlError) in
            try ControlStore(database: database, appliedBy: appliedBy, logger: logger, environment: request.apply.environment)
        }
        defer { store.close() }

        // Join or create.
        let key = RunKey.digest(inventory: inventory, plan: plan, selection: selection, desired: desiredText, strategy: strategy)
        let scripts = RunKey.scripts(of: plan)
        var created = false
        var run: ControlRun
        if let runID = request.joinRunID {
            guard let found = try await control.call({ () throws(ControlError) in try store.run(runID) }) else { throw .unknownRun(runID) }
            guard found.key == key else {
                throw .runMismatch(runID: runID, what: "\(found.inventory) (plan \(found.plan), \(found.selection), --to \(found.desiredVersion ?? "latest"))")
            }
            run = found
        } else {
            try await control.call { () throws(ControlError) in try store.lockCreation(key: key) }
            do throws(ControlError) {
                if let open = try await control.call({ () throws(ControlError) in try store.openRun(key: key) }) {
                    run = open
                } else {
                    run = try await create(
                        key: key, scripts: scripts, inventory: inventory, plan: plan, selected: selected, selection: selection, desired: desired,
                        desiredText: desiredText, strategy: strategy, request: request, startedAt: startedAt, store: store, control: control)
                    created = run.runID == request.apply.runID
                }
                try await control.call { () throws(ControlError) in try store.unlockCreation(key: key) }
            } catch {
                _ = try? await control.call { () throws(ControlError) in try store.unlockCreation(key: key) }
                throw error
            }
        }
        if let script = run.firstDifferingScript(from: scripts) { throw .planDiffers(runID: run.runID, script: script) }
        let runID = run.runID

        // What this runner serves, and the run's rollout as stored.
        let stored = try await control.call { () throws(ControlError) in try store.outcomes(runID) }
        let plans = stored.compactMap(\.plan)
        let fleet = FleetIndex(inventory)
        let served = plans.filter { ServeSelector.serves(request.serve, target: fleet.targets[$0.target]) }
        let rollout = RunKey.rollout(of: plans, inventory: inventory, plan: plan, run: run)
        // The waves follow the rule the run was opened with, which an older Tidemark stored
        // without a failure budget outside prod: said once, here.
        let (policy, legacy) = try await control.call { () throws(ControlError) in try store.wavePolicy(runID) }
        if legacy {
            logger.warning(
                "run \(runID) was opened by an older Tidemark, which stored no max_failures for its non-prod waves: in this run a failure there does not stop the later waves (runs opened from now on stop at the first failure unless max_failures says otherwise)")
        }
        observer.planned(rollout, unreachable: [:], policy: policy)
        let runner = "\(appliedBy)/\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
        var result = ControlledApplyResult(apply: ApplyResult(rollout: rollout), runID: runID, created: created, runner: runner)
        guard !served.isEmpty else {
            result.servedNothing = true
            return result
        }
        do {
            try ApplyRun(registry: registry, logger: logger).confirm(
                served.filter(\.action.writes), inventory: inventory, with: request.apply.confirmation)
        } catch {
            throw .fleet(error)
        }
        let servedList: String? = served.count == plans.count ? nil : ControlStore.textArray(served.map(\.target))
        let serves = request.serve.isEmpty ? "all" : request.serve.joined(separator: ",")
        try await control.call { () throws(ControlError) in try store.join(runID, runner: runner, serves: serves, lease: request.lease) }

        // Notifications: events are stored with the outcomes; one runner at a time delivers them.
        let notifier: Notifier?
        if inventory.notify.isEmpty {
            notifier = nil
        } else {
            do {
                let made = try RunNotifications.makeNotifier(
                    for: inventory, environment: request.apply.environment, outbox: request.apply.stateDirectory.outbox, logger: logger)
                await made.start()
                notifier = made
            } catch {
                throw .fleet(.notifySettings(error.description))
            }
        }
        let runControl = request.apply.control
        let keeper = try await control.call { () throws(ControlError) in
            try LeaseKeeper(
                database: database, runID: runID, runner: runner, lease: request.lease, appliedBy: appliedBy, logger: logger,
                environment: request.apply.environment, notifier: notifier, onStop: { runControl.requestStop() })
        }
        keeper.start()
        let signals = request.apply.trapsSignals ? SignalTrap(control: runControl, onSignal: observer.interrupted) : nil

        var gateConfiguration = TargetRunner(plan: plan, runID: runID, appliedBy: appliedBy, logger: logger, backups: request.apply.backups)
        gateConfiguration.inventoryFile = inventory.file
        do {
            gateConfiguration.driftGate = try ApplyRun(registry: registry, logger: logger).driftGate(
                for: served.filter(\.action.writes), inventory: inventory, plan: plan, override: request.apply.drift, fleet: fleet)
        } catch {
            throw .fleet(error)
        }
        let targetRunner = gateConfiguration
        let concurrency = WavePolicy.workers(requested: request.apply.concurrency, inventory: inventory)
        // One control session per worker (the first is the runner's own), each on a thread of its own.
        var stores = [store]
        for _ in 1..<max(1, concurrency) {
            stores.append(
                try await control.call { () throws(ControlError) in
                    try ControlStore(database: database, appliedBy: appliedBy, logger: logger, environment: request.apply.environment)
                })
        }
        defer { for extra in stores.dropFirst() { extra.close() } }
        let workerControl = ControlCalls(pool: DispatchWorkers(count: concurrency, label: "tidemark-control-worker"))
        let worker = RunnerLoop(
            RunnerLoop.Context(
                stores: stores, control: workerControl, runID: runID, runner: runner, served: servedList, lease: request.lease,
                poll: request.pollInterval, inventory: inventory, fleet: fleet, rollout: rollout, plan: plan, desired: desired, strategy: strategy,
                limited: policy.rules.values.contains { $0.concurrency != nil }, registry: registry, logger: logger, runControl: runControl,
                keeper: keeper, targetRunner: targetRunner, pool: DispatchWorkers(count: concurrency, label: "tidemark-worker"), observer: observer))
        observer.executionStarted(writes: served.filter(\.action.writes).count)
        let outcomes = await worker.work()
        signals?.release()

        let lost = worker.lost ?? keeper.lost
        let finishedRun = run
        if lost == nil && keeper.stopRequested {
            // `tidemark stop`: what nobody runs is skipped, so the run ends for every runner.
            _ = try? await control.call { () throws(ControlError) in try store.skipRemaining(runID, reason: "the run was stopped (tidemark stop)") }
        }
        if lost == nil {
            _ = try? await control.call { () throws(ControlError) in try store.finishIfDone(finishedRun) }
            _ = try? await control.call { () throws(ControlError) in try store.leave(runID, runner: runner) }
        }
        await keeper.stop(drain: lost == nil)
        // Delivered or kept in the outbox: only then are this runner's events marked delivered.
        if let notifier { _ = await notifier.finish() }
        _ = try? await control.call { () throws(ControlError) in keeper.finishDelivery() }

        let progress = lost == nil ? try? await control.call { () throws(ControlError) in try store.progress(runID, served: servedList) } : nil
        if lost == nil, let served = try? await control.call({ () throws(ControlError) in try store.servedOutcomes(runID, served: servedList) }) {
            result.served = served
        }
        result.lost = lost
        result.halted = progress?.halted
        result.stoppedByControl = keeper.stopRequested
        var report = RunReport(
            runID: runID, inventory: inventory.name, plan: plan.name, desiredVersion: run.desiredVersion, strategy: strategy, appliedBy: appliedBy,
            dryRun: false, startedAt: startedAt, finishedAt: Date(), interrupted: runControl.isStopRequested && lost == nil, targets: outcomes)
        report.traceID = nil
        // Each runner writes its own part; `tidemark report RUN_ID --control URL` assembles the run.
        let reportPath =
            request.apply.reportPath ?? request.apply.stateDirectory.runs.appendingPathComponent("\(runID)-\(RunKey.fileSafe(runner)).json").path
        result.apply.report = report
        do {
            try request.apply.stateDirectory.prepare()
            try report.write(to: URL(fileURLWithPath: reportPath))
            result.apply.reportPath = reportPath
        } catch {
            result.apply.reportWriteError = "cannot write the run report to \(reportPath): \(error.localizedDescription)"
        }
        // This runner's page beside its report, and its metrics with --metrics-file.
        var beside = request.apply
        beside.reportPath = reportPath
        ApplyRun(registry: registry, logger: logger).writeObservations(
            of: report, rollout: rollout, request: beside, reportPath: reportPath, into: &result.apply)
        observer.finished(result.apply)
        return result
    }
}

extension ControlledApplyRun {
    /// Reads the selected targets, plans them and stores the run (under the key's creation lock).
    fileprivate func create(
        key: String, scripts: [String: String], inventory: Inventory, plan: Plan, selected: [Target], selection: TargetSelection,
        desired: DesiredVersion, desiredText: String?, strategy: Strategy, request: ControlledApplyRequest, startedAt: Date,
        store: ControlStore, control: ControlCalls
    ) async throws(ControlError) -> ControlRun {
        let snapshot = await FleetSnapshot.read(inventory: inventory, plan: plan, targets: selected, registry: registry, logger: logger)
        // A target this runner cannot reach is planned from an empty state and marked: whoever
        // claims it reads its real state first and plans it again (as a takeover does).
        var states = snapshot.states
        for name in snapshot.unreachable.keys { states[name] = .empty }
        let unread = Set(snapshot.unreachable.keys)
        let rollout = Planner(inventory: inventory, plan: plan).plan(
            states: states, options: PlannerOptions(desiredVersion: desired, strategy: strategy, targets: Set(selected.map(\.name))))
        let fresh = ControlRun(
            runID: request.apply.runID, key: key, inventory: inventory.name, plan: plan.name, selection: RunKey.describe(selection),
            desiredVersion: rollout.desiredVersion?.text ?? desiredText, strategy: strategy, scripts: scripts, createdBy: request.apply.appliedBy)
        let planned = Event.tally(rollout.targets.map { ($0.environment, $0.action.rawValue) })
        let started = Event(
            kind: .runStarted, runID: fresh.runID, inventory: inventory.name, toVersion: fresh.desiredVersion, at: startedAt,
            startedAt: startedAt, counts: planned.counts, environmentCounts: planned.environments)
        return try await control.call { () throws(ControlError) in
            try store.create(fresh, rollout: rollout, inventory: inventory, unread: unread, startedEvent: started)
        }
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
