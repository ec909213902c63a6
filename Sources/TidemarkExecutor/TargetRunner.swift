import Foundation
import Logging
import TidemarkCore

/// Carries out one target's plan: connect (retrying transient failures), lock, re-read state and
/// refuse if it changed since planning, run each step with its history row, unlock.
///
/// Runs blocking backend calls on the calling thread: call it from an executor-owned worker.
/// Thread-safe value; each `run` uses its own connection.
package struct TargetRunner: Sendable {
    package var plan: Plan
    package var runID: String
    package var appliedBy: String
    package var retry: RetryPolicy
    package var logger: Logger
    /// Where backups before data-losing steps on `prod` targets go; `.disabled` is `--no-backup`.
    package var backups: BackupPolicy
    /// The inventory file, for the `tidemark repair -i …` command a dirty failure shows.
    package var inventoryFile: String?
    /// `apply --drift`: fingerprint the target before touching it; nil: no gate.
    package var driftGate: DriftGate?
    /// `apply --verify`: after each forward or compensating step, run the version's verify
    /// script (Sqitch's `verify/`); a failing verify fails the target, the step staying committed.
    package var verify = false
    /// Added to the description of every history row this runner writes (`--override-window`).
    package var descriptionNote: String?
    /// The pauses between attempts of a step that timed out waiting for a lock (`lock_retries`).
    package var lockBackoff = Backoff(initial: .milliseconds(500), maximum: .seconds(10))

    package init(
        plan: Plan, runID: String, appliedBy: String, retry: RetryPolicy = RetryPolicy(), logger: Logger,
        backups: BackupPolicy = BackupPolicy()
    ) {
        self.plan = plan
        self.backups = backups
        self.runID = runID
        self.appliedBy = appliedBy
        self.retry = retry
        self.logger = logger
    }

    /// Runs `targetPlan` against `target`. `shouldStop` is checked before every step: a step
    /// that started is left to commit or roll back; no new one starts.
    ///
    /// A transactional step that fails only because it timed out waiting for a lock rolled back
    /// completely: it runs again, up to `lockRetries` more times, after a `lockBackoff` pause
    /// (each retry told to `onEvent`, each attempt's failure left in the history as a failed
    /// transactional row, and every row naming its `attempt`). No-transaction steps and every
    /// other error are never retried.
    package func run(
        _ targetPlan: TargetPlan, on target: Target, backend: any Backend, timeouts: Timeouts, lockRetries: Int = 0,
        shouldStop: @Sendable () -> Bool = { false }, onConnection: (any StatementCanceller) -> Void = { _ in },
        onEvent: (RunEvent) -> Void = { _ in }
    ) -> TargetOutcome {
        switch targetPlan.action {
        case .none: return TargetOutcome(plan: targetPlan, outcome: .unchanged)
        case .blocked: return TargetOutcome(plan: targetPlan, outcome: .blocked)
        case .forward, .rollback, .rollforward: break
        }
        var outcome = TargetOutcome(plan: targetPlan, outcome: .failed)
        outcome.restoreOnlySteps = targetPlan.steps.filter(\.dataLosing).map { step in
            "\(step.version) \(step.kind.rawValue) (\(step.dataLossNotes.joined(separator: "; ")))"
        }
        outcome.startedAt = Date()
        defer { outcome.finishedAt = Date() }
        var logger = self.logger
        logger[metadataKey: "target"] = "\(target.name)"

        let connection: any BackendConnection
        do {
            connection = try retry.connect(
                target: target, backend: backend, timeouts: timeouts, logger: logger, shouldStop: shouldStop)
        } catch {
            // A stop that ended the wait between connection attempts is an interruption.
            if shouldStop() { outcome.outcome = .interrupted }
            outcome.error = error.description
            return finish(outcome)
        }
        defer { connection.close() }
        onConnection(connection.canceller)
        if let created = connection.createdDatabase {
            // Said plainly: a mistyped path in the inventory lands here, and only the operator can tell.
            logger.warning("\(target.name): created new database at \(created); nothing was there before this run")
        }

        do {
            try connection.ensureHistoryTable()
            guard try connection.tryLock(timeout: timeouts.lockTimeout) else {
                outcome.outcome = .locked
                outcome.error = "\(target.name): another run holds this target's lock; it was left alone."
                return finish(outcome)
            }
            defer { try? connection.unlock() }
            let history = try connection.readHistory()
            let state = TargetState(history: history)
            if let stale = targetPlan.staleness(found: state) { throw stale }
            if let driftGate, driftGate.policy(target) != .off {
                switch try driftGate.check(connection, target: target, state: state, style: plan.versionStyle) {
                case .clean: break
                case .unrecorded(let version):
                    logger.warning(
                        "\(target.name): no fingerprint recorded for version \(version); the drift gate cannot check it (run `\(RepairHint.rehearseRecord(inventoryFile: inventoryFile, planDirectory: plan.directory))`)"
                    )
                case .drifted(let reason):
                    let sentence = ReasonText.sentence(for: reason, target: target.name, inventoryFile: inventoryFile)
                    if driftGate.policy(target) == .block {
                        outcome.outcome = .blocked
                        outcome.reason = sentence
                        outcome.blockedBy = reason
                        return finish(outcome)
                    }
                    outcome.driftWarning = sentence
                    logger.warning("\(sentence)")
                }
            }
            // Exactly the planned steps' room: at 100,000 targets doubling growth's spare room was a megabyte per thousand targets.
            outcome.steps.reserveCapacity(targetPlan.steps.count)
            for step in targetPlan.steps {
                if shouldStop() {
                    outcome.outcome = .interrupted
                    outcome.error =
                        "interrupted before version \(step.version) (\(step.kind.rawValue)); the steps before it committed."
                    return finish(outcome)
                }
                var request = try request(for: step, target: target.name)
                request.lockRetries = lockRetries
                if step.dataLosing && targetPlan.tier == .prod && outcome.backup == nil {
                    guard
                        try backUp(
                            target, before: step, backend: backend, timeouts: timeouts, into: &outcome, logger: logger,
                            onEvent: onEvent)
                    else {
                        return finish(outcome)
                    }
                }
                if let spec = request.batch {
                    let backfill = Backfill(
                        step: step, request: request, spec: spec, target: target.name, environment: target.environment,
                        history: history, lockRetries: lockRetries,
                        lockBackoff: lockBackoff, logger: logger)
                    guard try backfill.run(on: connection, into: &outcome, shouldStop: shouldStop, onEvent: onEvent)
                    else {
                        return finish(outcome)
                    }
                    outcome.toVersion = highest(outcome.toVersion, after: step)
                    try abandonTakenBack(history, by: step, on: connection, logger: logger)
                    try verifyStep(step, on: connection, into: &outcome, logger: logger)
                    continue
                }
                var lockTimeouts: [String] = []
                let startedAt = Date()
                while true {
                    let started = ContinuousClock.now
                    let attempts = lockTimeouts.isEmpty ? nil : lockTimeouts.count + 1
                    request.attempt = lockTimeouts.count + 1
                    do {
                        let entry = try connection.run(request)
                        outcome.steps.append(
                            StepResult(
                                version: step.version.text, kind: step.kind, script: step.script, success: true,
                                executionMS: entry.executionMS,
                                startedAt: startedAt, attempts: attempts,
                                lockTimeouts: lockTimeouts.isEmpty ? nil : lockTimeouts))
                        outcome.toVersion = highest(outcome.toVersion, after: step)
                        logger.info(
                            "\(step.kind.rawValue) \(step.version) ok",
                            metadata: ["ms": "\(entry.executionMS)", "attempts": "\(attempts ?? 1)"])
                        break
                    } catch {
                        if step.transactional, error.isLockTimeout, lockTimeouts.count < lockRetries, !shouldStop() {
                            lockTimeouts.append(error.description)
                            let pause = lockBackoff.delay(beforeRetry: lockTimeouts.count)
                            logger.notice(
                                "\(step.kind.rawValue) \(step.version) timed out waiting for a lock; retrying in \(pause.milliseconds) ms",
                                metadata: ["attempt": "\(lockTimeouts.count + 1)", "of": "\(lockRetries + 1)"])
                            onEvent(
                                .stepRetrying(
                                    target: target.name, version: step.version.text, kind: step.kind,
                                    attempt: lockTimeouts.count + 1,
                                    of: lockRetries + 1, delay: pause, error: error.description))
                            if RetryPolicy.wait(pause, unless: shouldStop) { continue }
                        }
                        let elapsed = (ContinuousClock.now - started).milliseconds
                        outcome.steps.append(
                            StepResult(
                                version: step.version.text, kind: step.kind, script: step.script, success: false,
                                executionMS: elapsed,
                                error: error.description, startedAt: startedAt, attempts: attempts,
                                lockTimeouts: lockTimeouts.isEmpty ? nil : lockTimeouts))
                        throw error
                    }
                }
                try abandonTakenBack(history, by: step, on: connection, logger: logger)
                // After the step's loop: a verify failure is not the step's failure (it committed).
                try verifyStep(step, on: connection, into: &outcome, logger: logger)
            }
            outcome.outcome = .succeeded
            outcome.toVersion = targetPlan.toVersion
        } catch let error as BackendError {
            outcome.error = error.description
            if case .stepFailed(_, _, _, _, _, dirty: true) = error, let inventoryFile {
                outcome.error =
                    "\(error.description) Next: \(RepairHint.sentence(inventoryFile: inventoryFile, target: target.name))."
            }
        } catch let error as ExecutionError {
            outcome.error = error.description
        } catch {
            outcome.error = "\(target.name): \(error)"
        }
        return finish(outcome)
    }

    /// After `step` succeeded: finishes as failed each unfinished batched row it took back (the
    /// undo or a compensation of a forward stopped mid-way, or the forward again after an undo
    /// stopped mid-way), its checkpoint kept and the error saying which run abandoned it, so no
    /// later apply resumes it (docs/backfills.md#going-back-below-an-unfinished-backfill). Done
    /// after the step, not before: a step that fails leaves the row unfinished, and the next plan
    /// takes it back again.
    private func abandonTakenBack(
        _ history: [HistoryEntry], by step: PlannedStep, on connection: any BackendConnection, logger: Logger
    ) throws(BackendError) {
        for row in history where row.isBackfillInProgress {
            let takenBack: Bool
            switch (row.kind, step.kind) {
            case (.forward, .undo), (.undo, .forward): takenBack = step.version.text == row.version
            case (.forward, .compensate): takenBack = step.compensates?.text == row.version
            default: takenBack = false
            }
            guard takenBack else { continue }
            let checkpoint = row.batch ?? BatchCheckpoint()
            let note =
                "\(HistoryEntry.abandonedPrefix) \(checkpoint.lastKey.map(String.init) ?? "none") (\(checkpoint.rows) rows): run \(runID) ran the \(step.kind.rawValue) step of version \(step.version) instead"
            _ = try connection.finishBatchedStep(row: row.id, success: false, executionMS: 0, error: note)
            logger.notice(
                "\(row.kind.rawValue) \(row.version): the unfinished backfill (history row \(row.id)) is \(note)")
        }
    }

    /// With `verify`, runs the verify script of a forward or compensating step that just
    /// committed. A failure is recorded on that step (which stays a success: it ran and
    /// committed, and the history says so) and thrown, failing the target at that version.
    private func verifyStep(
        _ step: PlannedStep, on connection: any BackendConnection, into outcome: inout TargetOutcome, logger: Logger
    ) throws(BackendError) {
        guard verify, step.kind == .forward || step.kind == .compensate, let migration = plan.migration(step.version),
            let request = VerifyRequest(for: migration), let index = outcome.steps.indices.last
        else { return }
        do {
            try connection.verify(request)
            outcome.steps[index].verified = true
            logger.info("verify \(step.version) ok", metadata: ["script": "\(request.scriptPath)"])
        } catch {
            outcome.steps[index].verified = false
            outcome.steps[index].error = error.description
            throw error
        }
    }

    /// Backs up `target` before its first data-losing step
    /// (docs/recovery.md#data-losing-steps-and-backups). Returns false, with the outcome's error
    /// set, when the backup failed: that step and every later one must not run. With backups
    /// disabled (`--no-backup`), says so in the log and returns true.
    private func backUp(
        _ target: Target, before step: PlannedStep, backend: any Backend, timeouts: Timeouts,
        into outcome: inout TargetOutcome,
        logger: Logger, onEvent: (RunEvent) -> Void
    ) throws(ExecutionError) -> Bool {
        let name: TargetName
        switch TargetName.validated(target.name) {
        case .success(let valid):
            name = valid
        case .failure(let refused):
            // Inventories refuse such names; a target made elsewhere must not write outside the folder either.
            outcome.error =
                ExecutionError.backupFailed(target: target.name, version: step.version.text, message: "\(refused).")
                .description
            return false
        }
        guard let path = backups.path(for: name, runID: runID) else {
            logger.warning(
                "no backup before data-losing step \(step.version) (\(step.kind.rawValue)): --no-backup was given")
            return true
        }
        guard let capable = backend as? any BackupCapableBackend else {
            outcome.error =
                ExecutionError.backupFailed(
                    target: target.name, version: step.version.text,
                    message: "the \(backend.kind.rawValue) backend cannot make backups"
                ).description
            return false
        }
        // Said before it starts: a backup may wait for locks other sessions hold.
        let waits = capable.backupWait(timeouts: timeouts)
        logger.notice("backing up before data-losing step \(step.version) (\(waits))", metadata: ["path": "\(path)"])
        onEvent(.backupStarted(target: target.name, version: step.version.text, waits: waits))
        do {
            let record = try capable.backup(target, to: path, timeouts: timeouts, logger: logger)
            outcome.backup = record
            logger.notice("backed up before data-losing step \(step.version)", metadata: ["path": "\(record.path)"])
            return true
        } catch {
            outcome.error =
                ExecutionError.backupFailed(target: target.name, version: step.version.text, message: error.description)
                .description
            return false
        }
    }

    private func finish(_ outcome: TargetOutcome) -> TargetOutcome {
        var outcome = outcome
        outcome.finishedAt = Date()
        return outcome
    }

    /// The version the target is at after `step` (an undo takes its version out).
    private func highest(_ current: String?, after step: PlannedStep) -> String? {
        step.kind == .undo ? current : step.version.text
    }

    /// The backend request for a planned step, checked against the plan as it is on disk now.
    func request(for step: PlannedStep, target: String) throws(ExecutionError) -> StepRequest {
        guard let migration = plan.migration(step.version) else {
            throw .unknownInRollout(target: target, what: "version \(step.version)")
        }
        let recordOnly = step.kind == .skip || step.kind == .baseline || (step.kind == .undo && step.script.isEmpty)
        let script: Script? = step.kind == .undo ? migration.undo : migration.forward
        if !recordOnly {
            guard let script, script.matches(recordedChecksum: step.checksum) else {
                throw .scriptChanged(target: target, script: step.script)
            }
        }
        // `--lock-ok` acknowledged no line of the script: the history row keeps who did, and why.
        var description = migration.description
        if let by = step.lockAcknowledgedBy, let reason = step.lockAcknowledged {
            description += "; " + LockAcknowledgement.historyNote(reason: reason, by: by)
        }
        if let descriptionNote { description += "; " + descriptionNote }
        return StepRequest(
            version: step.version.text, description: description, kind: step.kind, scriptPath: step.script,
            sql: recordOnly ? "" : script?.sql ?? "",
            checksum: step.kind == .undo ? (script?.checksum ?? "") : migration.forward.checksum,
            transactional: step.transactional, runID: runID, appliedBy: appliedBy,
            batch: recordOnly ? nil : script?.batch)
    }
}

