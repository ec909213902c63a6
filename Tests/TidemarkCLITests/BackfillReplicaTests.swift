import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// `max_lag` against a real streaming standby (docs/backfills.md#the-directive): a primary of the
/// test's own and a standby made from it with `pg_basebackup -R`. The standby's replay is paused
/// to make it lag for as long as the test wants, then resumed by the test once the wait is seen.
@Suite(.serialized) struct BackfillReplicaTests {
    static let plan = [
        "plans/shop/V1__orders.sql": """
        CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL, total_cents integer);
        INSERT INTO orders (id, total) SELECT g, g % 1000 FROM generate_series(1, 1000) AS g;

        """,
        "plans/shop/V2__cents.sql": """
        -- tidemark:batch table=orders key=id size=100 max_lag=1s
        UPDATE orders SET total_cents = total * 100 WHERE id >= :batch_start AND id < :batch_end;

        """,
    ]

    static func inventory(_ url: String) -> String {
        """
        inventory: shop
        plan: ../plans/shop
        environments:
          dev: { tier: dev, targets: [ { name: pg, url: "\(url)" } ] }
        """
    }

    /// Waits (bounded) until `condition` holds, checking every 50 ms.
    func waitUntil(seconds: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    @Test(.enabled(if: TestPostgresCluster.isEnabled, Comment(rawValue: TestPostgresCluster.skipReason)))
    func maxLagWaitsWhileTheStandbyLagsNotWithoutOneAndSaysAnUnreadableLagOnce() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-replica")
        defer { try? FileManager.default.removeItem(at: root) }
        let primary = try TestPostgresCluster.primary(in: root.appendingPathComponent("pg"))
        defer { primary.stop() }
        try primary.psql("CREATE DATABASE alone")
        try primary.psql("CREATE DATABASE lagging")
        try primary.psql("CREATE ROLE app LOGIN")
        try primary.psql("CREATE DATABASE unreadable OWNER app")
        var files = Self.plan
        for (name, url) in [
            ("alone", primary.url(database: "alone")), ("lagging", primary.url(database: "lagging")),
            ("unreadable", primary.url(user: "app", database: "unreadable")),
        ] {
            files["inventories/\(name).yaml"] = Self.inventory(url)
        }
        try TestWorkspace.write(files, under: root)

        // (b) No replica: no wait, nothing said.
        let alone = try await CommandRunner.run(["apply", "-i", "inventories/alone.yaml"], in: root)
        #expect(alone.status == 0, "\(alone)")
        #expect(alone.standardOutput.contains("forward 2 (10 batches, 1,000 rows)"), "\(alone)")
        #expect(!alone.standardError.contains("max_lag"), "\(alone)")

        let standby = try primary.standby()
        defer { standby.stop() }
        #expect(
            try waitUntil {
                try primary.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1\n"
            })

        // (a) The standby lags: replay paused, then WAL written on the primary until the lag the
        // primary reads is over max_lag before the backfill starts.
        let first = try await CommandRunner.run(["apply", "-i", "inventories/lagging.yaml", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        try standby.psql("SELECT pg_wal_replay_pause()")
        try primary.psql("CREATE TABLE written_while_paused (id integer)", database: "lagging")
        #expect(
            try waitUntil {
                try primary.psql(
                    "SELECT coalesce(extract(epoch FROM max(replay_lag)), 0) > 1.2 FROM pg_stat_replication")
                    == "t\n"
            }, "the paused standby's replay_lag never passed 1.2 s")
        let errors = root.appendingPathComponent("lagging.stderr")
        let apply = try CommandRunner.launch(
            ["apply", "-i", "inventories/lagging.yaml"], in: root, standardErrorFile: errors)
        let waited = waitUntil {
            apply.standardErrorSoFar.contains("is over max_lag 1s; version 2 waits before its next batch")
        }
        #expect(waited, "\(apply.standardErrorSoFar)")
        // While it waits, no batch has committed: the step's row is in progress at no rows.
        let target = Target(name: "pg", environment: "dev", connection: .url(primary.url(database: "lagging")))
        let reader = try PostgresBackend().connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { reader.close() }
        let waiting = try reader.readHistory().filter { $0.version == "2" }
        #expect(waiting.count == 1 && waiting.first?.isBackfillInProgress == true, "\(waiting)")
        #expect(waiting.first?.batch?.rows == 0, "\(waiting)")
        #expect(apply.isRunning)
        try standby.psql("SELECT pg_wal_replay_resume()")
        let lagging = await apply.wait()
        #expect(lagging.status == 0, "\(lagging)")
        #expect(lagging.standardOutput.contains("forward 2 (10 batches, 1,000 rows)"), "\(lagging)")
        let done = try reader.readHistory().filter { $0.version == "2" }
        #expect(done.count == 1 && done.first?.success == true, "\(done)")

        // (c) A role without pg_monitor sees the standby but not its lag: said once, not waited for.
        let unreadable = try await CommandRunner.run(["apply", "-i", "inventories/unreadable.yaml"], in: root)
        #expect(unreadable.status == 0, "\(unreadable)")
        #expect(unreadable.standardOutput.contains("forward 2 (10 batches, 1,000 rows)"), "\(unreadable)")
        let said = unreadable.standardError.components(separatedBy: "max_lag cannot be checked").count - 1
        #expect(said == 1, "\(unreadable)")
        #expect(unreadable.standardError.contains("grant it pg_monitor"), "\(unreadable)")
    }
}
