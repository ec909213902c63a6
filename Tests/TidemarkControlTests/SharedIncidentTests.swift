import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// The incidents of shared runs live in the control database
/// (docs/on-call.md#incidents-open-and-resolve): a run on runner A pages, and a later run served
/// by runner B, on another machine (another working directory, so another state directory),
/// resolves the same `dedup_key`. A stand-in for PagerDuty on 127.0.0.1 through `events_url`.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct SharedIncidentTests {
    @Test func anIncidentOpenedOnOneRunnerIsResolvedByALaterRunOnAnother() async throws {
        let pagerDuty = try HTTPTestReceiver(
            otherwise: .json(202, body: #"{"status":"success","message":"Event processed"}"#))
        let fleet = try ControlFleet(
            perWave: 1, stepSeconds: 0,
            notifySinks: [
                "{ name: pager, type: pagerduty, routing_key_env: TM_TEST_PD_KEY, events_url: \"\(pagerDuty.url(path: "/v2/enqueue"))\" }"
            ])
        defer { fleet.remove() }
        // Runner B's machine: the same inventory and plan, its own (empty) state directory.
        let elsewhere = try CommandRunner.temporaryDirectory("tidemark-runner-b")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        for folder in ["inventories", "plans"] {
            try FileManager.default.copyItem(
                at: fleet.directory.appendingPathComponent(folder), to: elsewhere.appendingPathComponent(folder))
        }
        let environment = ["TM_TEST_PD_KEY": "shared0routing0key000000000001"]
        // a-01 fails: its first table is already there.
        let session = try fleet.session()
        defer { session.close() }
        let schema = TestPostgres.quoted(fleet.targets[0].schema)
        try session.execute("CREATE SCHEMA \(schema); CREATE TABLE \(schema).t1 (id int)")

        let failed = try await CommandRunner.run(
            fleet.apply(["--runner", "runner-a"]), in: fleet.directory, environment: environment)
        #expect(failed.status == 1, "\(failed)")
        let target = "tidemark/\(fleet.name)/a-01"
        let wave = "tidemark/\(fleet.name)/wave/first"
        let triggers = pagerDuty.requests.compactMap { $0.jsonObject() }
        #expect(triggers.map { $0["event_action"] as? String } == ["trigger", "trigger"], "\(triggers)")
        #expect(Set(triggers.compactMap { $0["dedup_key"] as? String }) == [target, wave], "\(triggers)")
        let stored = try session.query(
            "SELECT key FROM tidemark_control.incidents WHERE inventory = $1 AND sink = 'pager' ORDER BY key",
            [fleet.name]
        ).compactMap { $0.first ?? nil }
        #expect(stored == [target, wave].sorted(), "kept in the control database: \(stored)")
        #expect(
            !FileManager.default.fileExists(
                atPath: fleet.directory.appendingPathComponent(".tidemark/incidents/\(fleet.name).json").path),
            "a shared run keeps no incidents file")

        // Fixed; runner B, elsewhere, runs the next shared run and converges a-01.
        try session.execute("DROP TABLE \(schema).t1")
        let fixed = try await CommandRunner.run(
            fleet.apply(["--runner", "runner-b"]), in: elsewhere, environment: environment)
        #expect(fixed.status == 0, "\(fixed)")
        let resolves = pagerDuty.requests.dropFirst(2).compactMap { $0.jsonObject() }
        #expect(resolves.map { $0["event_action"] as? String } == ["resolve", "resolve"], "\(resolves)")
        #expect(Set(resolves.compactMap { $0["dedup_key"] as? String }) == [target, wave], "\(resolves)")
        #expect(
            try session.query("SELECT 1 FROM tidemark_control.incidents WHERE inventory = $1", [fleet.name]).isEmpty,
            "nothing is open any more")
    }
}
