import Foundation
import Testing
import TidemarkTestSupport

/// `tidemark apply` gates and saved rollouts, on the SQLite demo fleet in a scratch copy.
@Suite struct ApplyCommandTests {
    /// A scratch copy of inventories/ and plans/ whose SQLite files live inside it.
    func workspace() throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-apply")
        for folder in ["inventories", "plans"] {
            try FileManager.default.copyItem(
                at: CommandRunner.repositoryRoot.appendingPathComponent(folder), to: root.appendingPathComponent(folder)
            )
        }
        return root
    }

    @Test func prodWritesNeedYesWhenStandardInputIsNotATerminal() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let refused = try await CommandRunner.run(["apply", "-i", "inventories/demo.yaml"], in: root)
        #expect(refused.status == 2, "\(refused)")
        #expect(refused.standardError.contains("refusing to write to 5 prod targets"), "\(refused)")
        #expect(refused.standardError.contains("pass --yes"), "\(refused)")
        // Nothing was written: no database file exists, and status (which never creates one) says so.
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(".tidemark/demo/dev.db").path))
        let status = try await CommandRunner.run(["status", "-i", "inventories/demo.yaml", "--json"], in: root)
        #expect(status.status == 1, "\(status)")
        #expect(!status.standardOutput.contains("\"version\" : \""), "\(status)")
        #expect(
            !FileManager.default.fileExists(atPath: root.appendingPathComponent(".tidemark/demo").path),
            "status created a database")
        // Dev alone needs no confirmation.
        let dev = try await CommandRunner.run(["apply", "-i", "inventories/demo.yaml", "--env", "dev"], in: root)
        #expect(dev.status == 0, "\(dev)")
    }

    /// The row of an unreachable target names it once, in its target column.
    @Test func statusRowOfAnUnreachableTargetNamesItOnce() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        try """
        inventory: gone
        plan: ../plans/demo
        environments:
          dev: { tier: dev, targets: [ { name: t1, url: "sqlite:../data/missing.db" } ] }
        """.write(to: root.appendingPathComponent("inventories/gone.yaml"), atomically: true, encoding: .utf8)
        let status = try await CommandRunner.run(["status", "-i", "inventories/gone.yaml"], in: root)
        #expect(status.status == 1, "\(status)")
        let row = try #require(
            status.standardOutput.split(separator: "\n").first { $0.contains("unreachable") }, "\(status)")
        #expect(row.contains("unreachable: no database at "), "\(row)")
        #expect(row.components(separatedBy: "t1").count == 2, "the name once: \(row)")
    }

    @Test func readCommandsNeverCreateADatabaseAndApplySaysWhenItDoes() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        try """
        inventory: typo
        plan: ../plans/demo
        environments:
          dev: { tier: dev, targets: [ { name: dev, url: "sqlite:../data/dve.db" } ] }
        """.write(to: root.appendingPathComponent("inventories/typo.yaml"), atomically: true, encoding: .utf8)
        let mistyped = root.appendingPathComponent("data/dve.db").path

        let status = try await CommandRunner.run(["status", "-i", "inventories/typo.yaml"], in: root)
        #expect(status.status == 1, "\(status)")
        #expect(
            status.standardOutput.contains("unreachable: no database at \(mistyped); check the path in the inventory"),
            "\(status)")
        let history = try await CommandRunner.run(
            ["history", "-i", "inventories/typo.yaml", "--target", "dev"], in: root)
        #expect(history.status != 0, "\(history)")
        #expect(history.standardError.contains("no database at \(mistyped)"), "\(history)")
        let plan = try await CommandRunner.run(["plan", "-i", "inventories/typo.yaml"], in: root)
        #expect(plan.status == 0 && plan.standardOutput.contains("1 target: 1 forward"), "\(plan)")
        #expect(!FileManager.default.fileExists(atPath: mistyped), "a read command created the database")
        #expect(
            !FileManager.default.fileExists(atPath: root.appendingPathComponent("data").path),
            "a read command created its folder")

        let apply = try await CommandRunner.run(["apply", "-i", "inventories/typo.yaml"], in: root)
        #expect(apply.status == 0, "\(apply)")
        #expect(apply.standardError.contains("dev: created new database at \(mistyped)"), "\(apply)")
        #expect(FileManager.default.fileExists(atPath: mistyped))
        let again = try await CommandRunner.run(["apply", "-i", "inventories/typo.yaml"], in: root)
        #expect(!again.standardError.contains("created new database"), "\(again)")
    }

    @Test func dryRunChangesNothing() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let dryRun = try await CommandRunner.run(["apply", "-i", "inventories/demo.yaml", "--dry-run"], in: root)
        #expect(dryRun.status == 0, "\(dryRun)")
        #expect(
            dryRun.standardOutput.contains("dry run: nothing was changed (7 targets would be written)."), "\(dryRun)")
        let plan = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml"], in: root)
        #expect(plan.standardOutput.contains("7 targets: 7 forward"), "\(plan)")
    }

    @Test func savedRolloutRunsAsPlannedAndRefusesWhenATargetChanged() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let saved = try await CommandRunner.run(
            ["plan", "-i", "inventories/demo.yaml", "--env", "dev", "--out", "dev.json"], in: root)
        #expect(saved.status == 0, "\(saved)")
        let json = try String(contentsOf: root.appendingPathComponent("dev.json"), encoding: .utf8)
        #expect(json.contains("\"schema\" : \"tidemark.rollout/v1\""))
        #expect(json.contains("\"plannedFrom\""))
        let applied = try await CommandRunner.run(["apply", "dev.json"], in: root)
        #expect(applied.status == 0, "\(applied)")
        #expect(applied.standardOutput.contains("1 target: 1 succeeded"), "\(applied)")

        // Plan again, then change the target behind the rollout's back: apply FILE refuses, runs nothing.
        _ = try await CommandRunner.run(
            ["plan", "-i", "inventories/demo.yaml", "--env", "dev", "--to", "3", "--out", "back.json"], in: root)
        let moved = try await CommandRunner.run(
            ["apply", "-i", "inventories/demo.yaml", "--target", "dev", "--to", "2"], in: root)
        #expect(moved.status == 0, "\(moved)")
        let stale = try await CommandRunner.run(["apply", "back.json"], in: root)
        #expect(stale.status == 2, "\(stale)")
        #expect(stale.standardError.contains("refusing to apply a stale rollout; nothing was run."), "\(stale)")
        #expect(stale.standardError.contains("dev: its history changed since the rollout was planned"), "\(stale)")
        let history = try await CommandRunner.run(
            ["history", "-i", "inventories/demo.yaml", "--target", "dev", "--json"], in: root)
        #expect(history.standardOutput.contains("\"applied\" : [\n    \"1\",\n    \"2\"\n  ]"), "\(history)")
    }

    @Test func runReportIsWrittenWithEveryTarget() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try await CommandRunner.run(
            ["apply", "-i", "inventories/demo.yaml", "--yes", "--report", "run.json"], in: root)
        #expect(result.status == 0, "\(result)")
        let data = try Data(contentsOf: root.appendingPathComponent("run.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(report["schema"] as? String == "tidemark.report/v1")
        let targets = try #require(report["targets"] as? [[String: Any]])
        #expect(targets.count == 7)
        #expect(targets.allSatisfy { $0["outcome"] as? String == "succeeded" })
        let attributes = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent("run.json").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
