import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkPlanner
import TidemarkSQLCheck

/// What `tidemark repair` is asked to do. Thread-safe value.
package struct RepairRequest: Sendable {
    /// Diagnose only, record what the schema proves, or record a human's decision.
    package enum Mode: Sendable, Hashable {
        /// No `--auto`, no `--mark-failed-step`: change nothing.
        case diagnose
        /// `--auto`: record `rolled-back` or `resolved` only where the fingerprint proves it.
        case auto
        /// `--mark-failed-step resolved|rolled-back`.
        case mark(RepairResolution)

        package var writes: Bool { self != .diagnose }
    }

    package var inventoryFile: String
    /// `--target` and `--env`; none: every dirty target of the inventory.
    package var selection: TargetSelection
    package var mode: Mode
    package var confirmation: ApplyRequest.ProductionConfirmation
    package var runID: String
    /// `user@host`, recorded in the repair row.
    package var appliedBy: String
    /// How long to wait for a target's lock before reporting it as held.
    package var lockWait: Duration = .seconds(1)

    package init(
        inventoryFile: String, selection: TargetSelection = .all, mode: Mode,
        confirmation: ApplyRequest.ProductionConfirmation,
        runID: String = RunIdentity.makeRunID(), appliedBy: String = RunIdentity.currentOperator()
    ) {
        self.inventoryFile = inventoryFile
        self.selection = selection
        self.mode = mode
        self.confirmation = confirmation
        self.runID = runID
        self.appliedBy = appliedBy
    }
}

/// One dirty target: its failed step, what its schema says, and what repair did. Thread-safe value.
package struct DirtyTarget: Sendable, Hashable, Encodable {
    /// What repair did to the target.
    package enum Outcome: String, Sendable, Hashable, Codable {
        /// Diagnosed; nothing recorded (no `--auto`, `--mark-failed-step`).
        case diagnosed
        /// A `repair` row was recorded; the target is no longer dirty.
        case repaired
        /// `--auto` could not prove a resolution: the target stays dirty.
        case leftDirty = "left-dirty"
        /// Another run holds the target's lock: nothing was read or written.
        case locked
        /// The target could not be read or the row could not be written.
        case failed
    }

    package var target: String
    package var environment: String
    package var tier: String
    /// The failed step: its version, kind, history row and error (which says where it stopped).
    package var version: String
    package var kind: StepKind
    package var historyRow: Int64
    package var error: String?
    package var failedAt: Date
    package var diagnosis: DirtyDiagnosis
    /// MySQL and MariaDB: the step's statements, each as the live schema shows it.
    package var statements: StatementDiagnosis?
    /// PostgreSQL indexes left INVALID (a failed `CREATE INDEX CONCURRENTLY`), with their DROP.
    package var invalidIndexes: [InvalidIndex]
    package var outcome: Outcome
    /// The resolution recorded, and its row.
    package var resolution: RepairResolution?
    package var repairRow: Int64?
    /// Why `--auto` left it dirty, why it failed, or that it is locked.
    package var note: String?
}

/// What `tidemark repair` found and did. Thread-safe value.
package struct RepairReport: Sendable, Encodable {
    package var schema = "tidemark.repair/v1"
    package var inventory: String
    package var plan: String
    /// `diagnose`, `auto`, `resolved` or `rolled-back`.
    package var mode: String
    /// Every selected dirty target, in inventory order.
    package var targets: [DirtyTarget]
    /// Selected targets that are not dirty (when not named one by one).
    package var clean: [String]
    /// Selected targets that could not be read: name → error.
    package var unreachable: [String: String]

    /// How the run ended, by the one precedence: failed (exit 1) before locked (4) before left
    /// dirty by `--auto` (3).
    package var status: RunStatus {
        var statuses: [RunStatus] = unreachable.isEmpty ? [] : [.failed]
        for target in targets {
            switch target.outcome {
            case .locked: statuses.append(.locked)
            case .failed: statuses.append(.failed)
            case .leftDirty: statuses.append(.blocked)
            default: continue
            }
        }
        return RunStatus.first(of: statuses)
    }
}

