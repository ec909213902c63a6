import Foundation
import TidemarkCore

/// The clock change windows are weighed against (docs/windows.md). Thread-safe (stateless).
package enum RunClock {
    /// The system clock; in debug builds, when `TIDEMARK_NOW` holds an ISO 8601 instant
    /// (`2026-12-08T03:30:00+01:00`), that instant at the first call, moving on with the process's
    /// monotonic clock from then (tests set it; a release build never reads it).
    package static func make(environment: [String: String] = ProcessInfo.processInfo.environment) throws(FleetError)
        -> @Sendable () -> Date
    {
        #if DEBUG
            if let text = environment["TIDEMARK_NOW"] {
                guard let start = parse(text) else { throw .badClock(text) }
                let origin = ContinuousClock.now
                return {
                    let elapsed = ContinuousClock.now - origin
                    return start.addingTimeInterval(
                        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                }
            }
        #endif
        return { Date() }
    }

    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
