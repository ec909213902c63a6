import Testing
import TidemarkCore

@Suite struct DurationTextTests {
    @Test func acceptsEachUnitAndCombinationsLargestFirst() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("5s") == .seconds(5))
        #expect(DurationText.parse("5m") == .seconds(300))
        #expect(DurationText.parse("1h") == .seconds(3600))
        #expect(DurationText.parse("1m30s") == .seconds(90))
        #expect(DurationText.parse("1h2m3s4ms") == .milliseconds(3_723_004))
        #expect(DurationText.parse("90d") == .seconds(90 * 86_400))
        #expect(DurationText.parse("1d12h") == .seconds(36 * 3600))
        #expect(DurationText.parse("0s") == .zero)
        #expect(DurationText.parse(" 2s ") == .seconds(2), "surrounding spaces, as an environment variable may carry")
    }

    @Test(arguments: [
        "", "5", "1.5", "1.5m", "10 s", "30s1m", "1s1s", "5x", "s", "-1s", "5S", "99999999999999h", "12h1d", "1D",
    ])
    func refusesEverythingElse(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }
}
