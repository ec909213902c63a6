import Foundation
import Testing
import TidemarkCore

/// `Version`: parsing, ordering by segment (numeric) or as Diesel orders, and its text.
@Suite struct VersionTests {
    func numeric(_ text: String) throws -> Version { try #require(Version(numeric: text), "\(text)") }
    func diesel(_ text: String) throws -> Version { try #require(Version(diesel: text), "\(text)") }

    @Test("Integers and dotted integers parse", arguments: ["3", "0003", "1.2.10", "0", "999999999999999999"])
    func numericVersionsParse(_ text: String) {
        #expect(Version(numeric: text)?.text == text)
    }

    @Test(
        "Anything else is not a numeric version",
        arguments: ["", "1.", ".1", "1..2", "a", "-1", "+1", "1_2", " 1", "1e3", "9999999999999999999", "１"])
    func nonNumericTextIsRefused(_ text: String) {
        #expect(Version(numeric: text) == nil)
    }

    @Test func numericKeyIsTheSegments() throws {
        #expect(try numeric("1.2.10").key == .numeric([1, 2, 10]))
        #expect(try numeric("0003").key == .numeric([3]))
    }

    @Test func dottedVersionsCompareSegmentBySegment() throws {
        #expect(try numeric("1.2.9") < numeric("1.2.10"))
        #expect(try numeric("9") < numeric("10"))
        #expect(try numeric("1.10") > numeric("1.9"))
        #expect(try numeric("2") > numeric("1.99"))
        // A shorter version sorts before a longer one it prefixes.
        #expect(try numeric("1.2") < numeric("1.2.0"))
        #expect(try numeric("1.2") != numeric("1.2.0"))
    }

    @Test func leadingZerosDoNotMakeAnotherVersion() throws {
        #expect(try numeric("0003") == numeric("3"))
        #expect(try numeric("1.02") == numeric("1.2"))
        #expect(try Set([numeric("0003"), numeric("3"), numeric("1.02"), numeric("1.2")]).count == 2)
    }

    @Test func sortingAMixedListFollowsSegments() throws {
        let sorted = try ["10", "1.10", "2", "1.9", "1", "1.2.10", "1.2.9"].map(numeric).sorted().map(\.text)
        #expect(sorted == ["1", "1.2.9", "1.2.10", "1.9", "1.10", "2", "10"])
    }

    @Test func dieselVersionsOrderAsTextWithoutDashes() throws {
        let first = try diesel("2019-02-26-002946")
        #expect(first.key == .text("20190226002946"))
        #expect(try first < diesel("2019-03-01-000000"))
        #expect(try diesel("2019-02-26-002946") == diesel("20190226002946"), "Diesel drops the dashes before comparing")
        // Text, not numbers: "9" sorts after "10".
        #expect(try diesel("9") > diesel("10"))
        #expect(try diesel("00000000000000") < diesel("2019-02-26-002946"))
    }

    @Test("Diesel versions never hold an underscore or a slash", arguments: ["", "2019_02_26", "a/b"])
    func badDieselTextIsRefused(_ text: String) {
        #expect(Version(diesel: text) == nil)
    }

    @Test func numericSortsBeforeText() throws {
        #expect(try numeric("999") < diesel("0"))
        #expect(try !(diesel("0") < numeric("999")))
    }

    @Test func styleChoosesTheGrammar() {
        #expect(Version("1.2", style: .numeric)?.key == .numeric([1, 2]))
        #expect(Version("2019-02-26-002946", style: .numeric) == nil)
        #expect(Version("2019-02-26-002946", style: .diesel)?.key == .text("20190226002946"))
        #expect(Version("3", style: .diesel)?.key == .text("3"))
    }

    @Test func textIsKeptAsWritten() throws {
        #expect(try numeric("0003").description == "0003")
        #expect(try diesel("2019-02-26-002946").description == "2019-02-26-002946")
    }

    @Test func jsonRoundTripKeepsTextAndOrder() throws {
        let versions = try [numeric("0003"), numeric("1.2.10"), diesel("2019-02-26-002946")]
        let data = try JSONEncoder().encode(versions)
        #expect(String(decoding: data, as: UTF8.self) == #"["0003","1.2.10","2019-02-26-002946"]"#)
        let decoded = try JSONDecoder().decode([Version].self, from: data)
        #expect(decoded.map(\.text) == ["0003", "1.2.10", "2019-02-26-002946"])
        #expect(decoded.map(\.key) == versions.map(\.key))
    }

    @Test func decodingTextThatIsNoVersionFails() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Version].self, from: Data(#"["a_b"]"#.utf8)) }
    }
}
