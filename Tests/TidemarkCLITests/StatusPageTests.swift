import Foundation
import Testing
import TidemarkTestSupport

/// `tidemark status --html FILE` and `tidemark report RUN_ID --html FILE`, through the binary,
/// loaded in headless Chromium.
@Suite struct StatusPageTests {
    @Test func theFleetPageColoursEveryTargetByVersionAndMarksTheDirtyOne() async throws {
        let root = try await GroupedOutputTests.fleet()
        defer { try? FileManager.default.removeItem(at: root) }
        // shard-03: a step outside a transaction failed (dirty).
        let database = root.appendingPathComponent(".tidemark/fleet/shard-03.db").path
        let apply = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--yes", "--target", "shard-03", "--to", "1"], in: root)
        #expect(apply.status == 0, "\(apply)")
        let dirty = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("INSERT INTO tidemark_history (version, description, kind, script, checksum, run_id, applied_by, started_at, execution_ms, success, transactional, error) VALUES ('2', 'add email', 'forward', 'V2__add_email.sql', 'x', 'r', 'ops', '2026-11-29T10:00:00Z', 3, 0, 0, 'statement 2 of 3 failed')")
            db.commit()
            """
        let python = try await ExternalTool.run("python3", ["-c", dirty, database])
        #expect(python.status == 0, "\(python)")

        // Everything else to version 3 (shard-03 stays: it is dirty; shard-40 too: version 9 is
        // unknown to the plan), then shard-{31..39} on to 4.
        let three = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--yes", "--to", "3"], in: root)
        #expect(three.status == 3, "\(three)")
        let four = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--yes", "--to", "4"]
                + (31...39).flatMap { ["--target", "shard-\($0)"] }, in: root)
        #expect(four.status == 0, "\(four)")

        let page = root.appendingPathComponent("fleet.html")
        let status = try await CommandRunner.run(
            ["status", "-i", "inventories/fleet.yaml", "--html", page.path], in: root)
        #expect(status.status == 0, "\(status)")
        let load = try await HeadlessChromium.load(page)
        #expect(load.console.isEmpty, "console: \(load.console)")
        #expect(load.requests.isEmpty)
        let dom = load.dom
        let has = { (text: String) in dom.contains(text) }
        let names = ["dev-1", "dev-2"] + (1...40).map { String(format: "shard-%02d", $0) }
        #expect(names.filter { !has("data-target=\"\($0)\"") }.isEmpty)
        #expect(has("class=\"cell dirty\" data-target=\"shard-03\""))
        #expect(has("shard-40 v9"))
        #expect(has("<b>1</b> dirty"))
        #expect(has("prod · 40 targets: 1 at v1, 29 at v3, 9 at v4, 1 at v9"))
        #expect(has("dev · 2 targets: 2 at v3"))
        let shot = HeadlessChromium.artifacts.appendingPathComponent("status-fleet.png")
        _ = try await HeadlessChromium.load(page, screenshot: shot, height: 700)
        #expect(FileManager.default.fileExists(atPath: shot.path))
    }

    /// The demo's 3 a.m. moment: v4 quarantined, no compensation yet. Live prod is blocked on v4;
    /// apply's outcome lines and `report` say so with the reason, and the fleet page counts the
    /// targets sitting on quarantined v4 as not at their desired state (it said `0 behind`).
    @Test func blockedTargetsAndQuarantinedVersionsAreVisibleInApplyReportAndThePage() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-blocked-visible")
        defer { try? FileManager.default.removeItem(at: root) }
        for folder in ["inventories", "plans"] {
            try FileManager.default.copyItem(
                at: CommandRunner.repositoryRoot.appendingPathComponent(folder), to: root.appendingPathComponent(folder)
            )
        }
        let first = try await CommandRunner.run(["apply", "-i", "inventories/demo.yaml", "--yes"], in: root)
        #expect(first.status == 0, "\(first)")
        let quarantine = try await CommandRunner.run(
            ["quarantine", "4", "--reason", "still read by invoicing", "-i", "inventories/demo.yaml"], in: root)
        #expect(quarantine.status == 0, "\(quarantine)")

        let apply = try await CommandRunner.run(["apply", "-i", "inventories/demo.yaml", "--yes"], in: root)
        #expect(apply.status == 3, "\(apply)")
        let outcomes = apply.standardOutput.components(separatedBy: "wave 1/").dropFirst().joined()
        #expect(
            outcomes.contains("blocked     prod-eu-1 (prod) blocked 4 → 4\n            prod-eu-1 is live production"),
            "\(apply)")
        #expect(outcomes.contains("write one with `tidemark revert 4 -i inventories/demo.yaml`"), "\(apply)")

        let runID = try #require(
            apply.standardOutput.components(separatedBy: "run ").last?.split(separator: ":").first.map(String.init))
        let report = try await CommandRunner.run(["report", runID], in: root)
        #expect(report.status == 3, "the run's exit code: \(report)")
        #expect(
            report.standardOutput.contains(
                "prod-eu-1 is live production: roll forward keeps the audit trail, but version 4 has no compensating migration"
            ), "\(report)")

        let status = try await CommandRunner.run(
            ["status", "-i", "inventories/demo.yaml", "--json", "--html", "fleet.html"], in: root)
        #expect(status.status == 0, "\(status)")
        #expect(
            status.standardOutput.components(separatedBy: "\"converged\" : false").count - 1 == 4,
            "the four live prod targets on v4: \(status)")
        let page = try String(contentsOf: root.appendingPathComponent("fleet.html"), encoding: .utf8)
        #expect(page.contains("<b>4</b> behind"), "\(page.prefix(2000))")
    }

    @Test func reportRewritesTheRunPageAndPrintsTheRunGrouped() async throws {
        let root = try await GroupedOutputTests.fleet()
        defer { try? FileManager.default.removeItem(at: root) }
        let apply = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--yes", "--env", "dev"], in: root)
        #expect(apply.status == 0, "\(apply)")
        let runs = try FileManager.default.contentsOfDirectory(
            atPath: root.appendingPathComponent(".tidemark/runs").path
        ).sorted()
        // The run apply printed: the fixture's own run may share its second, and ids sort by their random part.
        let summary = try #require(apply.standardOutput.split(separator: "\n").first { $0.hasPrefix("run ") })
        let runID = String(summary.dropFirst(4).prefix { $0 != ":" })
        #expect(runs.contains("\(runID).html"), "every run writes its page: \(runs)")

        let report = try await CommandRunner.run(["report", runID, "--html", "again.html"], in: root)
        #expect(report.status == 0, "\(report)")
        #expect(report.standardOutput.contains("succeeded   dev-{1..2} (2 targets) (dev) forward - → 4"), "\(report)")
        // The same page, but for timings: the JSON report keeps whole seconds.
        let again = try String(contentsOf: root.appendingPathComponent("again.html"), encoding: .utf8)
        let cells = { (page: String) in page.components(separatedBy: "data-target=").dropFirst().map { $0.prefix(40) } }
        let original = try String(
            contentsOf: root.appendingPathComponent(".tidemark/runs/\(runID).html"), encoding: .utf8)
        #expect(again.contains("<h1>Run \(runID) "))
        #expect(cells(again) == cells(original) && cells(again).count == 2)

        let json = try await CommandRunner.run(["report", runID, "--json"], in: root)
        #expect(json.standardOutput.contains("\"schema\" : \"tidemark.report/v1\""))
        let missing = try await CommandRunner.run(["report", "no-such-run"], in: root)
        #expect(missing.status == 2)
        #expect(
            missing.standardError.contains("cannot read the report of run no-such-run (no such file)"), "\(missing)")
    }
}
