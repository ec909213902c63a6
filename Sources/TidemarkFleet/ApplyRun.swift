import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkNotify
import TidemarkObserve
import TidemarkPlanner

/// What to apply and how: the inputs of the run use case. Thread-safe value.
package struct ApplyRequest: Sendable {
    /// Plan from the targets' live state, or execute a rollout saved by `plan --out`.
    package enum Source: Sendable, Hashable {
        /// The inventory file; the selection, version and strategy say what to plan.
        case inventory(
            String, selection: TargetSelection = .all, desiredVersion: String? = nil, strategy: Strategy = .auto)
        /// A saved rollout, and the inventory to use when the file does not name one.
        case savedRollout(path: String, inventory: String? = nil)
    }

    /// How writes to `prod` targets are confirmed (docs/guide.md#commands).
    package enum ProductionConfirmation: Sendable {
        /// `--yes`.
        case given
        /// Ask a person; the closure returns whether they confirmed (typed the inventory's name).
        case ask(@Sendable (_ prodTargets: [String], _ inventory: Inventory) -> Bool)
        /// Nobody to ask (standard input is not a terminal): refuse.
        case unavailable
    }

    package var source: Source
    package var confirmation: ProductionConfirmation
    /// Plan and show, change nothing (no run lock, no report).
    package var dryRun = false
    /// The fleet-wide worker limit; nil: the inventory's `concurrency`.
    package var concurrency: Int?
    /// `--no-backup`: `.disabled`.
    package var backups = BackupPolicy()
    /// `--drift warn|block|off`: overrides every environment's `drift:`; nil: the inventory decides.
    package var drift: DriftPolicy?
    /// `--verify`: run each version's verify script (Sqitch's `verify/`) after its forward step.
    package var verify = false
    /// `--lock-ok VERSION --reason TEXT`…: lock risks acknowledged for this run
    /// (docs/live-production.md#acknowledging-a-lock-risk); each version must be the plan's.
    package var lockAcknowledgements: [LockAcknowledgement] = []
    /// `--override-window REASON`: write even outside change windows and in freezes, recording
    /// who and why (docs/windows.md); nil: windows and freezes defer.
    package var windowOverride: String?
    /// `--approve ENV`…: waves of these environments (`approval: required`) are approved before
    /// the run, in the invoking user's name (docs/on-call.md#approvals).
    package var approve: Set<String> = []
    /// Asks a person at the boundary of a wave that waits for approval; nil: nobody to ask (not
    /// on a terminal), so such a wave is deferred unless `approve` names it.
    package var askApproval: (@Sendable (ApprovalGate.Question) -> ApprovalGate.Answer?)?
    /// The decisions on waves that wait for approval, made or found while the run runs (the report's).
    package var approvals = ApprovalLedger()
    /// The clock windows are weighed against (`RunClock`).
    package var clock: @Sendable () -> Date = { Date() }
    /// Where the report goes; nil: `<state>/runs/<run-id>.json`. Its HTML page goes beside it.
    package var reportPath: String?
    /// `--metrics-file`: where the run's Prometheus metrics go at the end (nil: nowhere).
    package var metricsPath: String?
    /// Where runs, the outbox and backups live (`.tidemark` in the working directory).
    package var stateDirectory = StateDirectory()
    /// Stops the run from outside; the caller may hold it to ask for a stop.
    package var control = RunControl()
    /// SIGINT and SIGTERM during execution stop the run gently (the first) or cancel running
    /// statements (the second) instead of ending the process (docs/running.md#interrupts).
    package var trapsSignals = false
    package var runID: String
    /// `user@host`, recorded in every history row.
    package var appliedBy: String
    /// Where notification URLs, secrets and `TIDEMARK_NOTIFY_*` settings are looked up.
    package var environment: [String: String]

    package init(
        source: Source, confirmation: ProductionConfirmation, runID: String = RunIdentity.makeRunID(),
        appliedBy: String = RunIdentity.currentOperator(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.source = source
        self.confirmation = confirmation
        self.runID = runID
        self.appliedBy = appliedBy
        self.environment = environment
    }
}

/// What a run tells its caller while it runs: a command prints it, a test records it. Every
/// method has a default that does nothing. Called from worker threads: thread-safe.
package protocol ApplyObserver: Sendable {
    /// The rollout is known (before any confirmation); `unreachable` could not be read; `policy`
    /// says what a failure in each wave stops.
    func planned(_ rollout: Rollout, unreachable: [String: BackendError], policy: WavePolicy)
    /// Execution begins: `writes` targets will be written.
    func executionStarted(writes: Int)
    /// What the executor reports: waves, targets starting and finishing.
    func handle(_ event: RunEvent)
    /// SIGINT or SIGTERM arrived during execution; `message` says what happens now.
    func interrupted(_ message: String)
    /// Execution ended; the report is written, notifications are still being delivered.
    func finished(_ result: ApplyResult)
}

extension ApplyObserver {
    package func planned(_ rollout: Rollout, unreachable: [String: BackendError], policy: WavePolicy) {}
    package func executionStarted(writes: Int) {}
    package func handle(_ event: RunEvent) {}
    package func interrupted(_ message: String) {}
    package func finished(_ result: ApplyResult) {}
}

/// An observer that ignores everything.
package struct SilentApplyObserver: ApplyObserver {
    package init() {}
}

/// What a run did. Thread-safe value.
package struct ApplyResult: Sendable {
    package var rollout: Rollout
    /// Targets whose state could not be read (they are `failed` outcomes in the report).
    package var unreachable: [String: BackendError]
    /// Nil for a dry run.
    package var report: RunReport?
    /// Where the report was written, or why it could not be.
    package var reportPath: String?
    package var reportWriteError: String?
    /// Where the HTML page and the metrics were written; what could not be (never a failed run).
    package var pagePath: String?
    package var metricsPath: String?
    package var observationErrors: [String] = []
    /// How the trace export went (nil: no OTLP endpoint set). Known only once `run` returns.
    package var traceExport: TraceExporter.Result?
    package init(rollout: Rollout, unreachable: [String: BackendError] = [:]) {
        self.rollout = rollout
        self.unreachable = unreachable
    }

    /// The targets the rollout writes (forward, rollback, rollforward).
    package var writes: [TargetPlan] { rollout.targets.filter(\.action.writes) }

    /// How the run ended, for the exit code (a dry run: succeeded).
    package var status: RunStatus { report?.status ?? .succeeded }
}

/// Runs a rollout in this process: the `tidemark apply` use case without a control database.
///
/// One apply per inventory per machine (the run lock, not for a dry run); the rollout planned
/// from the targets' live state, or a saved rollout checked against it; then `RunSession`'s
/// stages with the local executor producing the outcomes. Thread-safe value.
package struct ApplyRun: Sendable {
    package var registry: BackendRegistry
    package var logger: Logger

    package init(registry: BackendRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Runs `request`; input problems, a held run lock and a refused confirmation throw before
    /// anything is written. Everything after that ends in the returned result.
    package func run(_ request: ApplyRequest, observer: some ApplyObserver = SilentApplyObserver())
        async throws(FleetError) -> ApplyResult
    {
        let source = try ResolvedSource(request.source)
        let runLock = request.dryRun ? nil : try takeRunLock(source: source, request: request)
        defer { withExtendedLifetime(runLock) {} }
        return try await RunSession(registry: registry, logger: logger)
            .run(request, source: LocalOutcomes(source: source, registry: registry, logger: logger), observer: observer)
    }

    private func takeRunLock(source: ResolvedSource, request: ApplyRequest) throws(FleetError) -> RunLock {
        let inventoryFile = source.inventoryFile
        do {
            return try RunLock.acquire(
                inventoryFile: inventoryFile, scope: source.lockScope, runID: request.runID,
                appliedBy: request.appliedBy)
        } catch let held as RunLock.Held {
            throw .runLockHeld(held)
        } catch {
            throw .runLockUnavailable(inventory: inventoryFile, message: "\(error)")
        }
    }
}

/// The request's source with a saved rollout read, and the inventory it is about.
enum ResolvedSource: Sendable {
    case fresh(inventoryFile: String, TargetSelection, desiredVersion: String?, Strategy)
    case saved(path: String, Rollout, inventoryFile: String)

    init(_ source: ApplyRequest.Source) throws(FleetError) {
        switch source {
        case .inventory(let path, let selection, let desiredVersion, let strategy):
            self = .fresh(inventoryFile: path, selection, desiredVersion: desiredVersion, strategy)
        case .savedRollout(let path, let inventory):
            let rollout: Rollout
            do { rollout = try RolloutFile.read(at: path) } catch { throw .rolloutFile(error) }
            guard let inventoryFile = inventory ?? rollout.inventoryFile else {
                throw .rolloutFile(.noInventory(path: path))
            }
            self = .saved(path: path, rollout, inventoryFile: inventoryFile)
        }
    }

    var inventoryFile: String {
        switch self {
        case .fresh(let inventoryFile, _, _, _), .saved(_, _, let inventoryFile): return inventoryFile
        }
    }

    /// What part of the inventory the run lock covers: one partition, or all of it.
    var lockScope: String? {
        switch self {
        case .fresh(_, let selection, _, _): return selection.partition.map { "partition \($0)" }
        case .saved: return nil
        }
    }
}

/// The local executor as a run's source of outcomes: reads and plans the fleet (or checks a
/// saved rollout against it), then runs the waves on this process's workers. Thread-safe value.
struct LocalOutcomes: OutcomeSource {
    let source: ResolvedSource
    let registry: BackendRegistry
    let logger: Logger

    static func failure(_ error: FleetError) -> FleetError { error }

    func prepare(_ request: ApplyRequest, startedAt: Date) async throws(FleetError) -> PreparedRun {
        var rollout: Rollout
        var snapshot: FleetSnapshot
        switch source {
        case .fresh(let inventoryFile, let selection, let desiredVersion, let strategy):
            snapshot = try await FleetSnapshot.load(
                inventoryFile: inventoryFile, selection: selection, registry: registry, logger: logger)
            snapshot.plan = try FleetInputs.acknowledging(request.lockAcknowledgements, in: snapshot.plan)
            rollout = try snapshot.rollout(to: desiredVersion, strategy: strategy)
        case .saved(let path, let saved, let inventoryFile):
            snapshot = try await FleetSnapshot.load(
                inventoryFile: inventoryFile, selection: TargetSelection(targets: saved.targets.map(\.target)),
                registry: registry,
                logger: logger)
            let changes = saved.targets.compactMap { planned -> String? in
                guard let state = snapshot.states[planned.target] else { return "\(planned.target): unreachable" }
                return planned.staleness(found: state)?.description
            }
            guard changes.isEmpty else { throw .staleRollout(path: path, changes: changes) }
            rollout = saved.versions(readAs: snapshot.plan.versionStyle)
        }
        if let unknown = request.approve.sorted().first(where: { name in
            !snapshot.inventory.environments.contains { $0.name == name }
        }) {
            throw .unknownEnvironment(
                unknown, inventory: source.inventoryFile, known: snapshot.inventory.environments.map(\.name))
        }
        // Planned: the states are not needed again (at 100,000 targets they are 50 MB), and each
        // target's runner reads its state again under the target's lock.
        snapshot.states = [:]
        // docs/windows.md: waves outside their windows are deferred, unless overridden (recorded).
        let now = request.clock()
        var windowOverride: WindowOverride?
        if let reason = request.windowOverride {
            let closed = WindowRule.closedEnvironments(of: rollout, inventory: snapshot.inventory, at: now)
            if !closed.isEmpty {
                windowOverride = WindowOverride(reason: reason, by: request.appliedBy, environments: closed)
            }
            rollout = WindowRule.cleared(rollout)
        } else {
            rollout = WindowRule.applied(to: rollout, inventory: snapshot.inventory, at: now)
        }
        var prepared = PreparedRun(
            runID: request.runID, inventory: snapshot.inventory, plan: snapshot.plan, rollout: rollout,
            policy: WavePolicy(inventory: snapshot.inventory),
            writes: rollout.waves.filter { $0.deferral == nil }.flatMap(\.targets).filter(\.action.writes),
            reportPath: request.stateDirectory.report(runID: request.runID).path)
        prepared.windowOverride = windowOverride
        prepared.unreachable = snapshot.unreachable
        prepared.unreachableOutcomes = snapshot.unreachableOutcomes
        // A partition that holds no target: no run, no report, no notification.
        prepared.executes = !(request.dryRun || (rollout.targets.isEmpty && snapshot.unreachable.isEmpty))
        return prepared
    }

    func sinks(for prepared: PreparedRun, request: ApplyRequest, startedAt: Date, traceID: String?)
        async throws(FleetError) -> any RunSinks
    {
        do {
            return try await RunNotifications.start(
                inventory: prepared.inventory, rollout: prepared.rollout, runID: request.runID, startedAt: startedAt,
                environment: request.environment, outbox: request.stateDirectory.outbox, logger: logger,
                traceID: traceID,
                note: prepared.windowOverride.map { "\($0.historyNote) in \($0.environments.joined(separator: ", "))" })
        } catch {
            throw .notifySettings(error.description)
        }
    }

    func outcomes(
        of prepared: PreparedRun, request: ApplyRequest, driftGate: DriftGate?, sinks: any RunSinks,
        observer: any ApplyObserver
    ) async -> [TargetOutcome] {
        var executor = RolloutExecutor(
            inventory: prepared.inventory, plan: prepared.plan, registry: registry, runID: request.runID,
            appliedBy: request.appliedBy,
            logger: logger, control: request.control, concurrency: request.concurrency)
        executor.backups = request.backups
        executor.verify = request.verify
        executor.driftGate = driftGate
        executor.windowClock = request.windowOverride == nil ? request.clock : nil
        executor.windowOverride = prepared.windowOverride
        executor.approvals = ApprovalGate(
            approved: request.approve, osUser: RunIdentity.osUser() ?? "uid \(geteuid())", ask: request.askApproval,
            ledger: request.approvals)
        return await executor.execute(
            prepared.rollout,
            onEvent: { event in
                observer.handle(event)
                sinks.handle(event)
            })
    }

    func interrupted(_ request: ApplyRequest) -> Bool { request.control.isStopRequested }
}

extension Action {
    /// Whether a target with this action is written to.
    package var writes: Bool { self == .forward || self == .rollback || self == .rollforward }
}
