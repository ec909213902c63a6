import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// Real `tidemark` processes sharing one run through a real PostgreSQL control database, with
/// PostgreSQL schema targets in the same cluster
/// (docs/many-runners.md#one-run-across-runners-a-control-database).
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct ManyRunnersTests {
    /// Three runners, one killed with SIGKILL at a random moment, three trials: every target
    /// converges, no step runs twice, the report lists every target once, and the webhook gets
    /// each event once (once per delivery id: what a killed deliverer had in flight comes again
    /// under the same id).
    @Test func runnerKilledMidRunIsTakenOverAndEveryTargetConvergesOnce() async throws {
        for trial in 1...3 {
            let receiver = try HTTPTestReceiver()
            defer { receiver.stop() }
            let fleet = try ControlFleet(perWave: 4, stepSeconds: 0.25, notifyURL: receiver.url())
            defer { fleet.remove() }
            let runners = try (0..<3).map { _ in
                try CommandRunner.launch(fleet.apply(["--lease", "1s"]), in: fleet.directory)
            }
            // The victim: a runner seen holding a claim, after a random pause from the start, killed
            // at once (a pause after the claim could let it finish its last target first).
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...800)))
            let pids = runners.map(\.processIdentifier)
            let claiming = try #require(
                try await fleet.claimingRunner(among: pids), "trial \(trial): no runner ever claimed")
            let victim = try #require(pids.firstIndex(of: claiming))
            runners[victim].send(SIGKILL)
            var results: [CommandRunner.Result] = []
            for runner in runners { results.append(await runner.wait()) }
            let survivors = results.enumerated().filter { $0.offset != victim }.map(\.element)
            for result in survivors { #expect(result.status == 0, "trial \(trial): \(result)") }
            #expect(results[victim].status != 0, "trial \(trial): the victim was killed")
            let runID = try #require(
                survivors.compactMap { ControlFleet.runID(in: $0.standardOutput) }.first, "trial \(trial)")

            // Every target at version 4, each version applied exactly once, nothing failed.
            let session = try fleet.session()
            for target in fleet.targets {
                #expect(
                    try fleet.history(target.schema, on: session) == [
                        "forward 1", "forward 2", "forward 3", "forward 4",
                    ],
                    "trial \(trial): \(target.name)")
            }

            // The run's report from the control database: every target once.
            let report = try await CommandRunner.run(
                ["report", runID, "--control", fleet.url, "--json"], in: fleet.directory)
            #expect(report.status == 0, "\(report)")
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any])
            let reported = (document["targets"] as? [[String: Any]] ?? []).compactMap { $0["target"] as? String }
            #expect(reported.sorted() == fleet.targets.map(\.name).sorted(), "trial \(trial)")
            let outcomes = Set((document["targets"] as? [[String: Any]] ?? []).compactMap { $0["outcome"] as? String })
            #expect(outcomes.isSubset(of: ["succeeded", "unchanged"]), "trial \(trial): \(outcomes)")

            // Events: stored once per run; each delivered once per delivery id (a deliverer killed
            // before confirming is sent again by the next under the same ids, which receivers drop).
            let stored = try session.query(
                "SELECT event->>'event', coalesce(event->>'target', '') FROM tidemark_control.events WHERE run_id = $1",
                [runID])
            let storedKeys = stored.map { "\($0[0] ?? "") \($0[1] ?? "")" }
            #expect(Set(storedKeys).count == storedKeys.count, "trial \(trial): an event stored twice: \(storedKeys)")
            #expect(storedKeys.filter { $0.hasPrefix("run.finished") }.count == 1)
            #expect(storedKeys.filter { $0.hasPrefix("run.started") }.count == 1)
            #expect(
                storedKeys.filter { $0.hasPrefix("target.succeeded") }.count == reported.count
                    - outcomesUnchanged(document))
            let requests = await receiver.waitForRequests(storedKeys.count, timeout: .seconds(10))
            var byDelivery: [String: String] = [:]
            for request in requests {
                guard let body = request.jsonObject(), let id = request.header("X-Tidemark-Delivery") else { continue }
                byDelivery[id] = "\(body["event"] as? String ?? "") \(body["target"] as? String ?? "")"
            }
            let delivered = Array(byDelivery.values)
            #expect(
                Set(delivered).count == delivered.count,
                "trial \(trial): one event under two delivery ids: \(delivered.sorted())")
            #expect(
                Set(delivered) == Set(storedKeys), "trial \(trial): missing \(Set(storedKeys).subtracting(delivered))")
        }
    }

    /// How many targets of a report ended `unchanged` (they produce no event).
    private func outcomesUnchanged(_ document: [String: Any]) -> Int {
        (document["targets"] as? [[String: Any]] ?? []).filter { $0["outcome"] as? String == "unchanged" }.count
    }

    /// The only runner serving wave 1 is killed mid-target and the runner left serves wave 2
    /// only: it waits, and says why (the target, whose lease ran out, `--serve first` or
    /// `tidemark stop`); a runner started for wave 1 takes the target over and the run converges.
    @Test func runnerWaitingOnTargetsOnlyADeadRunnerServedSaysSoUntilOneIsStarted() async throws {
        let fleet = try ControlFleet(perWave: 1, stepSeconds: 1)
        defer { fleet.remove() }
        let doomed = try CommandRunner.launch(fleet.apply(["--serve", "first", "--lease", "1s"]), in: fleet.directory)
        #expect(
            try await fleet.claimingRunner(among: [doomed.processIdentifier]) != nil, "the first runner never claimed")
        doomed.send(SIGKILL)
        _ = await doomed.wait()
        // Its one-second lease runs out: then `tidemark runs` says the run has no live runner.
        try await fleet.waitUntilNoLiveRunner()
        let orphaned = try await CommandRunner.run(["runs", "--control", fleet.url], in: fleet.directory)
        #expect(orphaned.standardOutput.contains(" 1 (0 live) "), "\(orphaned)")
        #expect(
            orphaned.standardOutput.contains(
                "    no live runner: the run waits for one; start a runner, or end it with tidemark stop "),
            "\(orphaned)")
        let waiting = try CommandRunner.launch(
            fleet.apply(["--serve", "second", "--lease", "1s"]), in: fleet.directory)
        // It says so 5 s after it joined without a claim (twice its lease, at least 5 s): wait
        // until it has joined, then give a loaded machine generous room before the rescue starts.
        let session = try fleet.session()
        defer { session.close() }
        let joined = ContinuousClock.now
        while try session.query("SELECT count(*) FROM tidemark_control.runners").first?.first != "2",
            ContinuousClock.now - joined < .seconds(60)
        {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(9))
        // `tidemark runs` counts the dead runner as seen, not as live.
        let runs = try await CommandRunner.run(["runs", "--control", fleet.url, "--json"], in: fleet.directory)
        let listed = try #require(
            try JSONSerialization.jsonObject(with: Data(runs.standardOutput.utf8)) as? [String: Any])
        let run = try #require(
            (listed["runs"] as? [[String: Any]] ?? []).first { $0["inventory"] as? String == fleet.name })
        #expect((run["runners"] as? [String])?.count == 2 && run["liveRunners"] as? Int == 1, "\(run)")
        let table = try await CommandRunner.run(["runs", "--control", fleet.url], in: fleet.directory)
        #expect(table.standardOutput.contains(" 2 (1 live) "), "\(table)")
        let rescue = try await CommandRunner.run(
            fleet.apply(["--serve", "first", "--lease", "1s"]), in: fleet.directory)
        #expect(rescue.status == 0, "\(rescue)")
        let waited = await waiting.wait()
        #expect(waited.status == 0, "\(waited)")
        let runID = try #require(ControlFleet.runID(in: waited.standardOutput), "\(waited)")
        #expect(
            waited.standardError.contains(
                "run \(runID) waits on wave 1 (first): 1 target no live runner serves: a-01 (a-01 was held by runner "),
            "\(waited)")
        #expect(waited.standardError.contains("whose lease ran out"), "\(waited)")
        #expect(
            waited.standardError.contains(
                "Start a runner that serves them (--serve first), or end the run: tidemark stop \(runID) --control …"))
        #expect(!rescue.standardError.contains("no live runner serves"), "the rescue claims at once: \(rescue)")
        // Each runner says when it starts on a wave, and only on the waves it ran.
        #expect(
            rescue.standardOutput.contains("wave 1/2: first (1 target)") && !rescue.standardOutput.contains("wave 2/2"),
            "\(rescue)")
        #expect(
            waited.standardOutput.contains("wave 2/2: second (1 target)")
                && !waited.standardOutput.contains("wave 1/2"), "\(waited)")
        for target in fleet.targets {
            #expect(
                try fleet.history(target.schema, on: session) == ["forward 1", "forward 2", "forward 3", "forward 4"],
                "\(target.name)")
        }
    }

    /// `tidemark stop` on a run whose runners all died does what they would have done: records
    /// what nobody runs as skipped and finishes the run, so the same command starts a new run.
    @Test func stopWithNoLiveRunnerFinishesTheRunItself() async throws {
        let fleet = try ControlFleet(perWave: 2, stepSeconds: 1)
        defer { fleet.remove() }
        let doomed = try CommandRunner.launch(fleet.apply(["--lease", "1s"]), in: fleet.directory)
        #expect(try await fleet.claimingRunner(among: [doomed.processIdentifier]) != nil, "the runner never claimed")
        doomed.send(SIGKILL)
        _ = await doomed.wait()
        try await fleet.waitUntilNoLiveRunner()
        let listed = try await CommandRunner.run(["runs", "--control", fleet.url, "--json"], in: fleet.directory)
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [String: Any], "\(listed)")
        let runID = try #require((document["runs"] as? [[String: Any]])?.first?["runID"] as? String, "\(listed)")

        let stop = try await CommandRunner.run(["stop", runID, "--control", fleet.url], in: fleet.directory)
        #expect(stop.status == 0, "\(stop)")
        #expect(stop.standardOutput.contains("no live runner is left to see it: "), "\(stop)")
        #expect(stop.standardOutput.contains(" nobody was running recorded skipped; the run is finished."), "\(stop)")
        let report = try await CommandRunner.run(
            ["report", runID, "--control", fleet.url, "--json"], in: fleet.directory)
        let assembled = try #require(
            try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any], "\(report)")
        let outcomes = (assembled["targets"] as? [[String: Any]] ?? []).compactMap { $0["outcome"] as? String }
        #expect(outcomes.count == fleet.targets.count && outcomes.contains("skipped"), "\(outcomes)")
        let session = try fleet.session()
        defer { session.close() }
        #expect(
            try session.query("SELECT state FROM tidemark_control.runs WHERE run_id = $1", [runID]).first?.first
                == "finished")
        #expect(
            try session.query(
                "SELECT count(*) FROM tidemark_control.events WHERE run_id = $1 AND event->>'event' = 'run.finished'",
                [runID]
            ).first?.first == "1")

        // The run key is free again: the same command starts a new run (not the stopped one) and
        // converges. The killed runner's server session may still hold a target's lock for a
        // moment after its step ends (exit 4, locked); then the command is simply run again.
        var again = try await CommandRunner.run(fleet.apply(), in: fleet.directory)
        #expect(ControlFleet.runID(in: again.standardOutput).map { $0 != runID } == true, "\(again)")
        if again.status == 4 {
            try await Task.sleep(for: .seconds(2))
            again = try await CommandRunner.run(fleet.apply(), in: fleet.directory)
        }
        #expect(again.status == 0, "\(again)")
        for target in fleet.targets {
            #expect(
                try fleet.history(target.schema, on: session) == ["forward 1", "forward 2", "forward 3", "forward 4"],
                "\(target.name)")
        }
    }

    /// `tidemark runs --prune AGE` deletes the runs that finished before it, with their targets
    /// and events, and keeps newer runs and running ones however old; a bad age exits 2.
    @Test func pruneDeletesOnlyRunsThatFinishedBeforeTheAge() async throws {
        let fleet = try ControlFleet(perWave: 1, stepSeconds: 0)
        defer { fleet.remove() }
        let first = try await CommandRunner.run(fleet.apply(), in: fleet.directory)
        let second = try await CommandRunner.run(fleet.apply(), in: fleet.directory)
        let old = try #require(ControlFleet.runID(in: first.standardOutput), "\(first)")
        let recent = try #require(ControlFleet.runID(in: second.standardOutput), "\(second)")
        #expect(old != recent && first.status == 0 && second.status == 0)
        let session = try fleet.session()
        defer { session.close() }
        try session.query(
            "UPDATE tidemark_control.runs SET finished_at = now() - interval '100 days' WHERE run_id = $1", [old])
        // A run that is still running is kept, however old.
        try session.query(
            """
            INSERT INTO tidemark_control.runs (run_id, run_key, inventory, plan, selection, strategy, scripts, created_by, created_at)
            VALUES ('stale-running', 'k-stale', 'other', 'app', 'all', 'auto', '{}', 'test', now() - interval '200 days')
            """)

        let bad = try await CommandRunner.run(["runs", "--control", fleet.url, "--prune", "90"], in: fleet.directory)
        #expect(bad.status == 2 && bad.standardError.contains("--prune 90: not a duration; use e.g. 90d"), "\(bad)")

        let pruned = try await CommandRunner.run(
            ["runs", "--control", fleet.url, "--prune", "90d"], in: fleet.directory)
        #expect(pruned.status == 0, "\(pruned)")
        // run.started and run.finished: no sink takes target events, so none is stored per target.
        let oldEvents = 2
        #expect(
            pruned.standardOutput.contains(
                "pruned 1 run that finished more than 90d ago (2 targets, \(oldEvents) events); 2 runs kept."),
            "\(pruned)")
        let left = try session.query("SELECT run_id FROM tidemark_control.runs ORDER BY run_id").compactMap {
            $0.first ?? nil
        }
        #expect(Set(left) == [recent, "stale-running"])
        for table in ["targets", "runners", "events"] {
            #expect(
                try session.query("SELECT count(*) FROM tidemark_control.\(table) WHERE run_id = $1", [old]).first?
                    .first == "0", "\(table)")
        }
        let again = try await CommandRunner.run(
            ["runs", "--control", fleet.url, "--prune", "90d", "--json"], in: fleet.directory)
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(again.standardOutput.utf8)) as? [String: Any], "\(again)")
        #expect(document["schema"] as? String == "tidemark.runs.prune/v1")
        #expect((document["pruned"] as? [String: Any])?["runs"] as? Int == 0)
    }

    /// A failure in wave 1 (max_failures: 0) seen by one runner: no runner starts anything of wave 2.
    @Test func failureInFirstWaveHaltsSecondWaveForEveryRunner() async throws {
        let fleet = try ControlFleet(perWave: 3, stepSeconds: 0.05)
        defer { fleet.remove() }
        // a-02 already has t1: its version 1 fails.
        let broken = fleet.targets[1]
        let setup = try fleet.session()
        try setup.execute(
            "CREATE SCHEMA \(TestPostgres.quoted(broken.schema)); CREATE TABLE \(TestPostgres.quoted(broken.schema)).t1 (id int)"
        )
        setup.close()
        let runners = try (0..<3).map { index in
            try CommandRunner.launch(fleet.apply(index == 0 ? ["--serve", "a-02"] : []), in: fleet.directory)
        }
        var results: [CommandRunner.Result] = []
        for runner in runners { results.append(await runner.wait()) }
        #expect(results.contains { $0.status == 1 }, "\(results)")
        let session = try fleet.session()
        for target in fleet.targets where target.name.hasPrefix("b-") {
            #expect(try fleet.history(target.schema, on: session).isEmpty, "\(target.name) was started after the halt")
        }
        #expect(try fleet.history(broken.schema, on: session).first == "failed forward 1")
        let runID = try #require(results.compactMap { ControlFleet.runID(in: $0.standardOutput) }.first)
        let report = try await CommandRunner.run(
            ["report", runID, "--control", fleet.url, "--json"], in: fleet.directory)
        #expect(report.status == 1)
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any])
        for target in document["targets"] as? [[String: Any]] ?? []
        where (target["target"] as? String ?? "").hasPrefix("b-") {
            #expect(target["outcome"] as? String == "skipped")
        }
    }

    /// An unreachable control database at start: exit 2 with the reason, nothing runs.
    @Test func unreachableControlDatabaseAtStartExitsTwoAndRunsNothing() async throws {
        let fleet = try ControlFleet(perWave: 1, stepSeconds: 0)
        defer { fleet.remove() }
        let port = try HTTPTestReceiver.ClosedPort()
        defer { withExtendedLifetime(port) {} }
        let result = try await CommandRunner.run(
            fleet.apply(control: "postgres://tidemark:hunter2@127.0.0.1:\(port.port)/control?connect_timeout=2"),
            in: fleet.directory)
        #expect(result.status == 2, "\(result)")
        #expect(result.standardError.contains("cannot reach the control database, so nothing ran"), "\(result)")
        #expect(!result.standardError.contains("hunter2"))
        let session = try fleet.session()
        for target in fleet.targets { #expect(try fleet.history(target.schema, on: session).isEmpty) }
    }

    /// The control database lost mid-run (its sessions terminated): the runner stops claiming,
    /// finishes its running steps, exits 1 saying so; the same command again converges.
    @Test func controlDatabaseLostMidRunExitsOneAndRerunConverges() async throws {
        let fleet = try ControlFleet(perWave: 4, stepSeconds: 0.15)
        defer { fleet.remove() }
        let control = fleet.url + (fleet.url.contains("?") ? "&" : "?") + "application_name=tm_control_\(fleet.name)"
        let runner = try CommandRunner.launch(fleet.apply(["--lease", "1s"], control: control), in: fleet.directory)
        // Mid-run, whatever the machine's load: once the runner holds a claim.
        #expect(try await fleet.claimingRunner(among: [runner.processIdentifier]) != nil, "the runner never claimed")
        try TestPostgres.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tm_control_\(fleet.name)'"
        )
        let first = await runner.wait()
        #expect(first.status == 1, "\(first)")
        #expect(first.standardError.contains("lost the control database"), "\(first)")
        let again = try await CommandRunner.run(fleet.apply(["--lease", "1s"], control: control), in: fleet.directory)
        #expect(again.status == 0, "\(again)")
        let session = try fleet.session()
        for target in fleet.targets {
            #expect(
                try fleet.history(target.schema, on: session) == ["forward 1", "forward 2", "forward 3", "forward 4"],
                "\(target.name)")
        }
    }

    /// A runner whose plan differs from the run's is refused, naming the first differing script;
    /// a runner that serves no target of the run says so and exits 0.
    @Test func differentPlanIsRefusedAndRunnerServingNothingExitsZero() async throws {
        let fleet = try ControlFleet(perWave: 1, stepSeconds: 0.6)
        defer { fleet.remove() }
        let first = try CommandRunner.launch(fleet.apply(), in: fleet.directory)
        // The run exists once its first runner holds a claim.
        #expect(
            try await fleet.claimingRunner(among: [first.processIdentifier]) != nil, "the first runner never claimed")
        let idle = try await CommandRunner.run(fleet.apply(["--serve", "nowhere"]), in: fleet.directory)
        #expect(idle.status == 0, "\(idle)")
        #expect(idle.standardOutput.contains("serves no target of run"), "\(idle)")
        try "CREATE TABLE t2 (id bigint);\n".write(
            to: fleet.directory.appendingPathComponent("plans/app/V2__t2.sql"), atomically: true, encoding: .utf8)
        let differs = try await CommandRunner.run(fleet.apply(), in: fleet.directory)
        let done = await first.wait()
        #expect(done.status == 0, "\(done)")
        // The first runner may have finished meanwhile; then the changed plan starts a new run and is not refused.
        if differs.status == 2 {
            #expect(
                differs.standardError.contains("V2__t2.sql is not the script the run was planned with"), "\(differs)")
        }
    }

    /// `tidemark stop RUN_ID` stops every runner: running steps finish, the rest is skipped.
    @Test func stopStopsEveryRunner() async throws {
        // Slow steps (4 s of work for the two runners at least), and the stop sent once a runner
        // holds a claim: on a loaded machine starting `runs` and `stop` takes seconds.
        let fleet = try ControlFleet(perWave: 4, stepSeconds: 0.5)
        defer { fleet.remove() }
        let runners = try (0..<2).map { _ in
            try CommandRunner.launch(fleet.apply(["--lease", "1s"]), in: fleet.directory)
        }
        #expect(
            try await fleet.claimingRunner(among: runners.map(\.processIdentifier)) != nil, "no runner ever claimed")
        let runs = try await CommandRunner.run(["runs", "--control", fleet.url, "--json"], in: fleet.directory)
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(runs.standardOutput.utf8)) as? [String: Any])
        let run = try #require(
            (document["runs"] as? [[String: Any]] ?? []).first { $0["inventory"] as? String == fleet.name })
        let runID = try #require(run["runID"] as? String)
        let stop = try await CommandRunner.run(["stop", runID, "--control", fleet.url], in: fleet.directory)
        #expect(stop.status == 0, "\(stop)")
        var results: [CommandRunner.Result] = []
        for runner in runners { results.append(await runner.wait()) }
        for result in results { #expect(result.status == 130 || result.status == 0, "\(result)") }
        let report = try await CommandRunner.run(
            ["report", runID, "--control", fleet.url, "--json"], in: fleet.directory)
        let assembled = try #require(
            try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any])
        let outcomes = (assembled["targets"] as? [[String: Any]] ?? []).compactMap { $0["outcome"] as? String }
        #expect(outcomes.count == fleet.targets.count)
        #expect(outcomes.contains("skipped"), "\(outcomes)")
        // Running steps finished (committed), none failed, none started after the stop reached every runner.
        let session = try fleet.session()
        let all = ["forward 1", "forward 2", "forward 3", "forward 4"]
        for target in fleet.targets {
            let steps = try fleet.history(target.schema, on: session)
            #expect(Array(all.prefix(steps.count)) == steps, "\(target.name): \(steps)")
        }
    }
}

