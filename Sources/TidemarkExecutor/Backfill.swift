import Foundation
import Logging
import TidemarkCore

/// Runs one batched step on one target (docs/backfills.md): walks the key's index `size` rows
/// at a time, each batch its own transaction with the checkpoint in the step's history row,
/// resuming where an earlier run stopped; throttles by `pause`, `max_rows_per_second` and
/// `max_lag`. Blocking: runs on the executor's worker that holds the connection. Value type.
struct Backfill {
    var step: PlannedStep
    var request: StepRequest
    var spec: BatchSpec
    var target: String
    var environment: String
    /// The target's history, read under its lock: where an earlier run of this step stopped.
    var history: [HistoryEntry]
    var lockRetries: Int
    var lockBackoff: Backoff
    var logger: Logger
    /// How often progress is told to the run's observers.
    var progressInterval: Duration = .seconds(1)

    /// The row and checkpoint to continue from: the version's newest row, when it is a batched
    /// row of this step that did not succeed and ran the same script. A row left in progress (a
    /// killed run) is reused; a failed one is followed by a new attempt that starts at its
    /// checkpoint. Anything else starts at the first key: a row followed by another step of the
    /// version (the undo that took a stopped forward back,
    /// docs/backfills.md#going-back-below-an-unfinished-backfill) says nothing about the table now.
    func resumePoint() -> (row: HistoryEntry?, checkpoint: BatchCheckpoint, attempt: Int) {
        guard
            let last = history.filter({ $0.version == request.version }).max(by: { $0.id < $1.id }),
            last.kind == request.kind, last.batch != nil,
            !last.success, last.checksum == request.checksum, let checkpoint = last.batch
        else { return (nil, BatchCheckpoint(), 1) }
        return last.isBackfillInProgress ? (last, checkpoint, last.attempt) : (nil, checkpoint, last.attempt + 1)
    }

