import Foundation

/// What a run reports while it runs, for progress displays and notifications: the executor
/// emits these, and Notify reads them without knowing the executor. Thread-safe value.
public enum RunEvent: Sendable {
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
    case stepRetrying(target: String, version: String, kind: StepKind, attempt: Int, of: Int, delay: Duration, error: String)
    /// A backup starts before the target's first data-losing step (`version`); `waits` says
    /// what it may wait for and how long (`pg_dump waits at most 5s for a lock on each table`).
    case backupStarted(target: String, version: String, waits: String)
}