/// Diagnoses dirty targets from their live schema and records their resolution: the
/// `tidemark repair` use case (docs/recovery.md#when-a-target-is-dirty). Never deletes a history
/// row; only appends `repair` rows, each under the target's lock after reading its history again.
/// Thread-safe value.
package struct RepairRun: Sendable {
    package var registry: BackendRegistry
    package var logger: Logger

    package init(registry: BackendRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Runs `request`. Input problems (an unknown target, a named target that is not dirty,
    /// `--auto` without the fingerprints it needs) and a refused confirmation throw before anything
    /// is written.
    package func run(_ request: RepairRequest) async throws(FleetError) -> RepairReport {
        let inventory = try await FleetInputs.fleet(at: request.inventoryFile, registry: registry, logger: logger)
        let plan = try FleetInputs.plan(at: inventory.planDirectory)
        let targets = try request.selection.select(from: inventory)
        let fingerprints = try FleetInputs.recordedFingerprints(of: plan)
        let examiner = Examiner(
            registry: registry, logger: logger, style: plan.versionStyle, fingerprints: fingerprints,
            lockWait: request.lockWait, plan: plan)
        let workers = DispatchWorkers(count: WavePolicy.readWorkers(inventory), label: "tidemark-repair")

        // Pass 1: read and diagnose every selected target, each under its lock, writing nothing.
        let found = await workers.each(targets, inventory: inventory) { target, timeouts in
            Examined { () throws(BackendError) in
                try examiner.examine(
                    target, timeouts: timeouts, tier: inventory.environment(named: target.environment)?.tier)
            }
        }
        var report = RepairReport(
            inventory: inventory.name, plan: plan.name, mode: request.mode.name, targets: [], clean: [],
            unreachable: [:])
        for target in targets {
            switch found[target.name] {
            case .dirty(let dirty): report.targets.append(dirty)
            case .clean: report.clean.append(target.name)
            case .failed(let error): report.unreachable[target.name] = error.description
            case .none: break
            }
        }
        let notDirty = request.selection.targets.filter { report.clean.contains($0) }
        if !notDirty.isEmpty { throw .notDirty(targets: notDirty, inventory: inventory.file) }
        guard request.mode.writes else { return report }

        let toWrite = report.targets.filter { $0.outcome == .diagnosed }
        if request.mode == .auto {
            let lacking = toWrite.filter { $0.diagnosis.verdict == .unrecorded && $0.statements?.autoResolution == nil }
            if !lacking.isEmpty {
                let versions = Set(lacking.flatMap(\.diagnosis.unrecordedVersions))
                let backends = Set(lacking.compactMap { inventory.target(named: $0.target)?.backendKind })
                throw .repairNeedsFingerprints(
                    versions: versions.sorted(), backends: backends.sorted { $0.rawValue < $1.rawValue },
                    planDirectory: plan.directory)
            }
        }
        let decisions = toWrite.compactMap { dirty -> (String, RepairResolution)? in
            switch request.mode {
            case .diagnose: return nil
            case .mark(let resolution): return (dirty.target, resolution)
            case .auto:
                return (dirty.diagnosis.provenResolution ?? dirty.statements?.autoResolution).map { (dirty.target, $0) }
            }
        }
        let prod = toWrite.filter { dirty in
            dirty.tier == Tier.prod.rawValue && decisions.contains { $0.0 == dirty.target }
        }.map(\.target)
        if !prod.isEmpty {
            switch request.confirmation {
            case .given: break
            case .unavailable: throw .confirmationRequired(prodTargets: prod)
            case .ask(let ask): if !ask(prod, inventory) { throw .notConfirmed }
            }
        }

        // Pass 2: under each target's lock again, check it is still dirty at the same row (and,
        // for --auto, that the schema still proves the same), then record the repair row.
        let resolutions = Dictionary(decisions, uniquingKeysWith: { first, _ in first })
        let byName = Dictionary(toWrite.map { ($0.target, $0) }, uniquingKeysWith: { first, _ in first })
        let written = await workers.each(targets.filter { resolutions[$0.name] != nil }, inventory: inventory) {
            target, timeouts -> Examined in
            guard let resolution = resolutions[target.name], let earlier = byName[target.name] else { return .clean }
            return Examined { () throws(BackendError) in
                try examiner.record(
                    resolution, on: target, earlier: earlier, timeouts: timeouts, proven: request.mode == .auto,
                    runID: request.runID,
                    appliedBy: request.appliedBy)
            }
        }
        for index in report.targets.indices {
            let name = report.targets[index].target
            guard byName[name] != nil else { continue }
            if case .dirty(let updated) = written[name] {
                report.targets[index] = updated
            } else if case .failed(let error) = written[name] {
                report.targets[index].outcome = .failed
                report.targets[index].note = error.description
            } else if resolutions[name] == nil {
                report.targets[index].outcome = .leftDirty
                report.targets[index].note =
                    report.targets[index].statements == nil
                    ? Self.unprovenNote(report.targets[index].diagnosis)
                    : "neither fingerprints nor the step's statements prove how far it got (a statement Tidemark cannot check, or one partly there); fix it by hand, then mark it"
            }
        }
        return report
    }

    /// Why `--auto` did not record anything for a diagnosis.
    static func unprovenNote(_ diagnosis: DirtyDiagnosis) -> String {
        switch diagnosis.verdict {
        case .neither:
            return "the live schema matches neither recorded fingerprint (partly applied); fix it by hand, then mark it"
        case .indistinguishable:
            return
                "the fingerprints before and after the step are the same, so the schema cannot prove either; mark it by hand"
        case .unreadable: return "its schema could not be read"
        case .unrecorded:
            return "no recorded fingerprint for version \(diagnosis.unrecordedVersions.joined(separator: ", "))"
        case .equalsBefore, .equalsAfter: return ""
        }
    }

    /// What reading one target gave.
    enum Examined: Sendable {
        case dirty(DirtyTarget)
        case clean
        case failed(BackendError)

        /// What `body` returns, or the error it throws.
        init(_ body: () throws(BackendError) -> Examined) {
            do {
                self = try body()
            } catch {
                self = .failed(error)
            }
        }
    }
}

extension RepairRequest.Mode {
    var name: String {
        switch self {
        case .diagnose: return "diagnose"
        case .auto: return "auto"
        case .mark(let resolution): return resolution.rawValue
        }
    }
}

/// Reads one target under its lock: its history, and, when dirty, its live fingerprint held
/// against the recorded ones. Blocks: runs on a repair worker. Thread-safe value.
private struct Examiner: Sendable {
    var registry: BackendRegistry
    var logger: Logger
    var style: VersionStyle
    var fingerprints: FingerprintFile?
    var lockWait: Duration
    var plan: Plan

    /// A clean target is told apart without its lock (a running apply may hold it); a dirty
    /// one is diagnosed under the lock, so no step runs while its schema is read.
    func examine(_ target: Target, timeouts: Timeouts, tier: Tier?) throws(BackendError) -> RepairRun.Examined {
        let backend = try registry.backend(for: target)
        let seen: HistoryEntry
        do {
            // Read-only first: selecting the whole inventory must not create a database anywhere.
            let reader = try backend.connect(to: target, access: .readOnly, timeouts: timeouts, logger: logger)
            defer { reader.close() }
            guard let dirty = TargetState(history: try reader.readHistory()).dirty else { return .clean }
            seen = dirty
        } catch {
            if case .databaseNotFound = error { return .clean }
            throw error
        }
        let connection = try backend.connect(to: target, access: .readWrite, timeouts: timeouts, logger: logger)
        defer { connection.close() }
        guard try connection.tryLock(timeout: lockWait) else {
            var locked = diagnosisless(seen, target: target, tier: tier)
            locked.outcome = .locked
            locked.note = "another run holds this target's lock; it was left alone"
            return .dirty(locked)
        }
        defer { try? connection.unlock() }
        let state = TargetState(history: try connection.readHistory())
        guard let failed = state.dirty else { return .clean }
        return .dirty(diagnose(failed, state: state, on: connection, target: target, tier: tier))
    }

    /// Records `resolution` if the target is still dirty at the same row and, when `proven`, the
    /// schema still proves it.
    func record(
        _ resolution: RepairResolution, on target: Target, earlier: DirtyTarget, timeouts: Timeouts, proven: Bool,
        runID: String,
        appliedBy: String
    ) throws(BackendError) -> RepairRun.Examined {
        try withLock(target, timeouts: timeouts) { connection throws(BackendError) in
            let state = TargetState(history: try connection.readHistory())
            guard let failed = state.dirty, failed.id == earlier.historyRow else {
                var changed = earlier
                changed.outcome = .leftDirty
                changed.note = "its history changed since it was diagnosed; run repair again"
                return .dirty(changed)
            }
            var dirty = diagnose(failed, state: state, on: connection, target: target, tier: nil)
            dirty.tier = earlier.tier
            if proven && (dirty.diagnosis.provenResolution ?? dirty.statements?.autoResolution) != resolution {
                dirty.outcome = .leftDirty
                dirty.note = "its schema changed since it was diagnosed; run repair again"
                return .dirty(dirty)
            }
            if proven, dirty.diagnosis.provenResolution == nil, let statements = dirty.statements,
                !statements.nothingApplied
            {
                return .dirty(
                    finish(
                        failed, statements: statements, dirty: dirty, on: connection, runID: runID, appliedBy: appliedBy
                    ))
            }
            let why = proven ? "proven: \(Self.proof(dirty.diagnosis))" : "marked by hand"
            let row = try connection.run(
                StepRequest(
                    version: failed.version, description: resolution.rowDescription("\(why) (failed row \(failed.id))"),
                    kind: .repair,
                    scriptPath: "", sql: "", checksum: failed.checksum, transactional: true, runID: runID,
                    appliedBy: appliedBy))
            dirty.outcome = .repaired
            dirty.resolution = resolution
            dirty.repairRow = row.id
            return .dirty(dirty)
        } locked: {
            var locked = earlier
            locked.outcome = .locked
            locked.note = "another run holds this target's lock; nothing was recorded"
            return .dirty(locked)
        }
    }

    /// docs/mysql.md#a-half-applied-step: runs the statements from the failing one on, which
    /// completes the version; when the failing statement fails again and every statement before
    /// it has a known inverse, runs those inverses instead, which leaves the version not applied.
    /// Either way the row written (a forward or undo of the version) ends the dirtiness.
    private func finish(
        _ failed: HistoryEntry, statements: StatementDiagnosis, dirty: DirtyTarget,
        on connection: any BackendConnection, runID: String,
        appliedBy: String
    ) -> DirtyTarget {
        var dirty = dirty
        let remaining = statements.remaining
        let range = "\(statements.failedAt)-\(statements.statements.count)"
        do {
            let row = try connection.run(
                StepRequest(
                    version: failed.version,
                    description: StatementDiagnosis.finishDescription(from: statements.failedAt, failedRow: failed.id),
                    kind: failed.kind, scriptPath: failed.script, sql: remaining.map { $0.text + ";\n" }.joined(),
                    checksum: failed.checksum,
                    transactional: false, runID: runID, appliedBy: appliedBy))
            dirty.outcome = .repaired
            dirty.resolution = .resolved
            dirty.repairRow = row.id
            dirty.note =
                "finished the step: ran statements \(range) (the schema showed 1-\(statements.failedAt - 1) in place, the rest not)"
            return dirty
        } catch {
            // Undo only when the finish stopped at its own first statement: nothing of it took effect.
            var stoppedFirst = false
            var reason = error.description
            if case .stepFailed(_, _, _, let message, _, _) = error {
                stoppedFirst = StatementProgress(message: message)?.completed == 0
                // `stopped at statement 1 of 1, line 1: V2.sql:1: <error>` counts in the finishing script: keep the error.
                let parts = message.components(separatedBy: ": ")
                reason =
                    parts.count > 2 && message.hasPrefix("stopped at statement ")
                    ? parts.dropFirst(2).joined(separator: ": ") : message
            }
            guard stoppedFirst, let undo = statements.undo else {
                dirty.outcome = .leftDirty
                dirty.note =
                    "finishing the step (statements \(range)) failed again: \(reason); \(statements.undo == nil ? "a statement before it has no known inverse, so it was not undone" : "it stopped past its first statement"); fix it by hand, then mark it"
                return dirty
            }
            do {
                let row = try connection.run(
                    StepRequest(
                        version: failed.version,
                        description:
                            "repair: undo statements 1-\(statements.failedAt - 1) of a half-applied step (failed row \(failed.id))",
                        kind: failed.kind == .undo ? .forward : .undo, scriptPath: failed.script,
                        sql: undo.map { $0 + ";\n" }.joined(),
                        checksum: failed.checksum, transactional: false, runID: runID, appliedBy: appliedBy))
                dirty.outcome = .repaired
                dirty.resolution = .rolledBack
                dirty.repairRow = row.id
                dirty.note =
                    "statement \(statements.failedAt) failed again (\(reason)); undid statements 1-\(statements.failedAt - 1) instead: \(undo.joined(separator: "; "))"
            } catch {
                dirty.outcome = .leftDirty
                dirty.note =
                    "finishing the step failed again, and so did undoing it: \(error.description); fix it by hand, then mark it"
            }
            return dirty
        }
    }

    /// `the live schema equals version 1`.
    static func proof(_ diagnosis: DirtyDiagnosis) -> String {
        let version = diagnosis.verdict == .equalsBefore ? diagnosis.beforeVersion : diagnosis.afterVersion
        return "the live schema equals \(version.map { "version \($0)" } ?? "the empty schema")"
    }

    private func diagnose(
        _ failed: HistoryEntry, state: TargetState, on connection: any BackendConnection, target: Target, tier: Tier?
    ) -> DirtyTarget {
        let (before, after) = DirtyDiagnosis.bounds(of: failed, state: state, style: style)
        let diagnosis: DirtyDiagnosis
        var invalid: [InvalidIndex] = []
        var statements: StatementDiagnosis?
        do {
            let live = try connection.fingerprint().withoutForeignHistories
            if target.backendKind == .mysql { statements = statementDiagnosis(failed, live: live) }
            invalid = InvalidIndex.found(
                in: live, schema: target.backendKind == .postgres ? (target.schema ?? "public") : nil)
            diagnosis = DirtyDiagnosis.judge(live: live, before: before, after: after) { version in
                fingerprints?.fingerprint(of: version, backend: target.backendKind)
            }
        } catch {
            diagnosis = DirtyDiagnosis(
                verdict: .unreadable, beforeVersion: before, afterVersion: after, error: error.description)
        }
        return DirtyTarget(
            target: target.name, environment: target.environment, tier: tier?.rawValue ?? "", version: failed.version,
            kind: failed.kind,
            historyRow: failed.id, error: failed.error ?? Self.interruptedError(failed, statements: statements),
            failedAt: failed.startedAt, diagnosis: diagnosis,
            statements: statements,
            invalidIndexes: invalid, outcome: .diagnosed)
    }

    /// The failed step's statements against the live schema: its script from the plan, the
    /// failing statement from the row's `stopped at statement N of M` (a row that was finishing
    /// a step counts from where it started).
    private func statementDiagnosis(_ failed: HistoryEntry, live: SchemaFingerprint) -> StatementDiagnosis? {
        guard let version = Version(failed.version, style: style), let migration = plan.migration(version),
            let script = failed.kind == .undo ? migration.undo : migration.forward
        else { return nil }
        let offset = StatementDiagnosis.finishOffset(of: failed.description)
        if let progress = StatementProgress(message: failed.error ?? "") {
            return StatementDiagnosis(script: script.sql, failedAt: offset + progress.completed + 1, live: live)
        }
        // A run killed mid-step left no error, but the row counts the statements that completed
        // (docs/mysql.md#a-half-applied-step). The one running when it died may have completed
        // on the server after the client was gone: when the schema shows it in place and the
        // rest not, the step stopped after it.
        guard failed.finishedAt == nil, let done = failed.statementsDone,
            let diagnosis = StatementDiagnosis(script: script.sql, failedAt: offset + done + 1, live: live)
        else { return nil }
        if !diagnosis.isCleanBreak, diagnosis.failedAt < diagnosis.statements.count,
            let after = StatementDiagnosis(script: script.sql, failedAt: diagnosis.failedAt + 1, live: live),
            after.isCleanBreak
        {
            return after
        }
        return diagnosis
    }

    /// What a row left by a killed run says instead of an error: where it stopped.
    static func interruptedError(_ failed: HistoryEntry, statements: StatementDiagnosis?) -> String? {
        guard failed.error == nil, failed.finishedAt == nil, let done = failed.statementsDone else { return nil }
        let offset = StatementDiagnosis.finishOffset(of: failed.description)
        guard let statements, let running = statements.statements.first(where: { $0.number == offset + done + 1 })
        else {
            return
                "none recorded: the run died (killed, or its connection lost) after \(done) statement\(done == 1 ? "" : "s") completed"
        }
        let completed = offset + done
        return
            "none recorded: the run died (killed, or its connection lost) during statement \(running.number) of \(statements.statements.count), line \(running.line); \(completed == 0 ? "no statement had completed" : "statements 1-\(completed) had completed")"
    }

    /// A dirty target known from its history alone (its lock is held elsewhere).
    private func diagnosisless(_ failed: HistoryEntry, target: Target, tier: Tier?) -> DirtyTarget {
        DirtyTarget(
            target: target.name, environment: target.environment, tier: tier?.rawValue ?? "", version: failed.version,
            kind: failed.kind,
            historyRow: failed.id, error: failed.error, failedAt: failed.startedAt,
            diagnosis: DirtyDiagnosis(
                verdict: .unreadable, beforeVersion: nil, afterVersion: nil,
                error: "not read: the target's lock is held"),
            invalidIndexes: [], outcome: .diagnosed)
    }

    private func withLock(
        _ target: Target, timeouts: Timeouts,
        _ body: (any BackendConnection) throws(BackendError) -> RepairRun.Examined,
        locked: () -> RepairRun.Examined
    ) throws(BackendError) -> RepairRun.Examined {
        let connection = try registry.backend(for: target).connect(to: target, timeouts: timeouts, logger: logger)
        defer { connection.close() }
        guard try connection.tryLock(timeout: lockWait) else { return locked() }
        defer { try? connection.unlock() }
        return try body(connection)
    }
}
