import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkNotify
import TidemarkObserve
import TidemarkPlanner

/// What the inputs stage found: the rollout and the part of it this process runs. Thread-safe value.
package struct PreparedRun: Sendable {
    package var runID: String
    package var inventory: Inventory
    package var plan: Plan
    package var rollout: Rollout
    /// The rule each wave follows (for a shared run, the one it was opened with).
    package var policy: WavePolicy
    /// The targets this process may write: the rollout's, or those a runner serves.
    package var writes: [TargetPlan]
    /// Targets whose state could not be read (failed outcomes in the report).
    package var unreachable: [String: BackendError] = [:]
    package var unreachableOutcomes: [TargetOutcome] = []
    /// False: nothing is executed (a dry run, an empty partition, a runner serving nothing): no
    /// confirmation, no report, no notification.
    package var executes = true
    /// Where the report goes when the request names no `--report`.
    package var reportPath: String
    /// Whether the run's spans go to an OTLP collector when `OTEL_*` asks for it.
    package var traces = true
    /// The runner id of a shared run's runner, recorded in its report (nil: a local run).
    package var runner: String?
    /// `--override-window`: what it overrode, recorded in the report (nil: nothing).
    package var windowOverride: WindowOverride?
    /// The inventory's targets by name, when built already.
    package var fleet: FleetIndex

    package init(
        runID: String, inventory: Inventory, plan: Plan, rollout: Rollout, policy: WavePolicy, writes: [TargetPlan],
        reportPath: String
    ) {
        self.runID = runID
        self.inventory = inventory
        self.plan = plan
        self.rollout = rollout
        self.policy = policy
        self.writes = writes
        self.reportPath = reportPath
        self.fleet = FleetIndex(inventory)
    }
}

/// Where a run's events go while it runs, delivered or kept in the outbox at the end.
package protocol RunSinks: Sendable {
    func handle(_ event: RunEvent)
    /// Delivers what is queued (what cannot be delivered waits in the outbox).
    func finish(_ outcomes: [TargetOutcome]) async
}

extension RunNotifications: RunSinks {}

/// How a run's outcomes are produced: the local executor (`LocalOutcomes`), or a runner loop
/// through a control database (TidemarkControl). Everything else of a run is `RunSession`'s.
package protocol OutcomeSource: Sendable {
    associatedtype Failure: Error
    /// The errors of the shared stages (confirmation, drift gate) as this source's.
    static func failure(_ error: FleetError) -> Failure
    /// Inputs: the rollout, read and planned (or a shared run joined), and what this process runs.
    func prepare(_ request: ApplyRequest, startedAt: Date) async throws(Failure) -> PreparedRun
    /// Sinks: where events go while the run runs.
    func sinks(for prepared: PreparedRun, request: ApplyRequest, startedAt: Date, traceID: String?)
        async throws(Failure) -> any RunSinks
    /// Outcomes: runs the prepared rollout (or this runner's part of it).
    func outcomes(
        of prepared: PreparedRun, request: ApplyRequest, driftGate: DriftGate?, sinks: any RunSinks,
        observer: any ApplyObserver
    ) async -> [TargetOutcome]
    /// Whether the run ended because it was asked to stop (its report says `interrupted`).
    func interrupted(_ request: ApplyRequest) -> Bool
}

