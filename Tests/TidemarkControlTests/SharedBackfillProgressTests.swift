import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// `step.progress` in a shared run (docs/backfills.md#watching-a-backfill): the runner serving a
/// batched step posts its progress straight to the sinks whose `on:` names it, as a local run
/// does, and never stores it with the run's events (what another runner would deliver later).
@Suite(.serialized) struct SharedBackfillProgressTests {
    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func progressOfARunnersBackfillReachesTheSinksThatAskAndNotTheRunsEvents() async throws {
        let clusterURL = try #require(TestPostgres.url)
        let asking = try HTTPTestReceiver()
        defer { asking.stop() }
        let silent = try HTTPTestReceiver()
        defer { silent.stop() }
        let directory = try CommandRunner.temporaryDirectory("tidemark-shared-progress")
        defer { try? FileManager.default.removeItem(at: directory) }
        let name = "ctlp" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let admin = try PostgresSession(
            target: Target(name: "test", environment: "", connection: .url(clusterURL)), timeouts: .standard,
            logger: .silent)
        defer { admin.close() }
        try admin.query("CREATE DATABASE \(TestPostgres.quoted(name))")
        defer { _ = try? admin.query("DROP DATABASE IF EXISTS \(TestPostgres.quoted(name)) WITH (FORCE)") }
        let url = try ControlFleet.url(of: name, in: clusterURL)
        try TestWorkspace.write(
            [
                "plans/app/V1__orders.sql": """
                CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL, total_cents integer);
                INSERT INTO orders (id, total) SELECT g, g FROM generate_series(1, 500) AS g;

                """,
                "plans/app/V2__cents.sql": """
                -- tidemark:batch table=orders key=id size=100
                UPDATE orders SET total_cents = total * 100 WHERE id >= :batch_start AND id < :batch_end;

                """,
                "inventories/fleet.yaml": """
                inventory: \(name)
                plan: ../plans/app
                environments:
                  dev:
                    tier: dev
                    targets: [ { name: "t-{1..2}", url: "\(url)", schema: "\(name)_{1..2}" } ]
                notify:
                  - { name: progress, type: webhook, url: "\(asking.url())", on: [progress, finished] }
                  - { name: everything, type: webhook, url: "\(silent.url())" }
                """,
            ], under: directory)
        let runners = try (0..<2).map { _ in
            try CommandRunner.launch(
                ["apply", "-i", "inventories/fleet.yaml", "--control", url, "--yes"], in: directory)
        }
        var results: [CommandRunner.Result] = []
        for runner in runners { results.append(await runner.wait()) }
        for result in results { #expect(result.status == 0, "\(result)") }
        let runID = try #require(results.compactMap { ControlFleet.runID(in: $0.standardOutput) }.first)

        // Each target's first batch posts at once; the next could come only 10 s later.
        let progress = asking.requests.filter { $0.header("X-Tidemark-Event") == "step.progress" }
        let bodies = progress.compactMap { $0.jsonObject() }
        #expect(bodies.compactMap { $0["target"] as? String }.sorted() == ["t-1", "t-2"], "\(bodies)")
        #expect(
            bodies.allSatisfy { ($0["progress"] as? [String: Any])?["table"] as? String == "orders" }, "\(bodies)")
        #expect(!silent.requests.isEmpty, "the sink without on: got the run's other events")
        #expect(silent.requests.allSatisfy { $0.header("X-Tidemark-Event") != "step.progress" })

        // Never among the run's stored events, and nothing of it left in an outbox.
        let session = try PostgresSession(
            target: Target(name: "control", environment: "", connection: .url(url)), timeouts: .standard,
            logger: .silent)
        defer { session.close() }
        let stored = try session.query(
            "SELECT count(*) FILTER (WHERE event::text LIKE '%step.progress%'), count(*) FROM tidemark_control.events WHERE run_id = $1",
            [runID])
        #expect(stored.first?.first == "0", "\(stored)")
        #expect((stored.first?.last).flatMap { $0 }.flatMap { Int($0) } ?? 0 > 0, "the run stored its other events")
        let outbox = directory.appendingPathComponent(".tidemark/outbox")
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: outbox.path)) ?? []
        #expect(kept.isEmpty, "\(kept)")
    }
}