    /// Runs the remaining batches. Returns false when the target stops here without failing:
    /// blocked (the table or key cannot be walked) or interrupted (the row stays in progress);
    /// the outcome says which. A failed batch finishes the row as failed and is thrown.
    func run(
        on connection: any BackendConnection, into outcome: inout TargetOutcome, shouldStop: () -> Bool,
        onEvent: (RunEvent) -> Void
    ) throws -> Bool {
        let startedAt = Date()
        let clock = ContinuousClock()
        let started = clock.now
        let minKey: Int64?
        var maxKey: Int64?
        switch try connection.batchTable(spec) {
        case .unusable(let problem):
            let reason = BlockReason.batchTable(version: request.version, script: request.scriptPath, problem: problem)
            outcome.outcome = .blocked
            outcome.blockedBy = reason
            outcome.reason = ReasonText.sentence(for: reason, target: target, inventoryFile: nil)
            return false
        case .ready(let low, let high):
            minKey = low
            maxKey = high
        }

        let resume = resumePoint()
        var checkpoint = resume.checkpoint
        var stepRequest = request
        stepRequest.attempt = resume.attempt
        let row: HistoryEntry
        if let existing = resume.row {
            row = existing
        } else {
            row = try connection.beginBatchedStep(stepRequest, from: checkpoint)
        }
        if let lastKey = checkpoint.lastKey {
            logger.notice(
                "\(step.kind.rawValue) \(step.version): resuming the backfill of \(spec.table) after key \(lastKey) (\(checkpoint.rows) rows done)"
            )
        }

        var result = StepResult(
            version: step.version.text, kind: step.kind, script: step.script, success: false, executionMS: 0,
            startedAt: startedAt,
            attempts: resume.attempt > 1 ? resume.attempt : nil)
        result.batches = 0
        result.rows = 0
        var lagSaid = LagSaid()
        var lastProgress: ContinuousClock.Instant?
        let rowsBefore = checkpoint.rows

        func progress(force: Bool) {
            let now = clock.now
            if !force, let lastProgress, now - lastProgress < progressInterval { return }
            lastProgress = now
            let seconds = max(0.001, Double((now - started).milliseconds) / 1000)
            let rate = Double(checkpoint.rows - rowsBefore) / seconds
            var remaining: Double?
            if let maxKey, let lastKey = checkpoint.lastKey, lastKey < maxKey, let first = minKey {
                // Keys walked per second this run, applied to the keys left.
                let walkedFrom = resume.checkpoint.lastKey.map { $0 + 1 } ?? first
                let walked = Double(lastKey - walkedFrom + 1)
                if walked > 0 { remaining = Double(maxKey - lastKey) / (walked / seconds) }
            }
            onEvent(
                .stepProgress(
                    BackfillProgress(
                        target: target, environment: environment, version: step.version.text, kind: step.kind,
                        table: spec.table, rows: checkpoint.rows,
                        batches: result.batches ?? 0, lastKey: checkpoint.lastKey, minKey: minKey, maxKey: maxKey,
                        rowsPerSecond: rate,
                        remainingSeconds: remaining)))
        }

        func finishRow(success: Bool, error: String?) throws(BackendError) {
            let elapsed = (clock.now - started).milliseconds
            _ = try connection.finishBatchedStep(row: row.id, success: success, executionMS: elapsed, error: error)
            result.success = success
            result.executionMS = elapsed
            result.error = error
            result.lastKey = checkpoint.lastKey
            outcome.steps.append(result)
        }

        guard var start = checkpoint.lastKey.map({ $0 + 1 }) ?? minKey else {
            // An empty table: nothing to change.
            try finishRow(success: true, error: nil)
            return true
        }
        while true {
            if let maxKey, start > maxKey {
                // Every key up to the largest is done (a run killed after its last batch committed).
                break
            }
            if shouldStop() { return interrupted(&outcome, result: result, checkpoint: checkpoint, started: started) }
            if let maxLag = spec.maxLag {
                guard
                    waitForReplicas(
                        maxLag, on: connection, said: &lagSaid, shouldStop: shouldStop)
                else {
                    return interrupted(&outcome, result: result, checkpoint: checkpoint, started: started)
                }
            }
            let found = try connection.batchEnd(spec, from: start)
            let end: Int64
            if let found {
                end = found
            } else {
                // The last batch reaches past the largest key now (rows added since the walk began included).
                if case .ready(_, let high) = try connection.batchTable(spec) { maxKey = high }
                end = (maxKey ?? start) + 1
            }
            var lockTimeouts = 0
            let changed: Int64
            while true {
                do {
                    changed = try connection.runBatch(request, row: row.id, start: start, end: end)
                    break
                } catch {
                    if shouldStop() || isCancel(error) {
                        return interrupted(&outcome, result: result, checkpoint: checkpoint, started: started)
                    }
                    if error.isLockTimeout, lockTimeouts < lockRetries {
                        lockTimeouts += 1
                        let pause = lockBackoff.delay(beforeRetry: lockTimeouts)
                        logger.notice(
                            "batch \(start)..<\(end) of \(step.version) timed out waiting for a lock; retrying in \(pause.milliseconds) ms"
                        )
                        if RetryPolicy.wait(pause, unless: shouldStop) { continue }
                        return interrupted(&outcome, result: result, checkpoint: checkpoint, started: started)
                    }
                    let failure = ExecutionError.batchFailed(
                        target: target, version: step.version.text, kind: step.kind, message: Self.batchMessage(error),
                        checkpoint: checkpoint)
                    try finishRow(success: false, error: failure.description)
                    throw failure
                }
            }
            checkpoint.lastKey = end - 1
            checkpoint.rows += changed
            result.batches = (result.batches ?? 0) + 1
            result.rows = (result.rows ?? 0) + changed
            progress(force: result.batches == 1)
            if found == nil { break }
            start = end
            if !throttle(rowsThisRun: checkpoint.rows - rowsBefore, since: started, shouldStop: shouldStop) {
                return interrupted(&outcome, result: result, checkpoint: checkpoint, started: started)
            }
        }
        try finishRow(success: true, error: nil)
        progress(force: true)
        logger.info(
            "\(step.kind.rawValue) \(step.version) ok",
            metadata: ["batches": "\(result.batches ?? 0)", "rows": "\(checkpoint.rows)"])
        return true
    }

