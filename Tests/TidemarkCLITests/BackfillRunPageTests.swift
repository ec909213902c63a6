import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkSQLite

/// A batched step on the run page (docs/backfills.md#watching-a-backfill): its batches, rows
/// changed and rows/s, and whether it finished or stopped at a checkpoint; the page loads clean in
/// headless Chromium.
@Suite(.serialized) struct BackfillRunPageTests {
    @Test func theRunPageShowsBatchesRowsRateAndWhereTheBackfillStopped() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-page")
        // 20 batches 250 ms apart: the backfill takes seconds, so the interrupt lands in its middle.
        defer { try? FileManager.default.removeItem(at: root) }
        try TestWorkspace.write(
            [
                "plans/shop/V1__orders.sql": """
                CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL, total_cents INTEGER);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO orders (id, total) SELECT i, i % 1000 FROM n;

                """,
                "plans/shop/V2__cents.sql": """
                -- tidemark:batch table=orders key=id size=100 pause=250ms
                UPDATE orders SET total_cents = total * 100 WHERE id >= :batch_start AND id < :batch_end;

                """,
                "inventories/shop.yaml": """
                inventory: shop
                plan: ../plans/shop
                environments:
                  dev: { tier: dev, targets: [ { name: lite, url: "sqlite:../lite.db" } ] }
                """,
            ], under: root)
        let first = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        let target = Target(
            name: "lite", environment: "dev", connection: .url("sqlite:\(root.appendingPathComponent("lite.db").path)"))
        let reader = try SQLiteBackend().connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { reader.close() }

        let apply = try CommandRunner.launch(
            ["apply", "-i", "inventories/shop.yaml", "--report", "interrupted.json"], in: root)
        // The interrupt comes from a watcher process, not from a test task: with every suite
        // running in one test process on a loaded machine, a polling task could be scheduled too
        // late and the backfill finish first (as it did in CI). The `sqlite3` shell is a test peer.
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/bin/sh")
        watcher.arguments = [
            "-c",
            """
            end=$(( $(date +%s) + 300 ))
            until [ "$(sqlite3 "$1" "SELECT coalesce(max(batch_rows), 0) FROM tidemark_history WHERE version = '2'" 2>/dev/null || echo 0)" -gt 0 ]; do
              [ "$(date +%s)" -gt "$end" ] && exit 1
              sleep 0.01
            done
            kill -INT "$2"
            """,
            "watcher", root.appendingPathComponent("lite.db").path, String(apply.processIdentifier),
        ]
        try watcher.run()
        let stopped = await apply.wait()
        watcher.waitUntilExit()
        #expect(watcher.terminationStatus == 0, "the watcher saw the first batch and interrupted the run")
        #expect(stopped.status == 130, "\(stopped)")
        let stoppedAt = try #require(try reader.readHistory().last(where: { $0.version == "2" })?.batch)
        let stoppedKey = try #require(stoppedAt.lastKey)
        let interruptedPage = try String(
            contentsOf: root.appendingPathComponent("interrupted.html"), encoding: .utf8)
        #expect(interruptedPage.contains("<h2 id=\"backfills\">Backfills (1 step)</h2>"), "\(interruptedPage)")
        #expect(
            interruptedPage.contains(
                "<td>forward 2</td><td class=\"num\">\(stoppedAt.rows / 100)</td><td class=\"num\">\(stoppedAt.rows.formatted())</td>"
            ), "the interrupted run's batches and rows: \(interruptedPage)")
        #expect(
            interruptedPage.contains(
                "stopped at a checkpoint (interrupted); the next apply resumes after key \(stoppedKey)"),
            "\(interruptedPage)")

        let resumed = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--report", "resumed.json"], in: root)
        #expect(resumed.status == 0, "\(resumed)")
        let rest = 2000 - stoppedAt.rows
        let page = root.appendingPathComponent("resumed.html")
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(
            html.contains(
                "<td>forward 2</td><td class=\"num\">\(rest / 100)</td><td class=\"num\">\(rest.formatted())</td>"),
            "\(html)")
        #expect(html.contains("<td>finished</td>"), "\(html)")
        let rate = try #require(
            html.range(of: #"<td class="num">[0-9,]+</td><td>finished</td>"#, options: .regularExpression))
        #expect(!html[rate].contains(">-<"), "a rate in rows/s")
        #expect(html.contains("\(rest / 100) batches, \(rest.formatted()) rows,"), "the cell's detail says it too")

        let load = try await HeadlessChromium.load(page)
        #expect(load.console.isEmpty, "console: \(load.console)")
        #expect(load.requests.isEmpty)
        #expect(load.dom.contains("Backfills (1 step)"))
        #expect(load.dom.contains("<td>finished</td>"))
    }
}