/// Interrupting one runner stops only that runner; `--run-id` joins or is refused.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct RunnerInterruptTests {
    /// SIGINT on one of two runners: it exits 130 after its running steps; the other finishes
    /// the run, including the target the interrupted one was in the middle of, each step once.
    @Test func interruptedRunnerStopsAloneAndTheOtherFinishesItsTargets() async throws {
        let fleet = try ControlFleet(perWave: 3, stepSeconds: 0.2)
        defer { fleet.remove() }
        let interrupted = try CommandRunner.launch(fleet.apply(["--lease", "1s"]), in: fleet.directory)
        // The second runner joins the run the first created (not one of its own).
        #expect(
            try await fleet.claimingRunner(among: [interrupted.processIdentifier]) != nil, "the runner never claimed")
        let other = try CommandRunner.launch(fleet.apply(["--lease", "1s"]), in: fleet.directory)
        // Interrupted in the middle of a target, whatever the machine's load.
        #expect(
            try await fleet.claimingRunner(among: [interrupted.processIdentifier]) != nil, "the runner never claimed")
        interrupted.send(SIGINT)
        let first = await interrupted.wait()
        let second = await other.wait()
        #expect(first.status == 130, "\(first)")
        #expect(second.status == 0, "\(second)")
        let session = try fleet.session()
        for target in fleet.targets {
            #expect(
                try fleet.history(target.schema, on: session) == ["forward 1", "forward 2", "forward 3", "forward 4"],
                "\(target.name)")
        }
    }

    @Test func runIDJoinsThatRunOrIsRefused() async throws {
        let fleet = try ControlFleet(perWave: 1, stepSeconds: 0)
        defer { fleet.remove() }
        let unknown = try await CommandRunner.run(fleet.apply(["--run-id", "no-such-run"]), in: fleet.directory)
        #expect(unknown.status == 2, "\(unknown)")
        #expect(unknown.standardError.contains("no run no-such-run in the control database"), "\(unknown)")
        let first = try await CommandRunner.run(fleet.apply(), in: fleet.directory)
        #expect(first.status == 0, "\(first)")
        let runID = try #require(ControlFleet.runID(in: first.standardOutput))
        let other = try await CommandRunner.run(fleet.apply(["--run-id", runID, "--to", "2"]), in: fleet.directory)
        #expect(other.status == 2, "\(other)")
        #expect(other.standardError.contains("run \(runID) is a rollout of"), "\(other)")
        let again = try await CommandRunner.run(fleet.apply(["--run-id", runID]), in: fleet.directory)
        #expect(again.status == 0, "\(again)")
        #expect(again.standardOutput.contains("run \(runID): joined as runner"), "\(again)")
    }
}
