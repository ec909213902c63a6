import Foundation
import Testing
import TidemarkTestSupport

/// Plan and apply at fleet scale: targets with identical plans read as one entry
/// (`shard-{02..10,21..39} (28 targets)`), blocked and failed ones one by one; `--per-target`
/// brings back the long form. On a 42-target SQLite fleet, as a new user would try it.
@Suite struct GroupedOutputTests {
    /// `dev-{1..2}` and a live prod of `shard-{01..40}` (canary shard-01) on the demo plan;
    /// shard-{11..20} already at version 2, shard-40 holding a version the plan does not know.
    static func fleet() async throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-grouped")
        try FileManager.default.copyItem(
            at: CommandRunner.repositoryRoot.appendingPathComponent("plans"), to: root.appendingPathComponent("plans"))
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        try """
        inventory: fleet
        plan: ../plans/demo
        concurrency: 4
        order: [dev, prod]
        environments:
          dev: { tier: dev, targets: [ { name: "dev-{1..2}", url: "sqlite:../.tidemark/fleet/dev-{1..2}.db" } ] }
          prod:
            tier: prod
            live: true
            canary: shard-01
            targets:
              - { name: "shard-{01..40}", url: "sqlite:../.tidemark/fleet/shard-{01..40}.db" }
        """.write(to: root.appendingPathComponent("inventories/fleet.yaml"), atomically: true, encoding: .utf8)
        let some = (11...20).flatMap { ["--target", "shard-\($0)"] }
        let first = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--to", "2", "--yes"] + some + ["--target", "shard-40"], in: root)
        #expect(first.status == 0, "\(first)")
        // A version this plan never had: the planner blocks shard-40 (unknown version).
        let database = root.appendingPathComponent(".tidemark/fleet/shard-40.db").path
        let insert = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("INSERT INTO tidemark_history (version, description, kind, script, checksum, run_id, applied_by, started_at, finished_at, execution_ms, success) SELECT '9', 'from elsewhere', kind, 'V9__elsewhere.sql', checksum, run_id, applied_by, started_at, finished_at, 1, 1 FROM tidemark_history ORDER BY id DESC LIMIT 1")
            db.commit()
            """
        let python = try await ExternalTool.run("python3", ["-c", insert, database])
        #expect(python.status == 0, "\(python)")
        return root
    }

    @Test func identicalPlansAreOneEntryAndTheBlockedTargetStandsAlone() async throws {
        let root = try await Self.fleet()
        defer { try? FileManager.default.removeItem(at: root) }
        let plan = try await CommandRunner.run(["plan", "-i", "inventories/fleet.yaml"], in: root)
        #expect(plan.status == 3, "\(plan)")
        try GoldenOutputTests().compare(plan.standardOutput, with: "plan-fleet-grouped.txt")

        let long = try await CommandRunner.run(["plan", "-i", "inventories/fleet.yaml", "--per-target"], in: root)
        #expect(long.status == 3)
        let shortLines = plan.standardOutput.split(separator: "\n").count
        let longLines = long.standardOutput.split(separator: "\n").count
        #expect(shortLines < 40 && longLines > 150, "grouped \(shortLines) lines, per target \(longLines)")
        #expect(long.standardOutput.contains("  shard-27       forward     - → 4"))
    }

    @Test func applyPrintsGroupsAndTheRefusalNamesGroupsNotFortyTargets() async throws {
        let root = try await Self.fleet()
        defer { try? FileManager.default.removeItem(at: root) }
        let refused = try await CommandRunner.run(["apply", "-i", "inventories/fleet.yaml"], in: root)
        #expect(refused.status == 2)
        #expect(
            refused.standardError.contains(
                "refusing to write to 39 prod targets (shard-{01..39}) without confirmation"), "\(refused)")

        let apply = try await CommandRunner.run(["apply", "-i", "inventories/fleet.yaml", "--yes"], in: root)
        #expect(apply.status == 3, "\(apply)")
        let lines = apply.standardOutput.split(separator: "\n").map(String.init)
        #expect(
            lines.contains(
                "succeeded   dev-{1..2} (2 targets) (dev) forward - → 4: forward 1, forward 2, forward 3, forward 4"),
            "\(apply)")
        #expect(
            lines.contains(
                "succeeded   shard-{01..10,21..39} (29 targets) (prod) forward - → 4: forward 1, forward 2, forward 3, forward 4"
            ))
        #expect(lines.contains("succeeded   shard-{11..20} (10 targets) (prod) forward 2 → 4: forward 3, forward 4"))
        #expect(!lines.contains { $0.hasPrefix("succeeded   shard-27 ") })
        #expect(
            lines.contains { $0.hasPrefix("backups of shard-{01..39} (39 targets) before their data-losing steps: ") })
    }
}
