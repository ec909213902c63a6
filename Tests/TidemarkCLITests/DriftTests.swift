import Foundation
import Testing
import TidemarkTestSupport

/// `status --drift` on the demo fleet: a column added by hand to one target is found and named.
@Suite struct DriftTests {
    /// A scratch copy of inventories/ and plans/ whose SQLite files live inside it.
    func workspace() throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-drift")
        for folder in ["inventories", "plans"] {
            try FileManager.default.copyItem(
                at: CommandRunner.repositoryRoot.appendingPathComponent(folder), to: root.appendingPathComponent(folder)
            )
        }
        try? FileManager.default.removeItem(at: root.appendingPathComponent("plans/demo/fingerprints.json"))
        return root
    }

    /// Changes a database the way a person at a SQL prompt would, outside Tidemark (python3's
    /// sqlite3 module: CI installs python3, not the sqlite3 shell).
    func alterByHand(_ database: URL, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", database.path,
            sql,
        ]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func columnAddedByHandIsReportedAsDrift() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let recorded = try await CommandRunner.run(["rehearse", "--plan", "plans/demo", "--record"], in: root)
        #expect(recorded.standardOutput.contains("fingerprints recorded in"), "\(recorded)")

        let applied = try await CommandRunner.run(["apply", "-i", "inventories/demo.yaml", "--yes"], in: root)
        #expect(applied.status == 0, "\(applied)")
        let clean = try await CommandRunner.run(["status", "-i", "inventories/demo.yaml", "--drift"], in: root)
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.standardOutput.contains("prod-shard-2: none"), "\(clean)")
        #expect(!clean.standardOutput.contains("DRIFT"), "\(clean)")

        try alterByHand(
            root.appendingPathComponent(".tidemark/demo/prod-shard-2.db"),
            "ALTER TABLE accounts ADD COLUMN nickname text")
        let drifted = try await CommandRunner.run(["status", "-i", "inventories/demo.yaml", "--drift"], in: root)
        #expect(drifted.status == 0, "\(drifted)")
        #expect(drifted.standardOutput.contains("prod-shard-2: DRIFT: + column accounts.nickname: text"), "\(drifted)")
        #expect(drifted.standardOutput.contains("prod-shard-1: none"), "\(drifted)")

        let json = try await CommandRunner.run(
            ["status", "-i", "inventories/demo.yaml", "--drift", "--json"], in: root)
        #expect(json.standardOutput.contains("\"status\" : \"drift\""), "\(json)")
        #expect(json.standardOutput.contains("+ column accounts.nickname: text"), "\(json)")
        let plain = try await CommandRunner.run(["status", "-i", "inventories/demo.yaml", "--json"], in: root)
        #expect(!plain.standardOutput.contains("\"drift\""), "plain status must not read catalogs: \(plain)")
    }

    @Test func driftWithoutRecordedFingerprintsSaysHowToRecordThem() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try await CommandRunner.run(["status", "-i", "inventories/demo.yaml", "--drift"], in: root)
        #expect(result.status == 2, "\(result)")
        #expect(result.standardError.contains("tidemark rehearse --plan"), "\(result)")
        #expect(result.standardError.contains("--record"), "\(result)")
    }
}