    /// The backend's own words for the failed batch, without its "nothing of it remains".
    private static func batchMessage(_ error: BackendError) -> String {
        if case .stepFailed(_, _, _, let message, let sqlState, _) = error {
            return message + (sqlState.map { " (SQLSTATE \($0))" } ?? "")
        }
        return error.description
    }

    private func isCancel(_ error: BackendError) -> Bool {
        if case .cancelled = error { return true }
        return false
    }

    /// Leaves the row in progress (the next apply resumes at `checkpoint`) and says so.
    private func interrupted(
        _ outcome: inout TargetOutcome, result: StepResult, checkpoint: BatchCheckpoint,
        started: ContinuousClock.Instant
    ) -> Bool {
        var result = result
        result.executionMS = (ContinuousClock.now - started).milliseconds
        result.lastKey = checkpoint.lastKey
        result.error =
            "interrupted after key \(checkpoint.lastKey.map(String.init) ?? "none"); the next apply resumes there"
        outcome.steps.append(result)
        outcome.outcome = .interrupted
        outcome.error =
            "interrupted during the backfill of version \(step.version) (\(spec.table), \(checkpoint.rows) rows done); the batches before it committed and the next apply resumes after key \(checkpoint.lastKey.map(String.init) ?? "none")."
        return false
    }

    /// `pause` after every batch, then as long as the run is ahead of `max_rows_per_second`.
    /// False when a stop was asked for while waiting.
    private func throttle(rowsThisRun: Int64, since started: ContinuousClock.Instant, shouldStop: () -> Bool) -> Bool {
        if let pause = spec.pause, !RetryPolicy.wait(pause, unless: shouldStop) { return false }
        guard let rate = spec.maxRowsPerSecond, rate > 0 else { return true }
        let due = started + .milliseconds(rowsThisRun * 1000 / Int64(rate))
        let ahead = ContinuousClock.now.duration(to: due)
        return ahead <= .zero || RetryPolicy.wait(ahead, unless: shouldStop)
    }

    /// Waits while a replica lags more than `maxLag`. No replica: no wait. A lag that cannot be
    /// read is said once (a warning), and the backfill goes on. The step's first wait is a
    /// warning (a backfill that stops moving should say why at the default level); later ones,
    /// and each wait's end, are notices, so a lag that comes and goes does not fill the log.
    /// False on a stop.
    private func waitForReplicas(
        _ maxLag: Duration, on connection: any BackendConnection, said: inout LagSaid, shouldStop: () -> Bool
    ) -> Bool {
        var waitStarted: ContinuousClock.Instant?
        while true {
            let lag: ReplicationLag
            do {
                lag = try connection.replicationLag()
            } catch {
                lag = .unreadable(reason: error.description)
            }
            switch lag {
            case .noReplicas:
                return true
            case .unreadable(let reason):
                if !said.unreadable {
                    logger.warning(
                        "\(target): max_lag cannot be checked, so version \(step.version) does not wait for replicas: \(reason)"
                    )
                    said.unreadable = true
                }
                return true
            case .lag(let current):
                if current <= maxLag {
                    if let waitStarted {
                        logger.notice(
                            "\(target): replica lag \(DurationText.seconds(current.seconds)) is back under max_lag after \(DurationText.seconds((ContinuousClock.now - waitStarted).seconds)); version \(step.version) goes on"
                        )
                    }
                    return true
                }
                if waitStarted == nil {
                    waitStarted = ContinuousClock.now
                    let message: Logger.Message =
                        "\(target): replica lag \(DurationText.seconds(current.seconds)) is over max_lag \(DurationText.text(maxLag)); version \(step.version) waits before its next batch"
                    if said.waited { logger.notice(message) } else { logger.warning(message) }
                    said.waited = true
                }
                if !RetryPolicy.wait(.milliseconds(500), unless: shouldStop) { return false }
            }
        }
    }
}

/// What a backfill has said about its replicas: an unreadable lag is said once, and only the
/// first wait is a warning.
private struct LagSaid {
    var unreadable = false
    var waited = false
}
