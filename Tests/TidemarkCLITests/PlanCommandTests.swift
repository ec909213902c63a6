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
                at: CommandRunner.repositoryRoot.appendingPathComponent(folder), to: root.appendingPathComponent(folder)
            )
        }
        return root
    }

    /// The trap: a blocked message says to acknowledge the risk in the script, but dev already
    /// ran it; the edit must not lock dev out with a checksum mismatch. Rows an older Tidemark
    /// wrote with the whole file's checksum still match; a real edit still blocks.
    @Test func acknowledgingARiskInAScriptDevAlreadyRanLeavesDevAlone() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let applied = try await CommandRunner.run(["apply", "-i", "inventories/demo.yaml", "--env", "dev"], in: root)
        #expect(applied.status == 0, "\(applied)")
        let script = root.appendingPathComponent("plans/demo/V4__drop_order_totals.sql")
        let original = try String(contentsOf: script, encoding: .utf8)
        let acknowledged = "-- tidemark:data-loss-ok the billing service owns totals now\n" + original
        try acknowledged.write(to: script, atomically: true, encoding: .utf8)

        let plan = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml", "--env", "dev"], in: root)
        #expect(plan.status == 0, "\(plan)")
        #expect(plan.standardOutput.contains("  dev            none        4 → 4"), "\(plan)")

        // A row an older Tidemark wrote after the acknowledgement was added holds the whole file's checksum.
        let whole = try await ExternalTool.run(
            "python3",
            ["-c", "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", script.path])
        let checksum = whole.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let update = try await ExternalTool.run(
            "python3",
            [
                "-c",
                "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute(\"UPDATE tidemark_history SET checksum=? WHERE version='4'\", (sys.argv[2],)); db.commit()",
                root.appendingPathComponent(".tidemark/demo/dev.db").path, checksum,
            ])
        #expect(update.status == 0, "\(update)")
        let legacy = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml", "--env", "dev"], in: root)
        #expect(legacy.status == 0, "\(legacy)")

        // Anything else in the script is a change: blocked, as before.
        try (acknowledged + "-- and one more thing\n").write(to: script, atomically: true, encoding: .utf8)
        let changed = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml", "--env", "dev"], in: root)
        #expect(changed.status == 3, "\(changed)")
        #expect(changed.standardOutput.contains("checksum"), "\(changed)")
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
        let devUndo = lines.drop { !$0.hasPrefix("  dev ") }.dropFirst(2).prefix(4).map {
            $0.split(separator: " ").prefix(2).joined(separator: " ")
        }
        #expect(devUndo == ["undo 4", "undo 3", "undo 2", "undo 1"], "\(plan)")

        let down = try await CommandRunner.run(
            ["apply", "-i", "inventories/demo.yaml", "--env", "dev", "--to", "0"], in: root)
        #expect(down.status == 0, "\(down)")
        let again = try await CommandRunner.run(
            ["plan", "-i", "inventories/demo.yaml", "--env", "dev", "--to", "0"], in: root)
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
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent(name), withIntermediateDirectories: false)
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
