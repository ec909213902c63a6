import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// Change windows in a run shared through a real control database (docs/windows.md#shared-runs):
/// each runner weighs the wave's window before claiming, with the fixed clock `TIDEMARK_NOW`
/// (debug builds); the creator's `--override-window` holds for every runner.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct SharedWindowTests {
    /// The second wave may start writes from Monday to Thursday, 02:00 to 05:00 Berlin.
    static let window = #"[ { days: mon-thu, from: "02:00", to: "05:00", tz: Europe/Berlin } ]"#
    /// Tuesday 10:00 Berlin: outside it.
    static let outside = ["TIDEMARK_NOW": "2026-12-08T10:00:00+01:00"]

    /// `tidemark report RUN_ID --control URL --json`, parsed.
    func report(_ runID: String, _ fleet: ControlFleet) async throws -> [String: Any] {
        let shown = try await CommandRunner.run(
            ["report", runID, "--control", fleet.url, "--json"], in: fleet.directory)
        #expect(shown.status == 5 || shown.status == 0, "\(shown)")
        return try #require(try JSONSerialization.jsonObject(with: Data(shown.standardOutput.utf8)) as? [String: Any])
    }

    @Test func outsideTheWindowEveryRunnerDefersTheWaveAndExits5() async throws {
        let fleet = try ControlFleet(perWave: 2, stepSeconds: 0, secondWindows: Self.window)
        defer { fleet.remove() }
        let runners = try (0..<2).map { _ in
            try CommandRunner.launch(fleet.apply(), in: fleet.directory, environment: Self.outside)
        }
        var runID: String?
        for runner in runners {
            let result = await runner.wait()
            #expect(result.status == 5, "\(result)")
            runID = runID ?? ControlFleet.runID(in: result.standardOutput)
        }
        let session = try fleet.session()
        defer { session.close() }
        for target in fleet.targets {
            let history = try fleet.history(target.schema, on: session)
            if target.name.hasPrefix("a-") {
                #expect(history == ["forward 1", "forward 2", "forward 3", "forward 4"], "\(target.name)")
            } else {
                #expect(history.isEmpty, "\(target.name) was written outside its window")
            }
        }
        let id = try #require(runID)
        let report = try await report(id, fleet)
        let outcomes = (report["targets"] as? [[String: Any]] ?? []).map {
            "\($0["target"] as? String ?? "") \($0["outcome"] as? String ?? "")"
        }
        #expect(outcomes == ["a-01 succeeded", "a-02 succeeded", "b-01 deferred", "b-02 deferred"], "\(outcomes)")
        let reasons = (report["targets"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(
            reasons.contains(
                "deferred: outside its change window (mon-thu 02:00-05:00 Europe/Berlin); writes may start at 2026-12-09 02:00 Europe/Berlin (2026-12-09T01:00:00Z)"
            ), "\(reasons)")
    }

    @Test func theCreatorsOverrideHoldsForEveryRunnerAndIsRecorded() async throws {
        let fleet = try ControlFleet(perWave: 2, stepSeconds: 0.2, secondWindows: Self.window)
        defer { fleet.remove() }
        let creator = try CommandRunner.launch(
            fleet.apply(["--override-window", "INC-7: the index fixes checkout"]), in: fleet.directory,
            environment: Self.outside.merging(["TIDEMARK_APPLIED_BY": "carol@ops"]) { $1 })
        // The second runner joins once the run (with its override) is stored.
        let session = try fleet.session()
        defer { session.close() }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while clock.now < deadline {
            let stored =
                try session.query("SELECT to_regclass('tidemark_control.runs') IS NOT NULL").first?.first == "t"
                && !(try session.query("SELECT 1 FROM tidemark_control.runs WHERE window_override IS NOT NULL")
                    .isEmpty)
            if stored { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let joiner = try CommandRunner.launch(fleet.apply(), in: fleet.directory, environment: Self.outside)
        var runID: String?
        for runner in [creator, joiner] {
            let result = await runner.wait()
            #expect(result.status == 0, "\(result)")
            runID = runID ?? ControlFleet.runID(in: result.standardOutput)
        }
        for target in fleet.targets {
            #expect(
                try fleet.history(target.schema, on: session) == ["forward 1", "forward 2", "forward 3", "forward 4"],
                "\(target.name)")
        }
        for target in fleet.targets where target.name.hasPrefix("b-") {
            let descriptions = try session.query(
                "SELECT description FROM \(TestPostgres.quoted(target.schema)).tidemark_history ORDER BY id"
            ).compactMap { $0.first ?? nil }
            #expect(
                descriptions.allSatisfy {
                    $0.contains("window override: INC-7: the index fixes checkout (by carol@ops)")
                },
                "\(descriptions)")
        }
        let id = try #require(runID)
        let shown = try await report(id, fleet)
        let override = try #require(shown["windowOverride"] as? [String: Any])
        #expect(override["environments"] as? [String] == ["second"], "\(override)")
        #expect(override["by"] as? String == "carol@ops", "\(override)")
        // And the sinks' run.started says who overrode which windows, and why.
        let started = try session.query(
            "SELECT event->>'reason' FROM tidemark_control.events WHERE run_id = $1 AND event->>'event' = 'run.started'",
            [id])
        #expect(
            started.first?.first == "window override: INC-7: the index fixes checkout (by carol@ops) in second",
            "\(started)")
    }
}
