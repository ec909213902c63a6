import Foundation

/// Taking a target's migration lock without blocking: one non-blocking attempt, then another
/// every `interval` until `timeout` has passed. A blocking lock call (`pg_advisory_lock`,
/// `GET_LOCK` with a timeout) would wait until the other run ends, and the wait could not be
/// reported as "another run holds it". Thread-safe (stateless); blocks the calling thread, so
/// only the executor's Dispatch workers call it.
package enum LockPolling {
    package static let interval: Duration = .milliseconds(100)

    /// True as soon as `attempt` takes the lock; false when `timeout` passed without it.
    package static func poll(
        timeout: Duration, interval: Duration = LockPolling.interval, _ attempt: () throws(BackendError) -> Bool
    ) throws(BackendError) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + max(timeout, .zero)
        while true {
            if try attempt() { return true }
            let remaining = deadline - clock.now
            if remaining <= .zero { return false }
            let (seconds, attoseconds) = min(remaining, interval).components
            Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
        }
    }
}
