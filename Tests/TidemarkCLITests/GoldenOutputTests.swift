import Foundation
import Testing
import TidemarkTestSupport

/// Rendered command output compared with golden files in Tests/TidemarkCLITests/Golden/.
/// After an intended change, regenerate them with `TIDEMARK_UPDATE_GOLDEN=1 swift test --filter GoldenOutputTests`
/// and review the diff.
@Suite struct GoldenOutputTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Golden")

    func compare(_ actual: String, with name: String) throws {
        let file = Self.goldenDirectory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["TIDEMARK_UPDATE_GOLDEN"] == "1" {
            try actual.write(to: file, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        #expect(
            actual == expected,
            "\(name) differs; if intended, regenerate with TIDEMARK_UPDATE_GOLDEN=1.\n--- actual\n\(actual)")
    }

    @Test func theQuarantinePlanReadsAsTheReadmeShowsIt() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-golden")
        defer { try? FileManager.default.removeItem(at: root) }
        for folder in ["inventories", "plans"] {
            try FileManager.default.copyItem(
                at: CommandRunner.repositoryRoot.appendingPathComponent(folder), to: root.appendingPathComponent(folder)
            )
        }
        // The revert header carries the date it was written: pin the file to compare it.
        let steps: [[String]] = [
            ["apply", "-i", "inventories/demo.yaml", "--yes"],
            [
                "quarantine", "4", "--reason", "drops orders.total_cents, still read by invoicing", "-i",
                "inventories/demo.yaml",
            ],
        ]
        for step in steps {
            let result = try await CommandRunner.run(step, in: root)
            #expect(result.status == 0, "\(result)")
        }
        let blocked = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml"], in: root)
        #expect(blocked.status == 3)
        try compare(blocked.standardOutput, with: "plan-quarantined-without-compensation.txt")

        let revert = try await CommandRunner.run(["revert", "4", "-i", "inventories/demo.yaml"], in: root)
        #expect(revert.status == 0, "\(revert)")
        let converge = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml"], in: root)
        #expect(converge.status == 0)
        try compare(converge.standardOutput, with: "plan-after-revert.txt")
    }

    @Test func validateOfTheDemo() async throws {
        let result = try await CommandRunner.run(["validate", "-i", "inventories/demo.yaml"])
        #expect(result.status == 0)
        try compare(result.standardOutput, with: "validate-demo.txt")
    }

    /// Yams reads `YAMS_DEFAULT_ENCODING` on every parse (and prints a line to standard output
    /// when it is set); Tidemark parses its YAML as UTF-8 whatever the environment says.
    @Test func yamlEncodingVariableChangesNothing() async throws {
        let result = try await CommandRunner.run(
            ["validate", "-i", "inventories/demo.yaml"], environment: ["YAMS_DEFAULT_ENCODING": "UTF16"])
        #expect(result.status == 0)
        try compare(result.standardOutput, with: "validate-demo.txt")
    }

    /// A plan whose scripts break every rule of the lock-risk catalogue (and hold safe forms that must not be flagged).
    @Test func lintOfAPlanCoveringEveryRule() async throws {
        let plan = Self.goldenDirectory.appendingPathComponent("lint-fixture").path
        let text = try await CommandRunner.run(["lint", "--plan", plan])
        #expect(text.status == 0, "\(text)")
        try compare(text.standardOutput.replacingOccurrences(of: plan, with: "lint-fixture"), with: "lint-fixture.txt")

        let json = try await CommandRunner.run(["lint", "--plan", plan, "--json"])
        #expect(json.status == 0, "\(json)")
        try compare(json.standardOutput.replacingOccurrences(of: plan, with: "lint-fixture"), with: "lint-fixture.json")
        let document = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        #expect(document?["schema"] as? String == "tidemark.lint/v1")
        let rules = Set((document?["findings"] as? [[String: Any]] ?? []).compactMap { $0["rule"] as? String })
        #expect(rules.count == 15, "rules flagged: \(rules.sorted())")
    }
}
