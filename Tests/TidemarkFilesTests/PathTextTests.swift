import Foundation
import Testing

@testable import TidemarkFiles

/// Paths split at the byte `/`: a name that starts with a combining mark makes `/` and the mark
/// one `Character`, which a `Character` search does not find (the `plan` fuzzer's crash
/// `Regressions/plan/crash-c53935ca…`: a script named `\u{6DC}V1__a.sql`).
@Suite struct PathTextTests {
    static let marked = "plans/app/\u{6DC}V1__a.sql"

    @Test func aNameStartingWithACombiningMarkIsItsOwnComponent() {
        #expect(PathText.directory(of: Self.marked) == "plans/app")
        #expect(PathText.lastComponent(of: Self.marked) == "\u{6DC}V1__a.sql")
        #expect(PathText.baseName(of: Self.marked) == "\u{6DC}V1__a")
        #expect(PathText.normalize("plans/./app/../app/\u{301}x.sql") == "plans/app/\u{301}x.sql")
        #expect(PathText.normalize("a/\u{301}b/../c") == "a/c")
        #expect(PathText.lastComponent(of: "plans/app/\u{301}") == "\u{301}")
        #expect(PathText.baseName(of: "plans/notes.\u{301}md") == "notes")
    }

    @Test func plainPathsAreUnchanged() {
        #expect(PathText.directory(of: "inventories/demo.yaml") == "inventories")
        #expect(PathText.directory(of: "demo.yaml") == "")
        #expect(PathText.directory(of: "/demo.yaml") == "/")
        #expect(PathText.lastComponent(of: "plans/demo/") == "demo")
        #expect(PathText.lastComponent(of: "/") == "")
        #expect(PathText.baseName(of: "inventories/demo.yaml") == "demo")
        #expect(PathText.baseName(of: ".hidden") == ".hidden")
        #expect(PathText.normalize("inventories/../plans/demo") == "plans/demo")
        #expect(PathText.normalize("../../x") == "../../x")
        #expect(PathText.normalize("/../x") == "/x")
        #expect(PathText.normalize("./") == ".")
    }

    /// The crash itself: the plan's error names a file of the plan directory.
    @Test func anUnparsableMarkedNameIsReportedInsideThePlanDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tidemark-marked-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("SELECT 1;\n".utf8).write(to: directory.appendingPathComponent("\u{6DC}V1__a.sql"))
        #expect {
            _ = try PlanDirectory.load(at: directory.path)
        } throws: { error in
            let text = "\(error)"
            return text.contains(directory.path + "/\u{6DC}V1__a.sql")
                && text.contains("cannot read a version from this name")
        }
    }
}
