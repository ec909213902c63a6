import Testing
import TidemarkCore

@Suite struct BackoffTests {
    /// SplitMix64: a seeded generator, so a delay can be reproduced.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    @Test func ceilingDoublesFromTheInitialDelayUpToTheMaximum() {
        let backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        #expect(
            (1...7).map { backoff.ceiling(beforeRetry: $0) } == [
                .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .milliseconds(3200),
                .seconds(5), .seconds(5),
            ])
        #expect(backoff.ceiling(beforeRetry: 0) == .milliseconds(200), "a retry number below 1 is the first")
        #expect(backoff.ceiling(beforeRetry: 10_000) == .seconds(5), "no overflow far past the cap")
    }

    @Test func delaysLieInTheUpperHalfOfTheCeilingAndVary() {
        let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(8))
        for retry in 1...12 {
            let ceiling = backoff.ceiling(beforeRetry: retry)
            let delays = (0..<50).map { _ in backoff.delay(beforeRetry: retry) }
            #expect(delays.allSatisfy { $0 >= ceiling / 2 && $0 <= ceiling }, "retry \(retry)")
        }
        #expect(Set((0..<50).map { _ in backoff.delay(beforeRetry: 5) }).count > 1, "jittered")
    }

    @Test func theSameSeedGivesTheSameDelays() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(4))
        var first = SeededGenerator(state: 42)
        var second = SeededGenerator(state: 42)
        let delays = (1...5).map { backoff.delay(beforeRetry: $0, using: &first) }
        #expect(delays == (1...5).map { backoff.delay(beforeRetry: $0, using: &second) })
        #expect(
            zip(delays, 1...5).allSatisfy { delay, retry in
                delay >= backoff.ceiling(beforeRetry: retry) / 2 && delay <= backoff.ceiling(beforeRetry: retry)
            })
    }
}
