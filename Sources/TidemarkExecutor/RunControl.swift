import Synchronization
import TidemarkCore

/// Stops a run from outside (signals): first no new target or step starts, then, if asked
/// again, running statements are cancelled. Thread-safe: every member may be used from any
/// thread, including a signal handler's dispatch queue.
package final class RunControl: Sendable {
    private struct State {
        var stopRequested = false
        var cancelRequested = false
        var running: [String: any StatementCanceller] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    /// True once a stop was requested: start no new target or step.
    package var isStopRequested: Bool { state.withLock { $0.stopRequested } }

    /// True once running statements were cancelled.
    package var isCancelRequested: Bool { state.withLock { $0.cancelRequested } }

    /// Asks the run to start nothing new; running steps commit or roll back on their own.
    package func requestStop() {
        state.withLock { $0.stopRequested = true }
    }

    /// Also cancels the statement each running target is executing (PQcancel, sqlite3_interrupt).
    package func cancelRunning() {
        let cancellers = state.withLock { state -> [any StatementCanceller] in
            state.stopRequested = true
            state.cancelRequested = true
            return Array(state.running.values)
        }
        for canceller in cancellers { canceller.cancel() }
    }

    /// How many targets have an open connection doing work.
    package var runningCount: Int { state.withLock { $0.running.count } }

    package func register(_ target: String, canceller: any StatementCanceller) {
        let cancelNow = state.withLock { state -> Bool in
            state.running[target] = canceller
            return state.cancelRequested
        }
        if cancelNow { canceller.cancel() }
    }

    package func unregister(_ target: String) {
        _ = state.withLock { $0.running.removeValue(forKey: target) }
    }
}
