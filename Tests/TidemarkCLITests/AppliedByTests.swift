import Foundation
import Testing
import TidemarkTestSupport

/// Who ran a run: the OS account of the process (its effective user id in the password
/// database), not `$USER`, which cron, containers and `sudo -u` leave unset or wrong.
@Suite struct AppliedByTests {
    @Test func appliedByIsTheProcessesOSAccountWhateverUSERSays() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-applied-by")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestWorkspace.write(
            [
                "plans/app/V1__t.sql": "CREATE TABLE t (id integer);\n",
                "inventories/app.yaml": """
                inventory: app
                plan: ../plans/app
                environments:
                  dev: { tier: dev, targets: [ { name: dev, url: "sqlite:../dev.db" } ] }
                """,
            ], under: root)
        let entry = try #require(getpwuid(geteuid()), "this process's uid has no password entry")
        let account = String(cString: entry.pointee.pw_name)
        let applied = try await CommandRunner.run(
            ["apply", "-i", "inventories/app.yaml", "--report", "run.json"], in: root,
            environment: ["USER": "not-\(account)", "LOGNAME": "not-\(account)"])
        #expect(applied.status == 0, "\(applied)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("run.json")))
                as? [String: Any])
        let appliedBy = try #require(report["appliedBy"] as? String)
        #expect(appliedBy.hasPrefix("\(account)@"), "\(appliedBy)")
    }
}
