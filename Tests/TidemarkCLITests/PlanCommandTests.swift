import Foundation
import Testing
import TidemarkTestSupport

/// `tidemark plan` output on the SQLite demo fleet: `--to 0`, and fleets it cannot read.
@Suite struct PlanCommandTests {
    /// A scratch copy of inventories/ and plans/ whose SQLite files live inside it.
    func workspace() throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-plan")
        for folder in ["inventories", "plans"] {
            try FileManager.default.copyItem(
                at: CommandRunner.repositoryRoot.appendingPathComponent(folder), to: root.appendingPathComponent(folder))
        }
        return root
    }

    @Test func toZeroRollsDevAndTestBackToEmptyButNotLiveProd() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let applied = try await CommandRunner.run(["apply", "-i", "inventories/demo.yaml", "--yes"], in: root)
        #expect(applied.status == 0, "\(applied)")

        let plan = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml", "--to", "0"], in: root)
        // Live prod must roll forward and has no compensations for v1…v4: blocked.
        #expect(plan.status == 3, "\(plan)")
        let lines = plan.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first == "rollout of plan demo to no version (strategy auto)", "\(plan)")
        #expect(lines.contains("  dev            rollback    4 → -"), "\(plan)")
        #expect(lines.contains("  prod-eu-1      blocked     4 → 4"), "\(plan)")
        let devUndo = lines.drop { !$0.hasPrefix("  dev ") }.dropFirst(2).prefix(4).map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        #expect(devUndo == ["undo 4", "undo 3", "undo 2", "undo 1"], "\(plan)")

        let down = try await CommandRunner.run(["apply", "-i", "inventories/demo.yaml", "--env", "dev", "--to", "0"], in: root)
        #expect(down.status == 0, "\(down)")
        let again = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml", "--env", "dev", "--to", "0"], in: root)
        #expect(again.status == 0, "\(again)")
        #expect(again.standardOutput.contains("  dev            none        - → -"), "\(again)")
    }

    @Test func aFleetItCannotReadSaysSoOncePerTarget() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-unreachable")
        defer { try? FileManager.default.removeItem(at: root) }
        let plan = CommandRunner.repositoryRoot.appendingPathComponent("plans/demo").path
        // Each target's "database" is a directory: it exists, so it is not read as a new empty
        // database, and no SQLite file opens there.
        for name in ["t1.db", "t2.db"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: false)
        }
        let inventory = """
            inventory: gone
            plan: \(plan)
            environments:
              dev: { tier: dev, targets: [ { name: t1, url: "sqlite:t1.db" }, { name: t2, url: "sqlite:t2.db" } ] }
            """
        try inventory.write(to: root.appendingPathComponent("gone.yaml"), atomically: true, encoding: .utf8)
        let result = try await CommandRunner.run(["plan", "-i", "gone.yaml"], in: root)
        #expect(result.status == 1, "\(result)")
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.last == "0 targets planned, 2 unreachable", "\(result)")
        #expect(lines.contains { $0.hasPrefix("  t1: ") && !$0.hasPrefix("  t1: t1:") }, "\(result)")
        #expect(lines.contains { $0.hasPrefix("  t2: ") && !$0.hasPrefix("  t2: t2:") }, "\(result)")
    }
}
