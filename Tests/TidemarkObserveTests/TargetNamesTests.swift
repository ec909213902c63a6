import Testing

@testable import TidemarkObserve

@Suite struct TargetNamesTests {
    @Test func aBraceRangeComesBackAsOne() {
        let names = (1...64).map { "prod-shard-" + String(repeating: "0", count: 3 - String($0).count) + String($0) }
        #expect(TargetNames.compressed(names) == "prod-shard-{001..064}")
        #expect(TargetNames.counted(names) == "prod-shard-{001..064} (64 targets)")
    }

    @Test func aGapSplitsTheRangeAndUnpaddedNumbersStayUnpadded() {
        let names = (1...12).filter { $0 != 7 }.map { "shard-\($0)" }
        #expect(TargetNames.compressed(names) == "shard-{1..6,8..12}")
    }

    @Test func namesOfDifferentShapesAreListedEachCompressed() {
        #expect(
            TargetNames.compressed(["prod-eu-1", "prod-shard-1", "prod-shard-2", "prod-shard-3"])
                == "prod-eu-1, prod-shard-{1..3}")
        #expect(
            TargetNames.compressed(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"])
                == "alpha, beta, gamma and 3 more")
        #expect(TargetNames.counted(["solo"]) == "solo")
    }

    @Test func digitsSharedAtTheEdgeStayInTheRange() {
        #expect(TargetNames.compressed(["db-10-eu", "db-11-eu", "db-12-eu"]) == "db-{10..12}-eu")
    }
}
