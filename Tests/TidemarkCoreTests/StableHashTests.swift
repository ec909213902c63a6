import Testing
import TidemarkCore

@Suite struct StableHashTests {
    @Test func fnv1aMatchesTheReferenceValues() {
        #expect(StableHash.fnv1a64("") == 0xcbf2_9ce4_8422_2325)
        #expect(StableHash.fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(StableHash.fnv1a64("foobar") == 0x8594_4171_f739_67e8)
    }
}
