import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// A runner says it was stopped, and who it is (docs/many-runners.md#runners-names-and-stops):
/// real runner processes on a real PostgreSQL control database.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct RunnerStopTests {
    /// Waits (up to a minute), on a thread of its own, until `sql` over the fleet's control
    /// database returns a row whose first column is `t`; false when it never does.
    static func waitUntil(_ fleet: ControlFleet, _ sql: String, _ parameters: [String?] = []) async throws -> Bool {
        let url = fleet.url
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
            let thread = Thread {
                do {
                    let session = try PostgresSession(
                        target: Target(name: "test", environment: "", connection: .url(url)), timeouts: .standard,
                        logger: .silent)
                    defer { session.close() }
                    let deadline = ContinuousClock.now + .seconds(60)
                    while ContinuousClock.now < deadline {
                        if try session.query("SELECT to_regclass('tidemark_control.runs') IS NOT NULL").first?.first
                            == "t",
                            try session.query(sql, parameters).first?.first == "t"
                        {
                            continuation.resume(returning: true)
                            return
                        }
                        Thread.sleep(forTimeInterval: 0.01)
                    }
                    continuation.resume(returning: false)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// Asks the fleet's run to stop as `tidemark stop` does (the same statement) and returns its
    /// id: at once, where starting two more processes on a loaded machine took longer than the
    /// run (`ManyRunnersTests.stopStopsEveryRunner` runs the command itself).
    static func stop(_ fleet: ControlFleet) throws -> String {
        let session = try fleet.session()
        defer { session.close() }
        let rows = try session.query(
            "UPDATE tidemark_control.runs SET stop_requested = true WHERE inventory = $1 AND state = 'running' RETURNING run_id",
            [fleet.name])
        return try #require(rows.first?.first ?? nil, "the run had finished before the stop")
    }

    /// `tidemark stop` while two named runners work (the default 30 s lease: the stop reaches a
    /// runner through its next claim, long before its lease keeper renews): each exits 130, says so in its summary
    /// line, and its own report says `interrupted: true`; `tidemark report RUN_ID` lists the two
    /// runners' reports and `--runner NAME` picks one.
    @Test func stoppedRunnersExit130AndSaySoInTheirSummaryAndReport() async throws {
        let fleet = try ControlFleet(perWave: 4, stepSeconds: 0.5)
        defer { fleet.remove() }
        let runners = try ["r1", "r2"].map { name in
            try CommandRunner.launch(fleet.apply(["--runner", name, "--concurrency", "1"]), in: fleet.directory)
        }
        // Both joined, and one holds a claim: the run is under way for both.
        #expect(
            try await Self.waitUntil(
                fleet,
                """
                SELECT (SELECT count(*) FROM tidemark_control.runners j WHERE j.run_id = r.run_id) = 2
                    AND EXISTS (SELECT 1 FROM tidemark_control.targets t WHERE t.run_id = r.run_id AND t.state = 'claimed')
                FROM tidemark_control.runs r WHERE r.inventory = $1
                """, [fleet.name]), "the runners never both joined and claimed")
        let runID = try Self.stop(fleet)
        for (name, runner) in zip(["r1", "r2"], runners) {
            let result = await runner.wait()
            #expect(result.status == 130, "\(name): \(result)")
            #expect(
                result.standardOutput.contains("as runner \(name)/\(runner.processIdentifier)-"), "\(name): \(result)")
            let summary = try #require(
                result.standardOutput.split(separator: "\n").first {
                    $0.hasPrefix("run \(runID): ") && $0.contains(" target")
                })
            #expect(
                summary.hasSuffix("; stopped: running steps finished or rolled back, nothing new started"), "\(summary)"
            )
            #expect(result.standardOutput.contains("stopped by `tidemark stop \(runID)`"), "\(name): \(result)")
        }
        let runs = fleet.directory.appendingPathComponent(".tidemark/runs")
        let reports = try FileManager.default.contentsOfDirectory(atPath: runs.path).filter { $0.hasSuffix(".json") }
        #expect(reports.count == 2, "\(reports)")
        for file in reports {
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: runs.appendingPathComponent(file)))
                    as? [String: Any])
            #expect(report["interrupted"] as? Bool == true, "\(file)")
            #expect((report["runner"] as? String)?.hasPrefix("r") == true, "\(file)")
        }
        let both = try await CommandRunner.run(["report", runID], in: fleet.directory)
        #expect(both.status == 2, "\(both)")
        #expect(
            both.standardError.contains(
                "run \(runID) has no report of its own here but one from each of 2 runners: r1/"), "\(both)")
        #expect(both.standardError.contains("pick one with --runner NAME (or its runner id)"), "\(both)")
        let one = try await CommandRunner.run(["report", runID, "--runner", "r2", "--json"], in: fleet.directory)
        #expect(one.status == 130, "\(one)")
        let picked = try #require(
            try JSONSerialization.jsonObject(with: Data(one.standardOutput.utf8)) as? [String: Any])
        #expect((picked["runner"] as? String)?.hasPrefix("r2/") == true, "\(picked)")
    }

    /// A stop wins over a halted wave in the exit code: the first wave halts (a-02 fails), its
    /// other targets still finish (a test wave), and the stop arrives meanwhile: 130, not 1.
    @Test func aStopWinsOverAHaltedWave() async throws {
        let fleet = try ControlFleet(perWave: 4, stepSeconds: 0.5, maxFailures: nil)
        defer { fleet.remove() }
        let broken = fleet.targets[1]
        let setup = try fleet.session()
        try setup.execute(
            "CREATE SCHEMA \(TestPostgres.quoted(broken.schema)); CREATE TABLE \(TestPostgres.quoted(broken.schema)).t1 (id int)"
        )
        setup.close()
        let runner = try CommandRunner.launch(fleet.apply(), in: fleet.directory)
        #expect(
            try await Self.waitUntil(
                fleet,
                """
                SELECT r.halted IS NOT NULL AND EXISTS (SELECT 1 FROM tidemark_control.targets t WHERE t.run_id = r.run_id AND t.state = 'claimed')
                FROM tidemark_control.runs r WHERE r.inventory = $1
                """, [fleet.name]), "the wave never halted with a target still running")
        _ = try Self.stop(fleet)
        let result = await runner.wait()
        #expect(result.status == 130, "\(result)")
        #expect(result.standardOutput.contains("later waves halted for every runner"), "\(result)")
        #expect(result.standardOutput.contains("; stopped: "), "\(result)")
    }

    /// Without --runner the runner is named after the pod or host (HOSTNAME).
    @Test func aRunnerIsNamedAfterItsHostByDefault() async throws {
        let fleet = try ControlFleet(perWave: 1, stepSeconds: 0)
        defer { fleet.remove() }
        let result = try await CommandRunner.run(fleet.apply(), in: fleet.directory, environment: ["HOSTNAME": "pod-7"])
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains(": created as runner pod-7/"), "\(result)")
        let bad = try await CommandRunner.run(fleet.apply(["--runner", "a/b"]), in: fleet.directory)
        #expect(bad.status == 2, "\(bad)")
        #expect(
            bad.standardError.contains(
                "--runner a/b: a runner name holds only letters, digits, '.', '_', '-' and '@'."), "\(bad)")
    }
}