/// Where `apply` puts the backup it takes before a `prod` target's first data-losing step.
/// Thread-safe value.
package struct BackupPolicy: Sendable, Hashable {
    /// The folder holding one subfolder per target; nil: no backups (`--no-backup`).
    package var directory: String?

    package init(directory: String? = ".tidemark/backups") {
        self.directory = directory
    }

    /// `--no-backup`: data-losing steps run without a backup first.
    package static let disabled = BackupPolicy(directory: nil)

    /// `<directory>/<target>/<run-id>.dump`, or nil when backups are disabled. Only a validated
    /// `TargetName` becomes a folder here: it is exactly one path component, and two targets
    /// never share one.
    package func path(for target: TargetName, runID: String) -> String? {
        directory.map {
            URL(fileURLWithPath: $0).appendingPathComponent(target.pathComponent).appendingPathComponent(
                "\(runID).dump"
            ).path
        }
    }
}

/// Retries transient connection failures with capped exponential backoff and jitter, before any
/// step starts. A step that started is never retried. Thread-safe value.
package struct RetryPolicy: Sendable, Hashable {
    package var attempts: Int
    package var initialDelay: Duration
    package var maximumDelay: Duration

    package init(attempts: Int = 4, initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(5)) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The pause before retry number `attempt` (1-based): the shared `Backoff`.
    package func delay(beforeRetry attempt: Int) -> Duration {
        Backoff(initial: initialDelay, maximum: maximumDelay).delay(beforeRetry: attempt)
    }

    /// Connects, retrying transient failures. `shouldStop` ends the wait between attempts
    /// early (the last error is thrown), so an interrupt is never slept through.
    func connect(
        target: Target, backend: any Backend, access: ConnectionAccess = .readWrite, timeouts: Timeouts, logger: Logger,
        shouldStop: () -> Bool = { false }
    ) throws(BackendError) -> any BackendConnection {
        var attempt = 1
        while true {
            do {
                return try backend.connect(to: target, access: access, timeouts: timeouts, logger: logger)
            } catch {
                guard case .connectionFailed(_, _, transient: true) = error, attempt < attempts, !shouldStop() else {
                    throw error
                }
                let pause = delay(beforeRetry: attempt)
                logger.notice("connection failed, retrying in \(pause.milliseconds) ms: \(error)")
                guard Self.wait(pause, unless: shouldStop) else { throw error }
                attempt += 1
            }
        }
    }

    /// How often a wait between attempts looks at `shouldStop`: short enough that an interrupt
    /// feels immediate, long enough to cost nothing.
    static let stopCheckInterval: Duration = .milliseconds(20)

    /// Sleeps for `duration` in short slices; returns false as soon as `shouldStop` says so.
    static func wait(_ duration: Duration, unless shouldStop: () -> Bool) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + duration
        while true {
            if shouldStop() { return false }
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero { return true }
            Thread.sleep(forTimeInterval: Double(min(remaining, stopCheckInterval).milliseconds + 1) / 1000)
        }
    }
}
