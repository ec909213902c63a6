import Synchronization
import TidemarkCore

/// Stops a run from outside (signals): first no new target or step starts, then, if asked
/// again, running statements are cancelled. Thread-safe: every member may be used from any
/// thread, including a signal handler's dispatch queue.
///
/// The two flags are atomics, read without the lock: every worker asks before each target and
/// step, and at 100,000 in-memory targets those reads queued on the lock
/// (docs/performance.md#100000-targets-in-one-process).
package final class RunControl: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let cancelRequested = Atomic<Bool>(false)
    private let running = Mutex<[String: any StatementCanceller]>([:])

    package init() {}

    /// True once a stop was requested: start no new target or step.
    package var isStopRequested: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }

    /// True once running statements were cancelled.
    package var isCancelRequested: Bool { cancelRequested.load(ordering: .sequentiallyConsistent) }

    /// Asks the run to start nothing new; running steps commit or roll back on their own.
    package func requestStop() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
    }

    /// Also cancels the statement each running target is executing (PQcancel, sqlite3_interrupt).
    /// The flag is set before the running targets are read, and `register` reads it after
    /// adding its target: a target registering meanwhile is cancelled by one side or the other.
    package func cancelRunning() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        cancelRequested.store(true, ordering: .sequentiallyConsistent)
        let cancellers = running.withLock { Array($0.values) }
        for canceller in cancellers { canceller.cancel() }
    }

    /// How many targets have an open connection doing work.
    package var runningCount: Int { running.withLock { $0.count } }

    package func register(_ target: String, canceller: any StatementCanceller) {
        running.withLock { $0[target] = canceller }
        if isCancelRequested { canceller.cancel() }
    }

    package func unregister(_ target: String) {
        _ = running.withLock { $0.removeValue(forKey: target) }
    }
}
