import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// The wave policy across real runner processes sharing one run: failure budgets, exit codes,
/// an environment's concurrency (docs/running.md#waves-and-failure-budgets).
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct SharedWaveTests {
    /// Three runners; the first wave (test tier, no `max_failures`: the default 0) has one failing
    /// target, a-02, served by the first runner alone. The two others each run one first-wave
    /// target that succeeds and serve the second wave, which the failure halted: they exit 1 too.
    /// The halted non-prod wave still finishes its own targets; nothing of the second wave starts.
    @Test func runnersWhoseServedWaveWasHaltedExitOneAndTheHaltedTestWaveFinishesItsOwn() async throws {
        let fleet = try ControlFleet(perWave: 3, stepSeconds: 0.3, maxFailures: nil)
        defer { fleet.remove() }
        let broken = fleet.targets[1]
        let setup = try fleet.session()
        try setup.execute(
            "CREATE SCHEMA \(TestPostgres.quoted(broken.schema)); CREATE TABLE \(TestPostgres.quoted(broken.schema)).t1 (id int)"
        )
        setup.close()
        let selections = [
            ["--serve", "a-02"], ["--serve", "a-01", "--serve", "second"], ["--serve", "a-03", "--serve", "second"],
        ]
        let runners = try selections.map { try CommandRunner.launch(fleet.apply($0), in: fleet.directory) }
        var results: [CommandRunner.Result] = []
        for runner in runners { results.append(await runner.wait()) }
        for (index, result) in results.enumerated() { #expect(result.status == 1, "runner \(index): \(result)") }
        let session = try fleet.session()
        defer { session.close() }
        for target in fleet.targets where target.name.hasPrefix("b-") {
            #expect(try fleet.history(target.schema, on: session).isEmpty, "\(target.name) was started after the halt")
        }
        for target in fleet.targets where target.name == "a-01" || target.name == "a-03" {
            #expect(
                try fleet.history(target.schema, on: session) == ["forward 1", "forward 2", "forward 3", "forward 4"],
                "\(target.name): a halted test wave finishes its own targets")
        }
        #expect(results[1].standardOutput.contains("skipped"), "\(results[1])")
    }

    /// `max_failures: 1` on the first wave: one failure there lets the second wave run; only the
    /// runner that ran the failing target exits 1.
    @Test func aBudgetOfOneLetsTheLaterWaveRunDespiteOneFailure() async throws {
        let fleet = try ControlFleet(perWave: 2, stepSeconds: 0, maxFailures: 1)
        defer { fleet.remove() }
        let broken = fleet.targets[1]
        let setup = try fleet.session()
        try setup.execute(
            "CREATE SCHEMA \(TestPostgres.quoted(broken.schema)); CREATE TABLE \(TestPostgres.quoted(broken.schema)).t1 (id int)"
        )
        setup.close()
        let failing = try await CommandRunner.run(fleet.apply(["--serve", "a-02"]), in: fleet.directory)
        #expect(failing.status == 1, "\(failing)")
        let rest = try await CommandRunner.run(
            fleet.apply(["--serve", "a-01", "--serve", "second"]), in: fleet.directory)
        #expect(rest.status == 0, "\(rest)")
        let session = try fleet.session()
        defer { session.close() }
        for target in fleet.targets where target.name.hasPrefix("b-") {
            #expect(
                try fleet.history(target.schema, on: session) == ["forward 1", "forward 2", "forward 3", "forward 4"],
                "\(target.name)")
        }
    }

    /// Three runners at `--concurrency 4` on a wave of eight targets whose environment says
    /// `concurrency: 2`: never more than two of them in flight at once, measured from the
    /// targets' own history rows.
    @Test func anEnvironmentsConcurrencyHoldsAcrossRunners() async throws {
        let fleet = try ControlFleet(perWave: 8, stepSeconds: 0.15, firstConcurrency: 2)
        defer { fleet.remove() }
        let runners = try (0..<3).map { _ in
            try CommandRunner.launch(fleet.apply(["--concurrency", "4"]), in: fleet.directory)
        }
        var results: [CommandRunner.Result] = []
        for runner in runners { results.append(await runner.wait()) }
        for result in results { #expect(result.status == 0, "\(result)") }
        let session = try fleet.session()
        defer { session.close() }
        let spans = try fleet.spans(on: session)
        #expect(spans.count == fleet.targets.count)
        #expect(ControlFleet.mostAtOnce(spans, prefix: "a-") == 2, "\(spans)")
        // The second wave names no limit of its own: the runners' workers are its only limit.
        #expect(ControlFleet.mostAtOnce(spans, prefix: "b-") > 2, "\(spans)")
    }

    /// A run opened now stores every wave's budget (0 by default, non-prod too). A run opened by
    /// an older Tidemark stored none outside prod: it keeps the old meaning (a failure stops
    /// nothing) and the runner says so once.
    @Test func aRunOpenedByAnOlderTidemarkKeepsItsUnlimitedBudgetAndSaysSoOnce() async throws {
        let fleet = try ControlFleet(perWave: 2, stepSeconds: 0, maxFailures: nil)
        defer { fleet.remove() }
        let broken = fleet.targets[1]
        let session = try fleet.session()
        defer { session.close() }
        try session.execute(
            "CREATE SCHEMA \(TestPostgres.quoted(broken.schema)); CREATE TABLE \(TestPostgres.quoted(broken.schema)).t1 (id int)"
        )
        // A runner serving nothing opens the run and leaves it to others.
        let opener = try await CommandRunner.run(fleet.apply(["--serve", "nowhere"]), in: fleet.directory)
        #expect(opener.status == 0, "\(opener)")
        let runID = try #require(ControlFleet.runID(in: opener.standardOutput), "\(opener)")
        let budgets = try session.query(
            "SELECT environment, max_failures FROM tidemark_control.waves WHERE run_id = $1 ORDER BY wave", [runID])
        #expect(budgets.map { "\($0[0] ?? "") \($0[1] ?? "null")" } == ["first 0", "second 0"])

        // As version 3 of the control schema stored it: no wave rows, no budget outside prod.
        try session.query("DELETE FROM tidemark_control.waves WHERE run_id = $1", [runID])
        try session.query("UPDATE tidemark_control.targets SET max_failures = NULL WHERE run_id = $1", [runID])
        let runner = try await CommandRunner.run(fleet.apply(["--run-id", runID]), in: fleet.directory)
        #expect(runner.status == 1, "a-02 failed: \(runner)")
        let said =
            (runner.standardOutput + runner.standardError).components(separatedBy: "was opened by an older Tidemark")
            .count - 1
        #expect(said == 1, "\(runner)")
        for target in fleet.targets where target.name.hasPrefix("b-") {
            #expect(
                try fleet.history(target.schema, on: session) == ["forward 1", "forward 2", "forward 3", "forward 4"],
                "\(target.name)")
        }
    }
}