/// The apply use case, its stages named in one place:
///
/// 1. **prepare**: inputs (`OutcomeSource.prepare`), the prod confirmation, the drift gate, the
///    sinks (notifications), the signals;
/// 2. **outcomes**: the local executor or a runner loop (`OutcomeSource.outcomes`);
/// 3. **finish**: the report, the page and metrics, the summary, then the trace export and the
///    outbox flush side by side.
///
/// Local and shared runs differ only in their `OutcomeSource`. Nothing is written before the
/// confirmation. Thread-safe value.
package struct RunSession: Sendable {
    package var registry: BackendRegistry
    package var logger: Logger

    package init(registry: BackendRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    package func run<Source: OutcomeSource>(
        _ request: ApplyRequest, source: Source, observer: some ApplyObserver = SilentApplyObserver()
    ) async throws(Source.Failure) -> ApplyResult {
        let startedAt = Date()
        // 1. Prepare.
        let prepared = try await source.prepare(request, startedAt: startedAt)
        observer.planned(prepared.rollout, unreachable: prepared.unreachable, policy: prepared.policy)
        var result = ApplyResult(rollout: prepared.rollout, unreachable: prepared.unreachable)
        guard prepared.executes else { return result }
        let gate: DriftGate?
        do {
            try Self.confirm(prepared.writes, inventory: prepared.inventory, with: request.confirmation)
            gate = try Self.driftGate(
                for: prepared.writes, inventory: prepared.inventory, plan: prepared.plan, override: request.drift,
                fleet: prepared.fleet)
        } catch {
            throw Source.failure(error)
        }
        let tracing = prepared.traces ? traceSettings(request.environment) : nil
        let traceID = tracing.map { _ in Span.newTraceID() }
        let sinks = try await source.sinks(for: prepared, request: request, startedAt: startedAt, traceID: traceID)
        let signals = request.trapsSignals ? SignalTrap(control: request.control, onSignal: observer.interrupted) : nil

        // 2. Outcomes.
        observer.executionStarted(writes: prepared.writes.count)
        let produced = await source.outcomes(
            of: prepared, request: request, driftGate: gate, sinks: sinks, observer: observer)
        signals?.release()

        // 3. Finish.
        var report = RunReport(
            runID: prepared.runID, inventory: prepared.inventory.name, plan: prepared.plan.name,
            desiredVersion: prepared.rollout.desiredVersion?.text, strategy: prepared.rollout.strategy,
            appliedBy: request.appliedBy,
            dryRun: false, startedAt: startedAt, finishedAt: Date(), interrupted: source.interrupted(request),
            targets: Self.inInventoryOrder(produced + prepared.unreachableOutcomes, inventory: prepared.inventory))
        report.traceID = traceID
        report.lockAcknowledgements = request.lockAcknowledgements.isEmpty ? nil : request.lockAcknowledgements
        report.runner = prepared.runner
        report.windowOverride = prepared.windowOverride
        let approvals = request.approvals.all
        report.approvals = approvals.isEmpty ? nil : approvals
        result.report = report
        let reportPath = request.reportPath ?? prepared.reportPath
        do {
            try request.stateDirectory.prepare()
            try report.write(to: URL(fileURLWithPath: reportPath))
            result.reportPath = reportPath
        } catch {
            result.reportWriteError = "cannot write the run report to \(reportPath): \(error.localizedDescription)"
        }
        Self.writeObservations(
            of: report, rollout: prepared.rollout, metricsPath: request.metricsPath, reportPath: reportPath,
            into: &result)
        observer.finished(result)
        // Both bounded by their own deadlines, side by side; neither changes how the run ended.
        async let exported = exportTrace(of: report, settings: tracing, traceID: traceID)
        await sinks.finish(report.targets)
        result.traceExport = await exported
        return result
    }

    /// Traces go out after the run, under their own deadline; bad OTEL_* settings only cost the traces.
    private func traceSettings(_ environment: [String: String]) -> TraceSettings? {
        do {
            return try TraceSettings(environment: environment)
        } catch {
            logger.warning("\(error)")
            return nil
        }
    }

    /// The run's spans to the OTLP collector, when `OTEL_EXPORTER_OTLP_*ENDPOINT` is set.
    private func exportTrace(of report: RunReport, settings: TraceSettings?, traceID: String?) async -> TraceExporter
        .Result?
    {
        guard let settings, let traceID else { return nil }
        return await TraceExporter(settings: settings, logger: logger).export(RunTrace.spans(report, traceID: traceID))
    }

    /// In the inventory's order: a target that could not be read stands in its wave, where the
    /// report's readers (the run page's grid, the metrics) look for it.
    static func inInventoryOrder(_ outcomes: [TargetOutcome], inventory: Inventory) -> [TargetOutcome] {
        let position = Dictionary(
            inventory.waves.flatMap(\.targets).enumerated().map { ($1.name, $0) },
            uniquingKeysWith: { first, _ in first })
        return outcomes.enumerated().sorted { left, right in
            (position[left.element.target] ?? Int.max, left.offset) < (
                position[right.element.target] ?? Int.max, right.offset
            )
        }.map(\.element)
    }

    /// The HTML page beside the report and, with `--metrics-file`, the metrics. A file that
    /// cannot be written is said in the result; it never changes how the run ended.
    static func writeObservations(
        of report: RunReport, rollout: Rollout, metricsPath: String?, reportPath: String, into result: inout ApplyResult
    ) {
        let pageURL = StateDirectory.page(besideReport: reportPath)
        do {
            try RunPageFile.write(report, to: pageURL)
            result.pagePath = pageURL.path
        } catch {
            result.observationErrors.append(
                "cannot write the run page to \(pageURL.path): \(error.localizedDescription)")
        }
        if let metricsPath {
            do {
                try MetricsFile.write(
                    RunMetrics.document(report: report, rollout: rollout), inventory: report.inventory, to: metricsPath)
                result.metricsPath = metricsPath
            } catch {
                result.observationErrors.append(
                    "cannot write the metrics to \(metricsPath): \(error.localizedDescription)")
            }
        }
    }

    /// The drift gate when any target to be written has `drift: warn|block`; its fingerprints
    /// must be recorded (else the fix is named and nothing runs).
    static func driftGate(
        for writes: [TargetPlan], inventory: Inventory, plan: Plan, override: DriftPolicy?, fleet: FleetIndex
    ) throws(FleetError) -> DriftGate? {
        let policy: @Sendable (Target) -> DriftPolicy = { target in override ?? inventory.driftPolicy(for: target) }
        let gated = writes.contains { planned in fleet.targets[planned.target].map(policy) ?? .off != .off }
        guard gated else { return nil }
        let file = try FleetInputs.fingerprints(of: plan)
        return DriftGate(
            policy: policy, recorded: { version, backend in file.fingerprint(of: version, backend: backend) })
    }

    /// Prod writes need `--yes`, or a person who confirms (docs/guide.md#commands).
    static func confirm(
        _ writes: [TargetPlan], inventory: Inventory, with confirmation: ApplyRequest.ProductionConfirmation
    ) throws(FleetError) {
        let prod = writes.filter { $0.tier == .prod }.map(\.target)
        guard !prod.isEmpty else { return }
        switch confirmation {
        case .given: return
        case .unavailable: throw .confirmationRequired(prodTargets: prod)
        case .ask(let ask): if !ask(prod, inventory) { throw .notConfirmed }
        }
    }
}
