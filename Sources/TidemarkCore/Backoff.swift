/// Capped exponential backoff with "equal jitter": the ceiling doubles from `initial` up to
/// `maximum`, and each delay is drawn uniformly from the upper half of it, so a fleet of
/// clients that failed together does not retry in lockstep, yet none retries immediately.
/// Used for connection retries and notification delivery. Thread-safe value.
package struct Backoff: Sendable, Hashable {
    /// The ceiling before the first retry.
    package var initial: Duration
    /// The largest ceiling.
    package var maximum: Duration

    package init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The ceiling before retry number `retry` (1 for the first): `initial` doubled `retry - 1`
    /// times, at most `maximum`.
    package func ceiling(beforeRetry retry: Int) -> Duration {
        // 2^20 is far past any useful cap and keeps the multiplication from overflowing.
        let exponent = min(max(retry - 1, 0), 20)
        return min(initial * (1 << exponent), maximum)
    }

    /// The pause before retry number `retry`: between half the ceiling and the ceiling.
    package func delay(beforeRetry retry: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(beforeRetry: retry, using: &generator)
    }

    /// The pause before retry number `retry`, drawn from `generator` (seeded in tests).
    package func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let half = ceiling(beforeRetry: retry) / 2
        return half + half * Double.random(in: 0...1, using: &generator)
    }
}
