import Foundation
import Testing
import TidemarkCore

/// `JSONDecoder` names no position; `JSONTextPosition` finds the line and column.
@Suite struct JSONTextPositionTests {
    struct Entry: Codable {
        var name: String
        var steps: [Int]
    }

    func describe(_ json: String) -> (line: Int, column: Int, message: String)? {
        let bytes = Array(json.utf8)
        do {
            _ = try JSONDecoder().decode(Entry.self, from: Data(bytes))
            return nil
        } catch {
            let (position, message) = JSONTextPosition.describe(error, in: bytes)
            return (position.line, position.column, message)
        }
    }

    @Test func aSyntaxErrorPointsAtTheFirstBadCharacter() {
        let described = describe("{\n  \"name\": \"a\",\n  \"steps\": [1, 2 3]\n}")
        #expect(described?.line == 3 && described?.column == 18)
        #expect(described?.message == "not JSON: expected ',' or ']' in a list")
    }

    @Test func aWrongValuePointsAtTheValueAndNamesItsPath() {
        let described = describe("{\n  \"name\": \"a\",\n  \"steps\": [1, \"two\"]\n}")
        #expect(described?.line == 3 && described?.column == 16)
        #expect(described?.message.hasPrefix("wrong value at steps[1]: ") == true)
    }

    @Test func aMissingKeyPointsAtTheObjectThatLacksIt() {
        let described = describe("[]\n")
        #expect(described?.line == 1 && described?.column == 1)
        let missing = describe("\n\n  {\"name\": \"a\"}")
        #expect(missing?.line == 3 && missing?.column == 3)
        #expect(missing?.message == "missing key 'steps' in the top-level object")
    }

    @Test func textThatEndsEarlyOrIsNotUTF8PointsInsideIt() {
        let early = describe("{\"name\": \"a\", \"steps\": [")
        #expect(early?.line == 1 && early?.column == 25)
        let bytes: [UInt8] = Array("{\"name\": \"".utf8) + [0xFF] + Array("\", \"steps\": []}".utf8)
        #expect(JSONTextPosition.firstSyntaxError(in: bytes)?.position == .init(line: 1, column: 11))
    }

    @Test func deepNestingIsReadWithoutRecursion() {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        #expect(JSONTextPosition.firstSyntaxError(in: Array(deep.utf8)) == nil)
        let unclosed = Array(String(repeating: "{\"a\":", count: 100_000).utf8)
        #expect(JSONTextPosition.firstSyntaxError(in: unclosed)?.position.line == 1)
    }
}
