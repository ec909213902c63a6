import CSQLite
import Synchronization
import TidemarkCore

/// Watches the script a connection is running: enforces the statement timeout from SQLite's
/// progress handler and lets another thread cancel it. Thread-safe: all state sits in a `Mutex`.
///
/// The handle stored here is only a reference for `sqlite3_interrupt`; the connection owns it.
/// The connection clears it (under the same lock) before closing, so a late `cancel()` can never
/// touch a freed handle. Interrupts are only sent while a script is armed: a stray interrupt
/// must not hit the rollback or the history row that follow a failure.
final class SQLiteStatementWatch: Sendable {
    /// Why the progress handler stopped the script.
    enum StopReason: Sendable, Equatable {
        case timeout(Duration)
        case cancelled
    }

    /// A handle used for nothing but `sqlite3_interrupt`, which SQLite documents as safe to
    /// call from any thread while another thread runs a statement on the same handle; that is
    /// why it may cross threads although the connection that owns it may not.
    private struct InterruptTarget: @unchecked Sendable {
        let handle: OpaquePointer
    }

    private struct State {
        var target: InterruptTarget?
        var armed = false
        var deadline: ContinuousClock.Instant?
        var timeout: Duration = .zero
        var stopReason: StopReason?
    }

    private let state: Mutex<State>

    init(handle: OpaquePointer) {
        state = Mutex(State(target: InterruptTarget(handle: handle)))
    }

    /// Starts watching a script that may run for at most `timeout`; zero or less means no
    /// limit, as `statement_timeout = 0` does in PostgreSQL.
    func arm(timeout: Duration) {
        let deadline = timeout > .zero ? ContinuousClock.now.advanced(by: timeout) : nil
        state.withLock {
            $0.armed = true
            $0.timeout = timeout
            $0.deadline = deadline
            $0.stopReason = nil
        }
    }

    /// Stops watching; returns why the script was stopped, if it was.
    @discardableResult
    func disarm() -> StopReason? {
        state.withLock {
            $0.armed = false
            $0.deadline = nil
            let reason = $0.stopReason
            $0.stopReason = nil
            return reason
        }
    }

    /// Called by the progress handler on the connection's thread: true stops the statement.
    func shouldStop() -> Bool {
        let now = ContinuousClock.now
        return state.withLock {
            guard $0.armed else { return false }
            if $0.stopReason != nil { return true }
            if let deadline = $0.deadline, now >= deadline {
                $0.stopReason = .timeout($0.timeout)
                return true
            }
            return false
        }
    }

    /// Asks the running script to stop; a no-op when none runs. Any thread.
    func cancel() {
        state.withLock {
            guard $0.armed, let target = $0.target else { return }
            // The flag covers the gap between two statements of a script, where SQLite clears
            // its own interrupt flag when the next statement starts.
            if $0.stopReason == nil { $0.stopReason = .cancelled }
            sqlite3_interrupt(target.handle)
        }
    }

    /// Forgets the handle before the connection closes it.
    func detach() {
        state.withLock {
            $0.target = nil
            $0.armed = false
        }
    }
}

/// Cancels the script running on one SQLite connection. Thread-safe.
struct SQLiteCanceller: StatementCanceller {
    let watch: SQLiteStatementWatch

    func cancel() {
        watch.cancel()
    }
}
