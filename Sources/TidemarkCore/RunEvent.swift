import Foundation

/// What a run reports while it runs, for progress displays and notifications: the executor
/// emits these, and Notify reads them without knowing the executor. Thread-safe value.
package enum RunEvent: Sendable {
    /// A wave (one environment) begins; `index` is 0-based of `count` waves.
    case waveStarted(environment: String, index: Int, count: Int, targets: Int)
    /// A target got a worker and is connecting.
    case targetStarted(target: String, environment: String)
    /// A target finished, whatever its outcome (also for unchanged, blocked and skipped targets).
    case targetFinished(TargetOutcome)
    /// A wave stopped early; its remaining targets and every later wave are skipped.
    case waveHalted(environment: String, reason: String)
    /// A transactional step timed out waiting for a lock and rolled back; it runs again after
    /// `delay` as attempt `attempt` of at most `of` (`lock_retries` + 1).
    case stepRetrying(
        target: String, version: String, kind: StepKind, attempt: Int, of: Int, delay: Duration, error: String)
    /// A backup starts before the target's first data-losing step (`version`); `waits` says
    /// what it may wait for and how long (`pg_dump waits at most 5s for a lock on each table`).
    case backupStarted(target: String, version: String, waits: String)
    /// A batched step committed batches (docs/backfills.md#watching-a-backfill): said after the
    /// first batch, then at most every second; notifications send it at most every 10 s.
    case stepProgress(BackfillProgress)
}

/// Where a batched step is on one target. Thread-safe value.
package struct BackfillProgress: Sendable, Hashable, Codable {
    package var target: String
    package var environment: String
    package var version: String
    package var kind: StepKind
    package var table: String
    /// Rows changed so far, this run and the runs before it.
    package var rows: Int64
    /// Batches committed by this run.
    package var batches: Int
    /// The key the last committed batch reached, and the key range of the table.
    package var lastKey: Int64?
    package var minKey: Int64?
    package var maxKey: Int64?
    /// Rows changed per second by this run.
    package var rowsPerSecond: Double
    /// The time left at this run's rate, when it can be told.
    package var remainingSeconds: Double?

    package init(
        target: String, environment: String, version: String, kind: StepKind, table: String, rows: Int64, batches: Int,
        lastKey: Int64?, minKey: Int64?,
        maxKey: Int64?, rowsPerSecond: Double, remainingSeconds: Double?
    ) {
        self.target = target
        self.environment = environment
        self.version = version
        self.kind = kind
        self.table = table
        self.rows = rows
        self.batches = batches
        self.lastKey = lastKey
        self.minKey = minKey
        self.maxKey = maxKey
        self.rowsPerSecond = rowsPerSecond
        self.remainingSeconds = remainingSeconds
    }

    /// How far the walk is through the key range (0…1), when the range is known.
    package var fraction: Double? {
        guard let minKey, let maxKey, maxKey >= minKey else { return nil }
        guard let lastKey else { return 0 }
        return min(1, max(0, Double(lastKey - minKey + 1) / Double(maxKey - minKey + 1)))
    }
}
