import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// `approval: required` across real runner processes sharing a control database: they wait at
/// the wave until `tidemark approve` from a third process; `tidemark reject` halts the run.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct ApprovalTests {
    /// Waits until the run's `wave.awaiting_approval` event for `second` is stored, and returns the run id.
    func awaitingRun(_ fleet: ControlFleet) async throws -> String {
        let session = try fleet.session()
        defer { session.close() }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while clock.now < deadline {
            // The first runner creates the control schema.
            guard try session.query("SELECT to_regclass('tidemark_control.events') IS NOT NULL").first?.first == "t"
            else {
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            let rows = try session.query(
                """
                SELECT run_id, event->>'reason' FROM tidemark_control.events
                WHERE event->>'event' = 'wave.awaiting_approval' AND event->>'environment' = 'second'
                """)
            if let row = rows.first, let runID = row[0] {
                #expect(rows.count == 1, "told once, whatever the number of runners")
                #expect(
                    row[1]?.hasPrefix("tidemark approve \(runID) --env second --control ") == true, "\(row[1] ?? "")")
                return runID
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no runner said the wave awaits approval")
        return ""
    }

    @Test func twoRunnersWaitAtTheWaveUntilApprovedFromAThirdProcess() async throws {
        let fleet = try ControlFleet(perWave: 2, stepSeconds: 0, secondApproval: true)
        defer { fleet.remove() }
        let runners = try (0..<2).map { _ in try CommandRunner.launch(fleet.apply(), in: fleet.directory) }
        let runID = try await awaitingRun(fleet)
        let session = try fleet.session()
        defer { session.close() }
        for target in fleet.targets where target.name.hasPrefix("b-") {
            #expect(try fleet.history(target.schema, on: session).isEmpty, "\(target.name) started before the approval")
        }
        let approved = try await CommandRunner.run(
            [
                "approve", runID, "--env", "second", "--control", fleet.url, "--note", "change 4711", "--as",
                "Release Manager",
            ], in: fleet.directory)
        #expect(approved.status == 0, "\(approved)")
        #expect(approved.standardOutput.contains("wave second approved by "), "\(approved)")
        #expect(approved.standardOutput.contains("(as Release Manager; database user "), "\(approved)")
        for runner in runners {
            let result = await runner.wait()
            #expect(result.status == 0, "\(result)")
        }
        for target in fleet.targets {
            #expect(
                try fleet.history(target.schema, on: session) == ["forward 1", "forward 2", "forward 3", "forward 4"],
                "\(target.name)")
        }
        let row = try session.query(
            "SELECT decision, os_user, as_name, session_user_name, note FROM tidemark_control.approvals WHERE run_id = $1",
            [runID])
        #expect(
            row.first?[0] == "approved" && row.first?[2] == "Release Manager" && row.first?[4] == "change 4711",
            "\(row)")
        #expect(row.first?[1].map { !$0.isEmpty } == true && row.first?[3].map { !$0.isEmpty } == true, "\(row)")
        let again = try await CommandRunner.run(
            ["approve", runID, "--env", "second", "--control", fleet.url], in: fleet.directory)
        #expect(again.status == 2, "\(again)")
        // Who, when, the note: in the run's report and on its page (docs/on-call.md#approvals).
        let shown = try await CommandRunner.run(
            ["report", runID, "--control", fleet.url, "--json", "--html", "run.html"], in: fleet.directory)
        #expect(shown.status == 0, "\(shown)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(shown.standardOutput.utf8)) as? [String: Any])
        let approvals = try #require(report["approvals"] as? [[String: Any]], "\(shown)")
        #expect(approvals.count == 1)
        let recorded = try #require(approvals.first)
        #expect(recorded["environment"] as? String == "second" && recorded["decision"] as? String == "approved")
        #expect(recorded["as"] as? String == "Release Manager" && recorded["note"] as? String == "change 4711")
        #expect(recorded["channel"] as? String == "command" && recorded["decidedAt"] is String, "\(recorded)")
        #expect((recorded["sessionUser"] as? String)?.isEmpty == false && recorded["osUser"] is String, "\(recorded)")
        let page = try String(contentsOf: fleet.directory.appendingPathComponent("run.html"), encoding: .utf8)
        #expect(page.contains("<h2>Approvals</h2>") && page.contains("change 4711"))
        // Each runner's own report holds them too.
        let runs = fleet.directory.appendingPathComponent(".tidemark/runs")
        let own = try FileManager.default.contentsOfDirectory(atPath: runs.path).filter {
            $0.hasPrefix(runID) && $0.hasSuffix(".json")
        }
        #expect(own.count == 2, "\(own)")
        for file in own {
            let text = try String(contentsOf: runs.appendingPathComponent(file), encoding: .utf8)
            #expect(text.contains("\"approvals\"") && text.contains("Release Manager"), "\(file)")
        }
    }

    @Test func rejectHaltsTheRunAtTheWaveAndItsRunnersEnd() async throws {
        let fleet = try ControlFleet(perWave: 2, stepSeconds: 0, secondApproval: true)
        defer { fleet.remove() }
        let runners = try (0..<2).map { _ in try CommandRunner.launch(fleet.apply(), in: fleet.directory) }
        let runID = try await awaitingRun(fleet)
        let wrong = try await CommandRunner.run(
            ["reject", runID, "--env", "first", "--control", fleet.url], in: fleet.directory)
        #expect(wrong.status == 2, "\(wrong)")
        #expect(
            wrong.standardError.contains(
                "environment first does not wait for approval; the waves that wait for approval are second."),
            "\(wrong)")
        let rejected = try await CommandRunner.run(
            ["reject", runID, "--env", "second", "--control", fleet.url, "--note", "freeze"], in: fleet.directory)
        #expect(rejected.status == 0, "\(rejected)")
        #expect(rejected.standardOutput.contains("wave second rejected by "), "\(rejected)")
        var outputs: [String] = []
        for runner in runners {
            let result = await runner.wait()
            #expect(result.status == 1, "the second wave's targets are skipped: \(result)")
            outputs.append(result.standardOutput)
        }
        #expect(outputs.joined().contains("rejected by"), "\(outputs)")
        let session = try fleet.session()
        defer { session.close() }
        for target in fleet.targets where target.name.hasPrefix("b-") {
            #expect(try fleet.history(target.schema, on: session).isEmpty, "\(target.name) started after the rejection")
        }
    }

    @Test func approveIsAUsageErrorForARunSharedThroughTheInventorysControlDatabase() async throws {
        let fleet = try ControlFleet(perWave: 1, stepSeconds: 0, secondApproval: true)
        defer { fleet.remove() }
        let inventory = fleet.directory.appendingPathComponent("inventories/fleet.yaml")
        try (String(contentsOf: inventory, encoding: .utf8) + "control: { url: \"\(fleet.url)\" }\n").write(
            to: inventory, atomically: true, encoding: .utf8)
        let result = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--yes", "--approve", "second"], in: fleet.directory)
        #expect(result.status == 2, "\(result)")
        #expect(
            result.standardError.contains("--approve second: this run is shared through the control database"),
            "\(result)")
        let session = try fleet.session()
        defer { session.close() }
        for target in fleet.targets { #expect(try fleet.history(target.schema, on: session).isEmpty) }
    }
}
