import Foundation
import Testing
import TidemarkTestSupport

/// SIGINT during `apply`, and a second `apply` of the same inventory, through the real binary.
@Suite(.serialized) struct InterruptTests {
    /// A plan whose steps each keep SQLite busy for a while, and four targets, two at a time.
    func slowFleet() throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-interrupt")
        let plan = root.appendingPathComponent("plans/slow")
        try FileManager.default.createDirectory(at: plan, withIntermediateDirectories: true)
        for version in 1...3 {
            let slow =
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c;"
            try "CREATE TABLE t\(version) (id int);\n\(slow)\n".write(
                to: plan.appendingPathComponent("V\(version)__slow.sql"), atomically: true, encoding: .utf8)
            try "DROP TABLE t\(version);\n".write(
                to: plan.appendingPathComponent("U\(version)__slow.sql"), atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        try """
        inventory: slow
        plan: ../plans/slow
        concurrency: 2
        environments:
          dev:
            tier: dev
            targets:
              - { name: "db-{1..4}", url: "sqlite:../dbs/db-{1..4}.db" }
        """.write(to: root.appendingPathComponent("inventories/slow.yaml"), atomically: true, encoding: .utf8)
        return root
    }

    /// Starts `tidemark apply` in the background, with its output going to files.
    func startApply(in root: URL, report: String) throws -> Process {
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = ["apply", "-i", "inventories/slow.yaml", "--report", report]
        process.currentDirectoryURL = root
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        return process
    }

    /// Waits (bounded) until the first target's lock file exists: execution is under way (the
    /// database file alone appears while planning reads it, before SIGINT is trapped, and a
    /// loaded machine can be interrupted there).
    func waitUntilRunning(_ root: URL) {
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("dbs/db-1.db.tidemark-lock").path)
            && Date() < deadline
        {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.3)
    }

    @Test func interruptFinishesRunningStepsWritesTheReportAndExits130() async throws {
        let root = try slowFleet()
        defer { try? FileManager.default.removeItem(at: root) }
        let process = try startApply(in: root, report: "interrupted.json")
        waitUntilRunning(root)
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)

        let data = try Data(contentsOf: root.appendingPathComponent("interrupted.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(report["interrupted"] as? Bool == true)
        let outcomes = (report["targets"] as? [[String: Any]] ?? []).compactMap { $0["outcome"] as? String }
        #expect(outcomes.count == 4)
        #expect(!outcomes.contains("failed"), "\(outcomes)")
        #expect(outcomes.contains("skipped"), "targets not started are skipped: \(outcomes)")

        // Nothing is half-applied, and a re-run converges from the real state.
        let rerun = try await CommandRunner.run(["apply", "-i", "inventories/slow.yaml"], in: root)
        #expect(rerun.status == 0, "\(rerun)")
        let plan = try await CommandRunner.run(["plan", "-i", "inventories/slow.yaml"], in: root)
        #expect(plan.standardOutput.contains("4 targets: 4 none"), "\(plan)")
    }

    @Test func aSecondApplyOfTheSameInventoryExits4NamingTheHolder() async throws {
        let root = try slowFleet()
        defer { try? FileManager.default.removeItem(at: root) }
        let first = try startApply(in: root, report: "first.json")
        waitUntilRunning(root)
        let second = try await CommandRunner.run(["apply", "-i", "inventories/slow.yaml"], in: root)
        first.interrupt()
        first.waitUntilExit()
        #expect(second.status == 4, "\(second)")
        #expect(
            second.standardError.contains(
                "another tidemark apply of inventories/slow.yaml is running (pid \(first.processIdentifier)"),
            "\(second)")
        #expect(!second.standardOutput.contains("rollout of plan"), "the second run must not plan: \(second)")
    }
}
