import Foundation
import Testing
import TidemarkTestSupport

/// `--lock-ok VERSION --reason TEXT` on `plan` and `apply`
/// (docs/live-production.md#acknowledging-a-lock-risk): a version's lock risk accepted for one
/// run, no file touched; recorded in the report and in the step's history row.
@Suite struct LockOkFlagTests {
    /// A plan whose version 2 indexes orders without CONCURRENTLY, and `inventory` (YAML).
    static func workspace(inventory: String) throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-lock-ok")
        try TestWorkspace.write(
            [
                "plans/shop/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n",
                "plans/shop/U1__orders.sql": "DROP TABLE orders;\n",
                "plans/shop/V2__orders_status_index.sql": "CREATE INDEX orders_status ON orders (status);\n",
                "plans/shop/U2__orders_status_index.sql": "DROP INDEX orders_status;\n",
                "inventories/shop.yaml": inventory,
            ], under: root)
        return root
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func aLockOkWithoutAReasonOrForAnUnknownVersionExits2WithTheFix() async throws {
        let root = try Self.workspace(
            inventory: """
                inventory: shop
                plan: ../plans/shop
                environments:
                  dev: { tier: dev, targets: [ { name: dev, url: "sqlite:../data/dev.db" } ] }
                """)
        defer { try? FileManager.default.removeItem(at: root) }
        for command in ["plan", "apply"] {
            let missing = try await CommandRunner.run(
                [command, "-i", "inventories/shop.yaml", "--lock-ok", "2"], in: root)
            #expect(missing.status == 2, "\(missing)")
            #expect(
                missing.standardError.contains(
                    "--lock-ok 2 has no --reason: give one after each, e.g. --lock-ok 2 --reason "), "\(missing)")
            let unknown = try await CommandRunner.run(
                [command, "-i", "inventories/shop.yaml", "--lock-ok", "9", "--reason", "batch paused"], in: root)
            #expect(unknown.status == 2, "\(unknown)")
            #expect(
                unknown.standardError.contains(
                    "--lock-ok 9: the plan plans/shop has no version 9 (its versions: 1, 2)"), "\(unknown)")
        }
        #expect(
            !FileManager.default.fileExists(atPath: root.appendingPathComponent("data/dev.db").path),
            "nothing may be written")
    }

    /// On SQLite (no lock risk to block) the acknowledgement still goes into the history row's
    /// description and the report, and the script's checksum is the one recorded without it.
    @Test func onSQLiteTheAcknowledgementIsRecordedInTheHistoryRowAndTheReport() async throws {
        let root = try Self.workspace(
            inventory: """
                inventory: shop
                plan: ../plans/shop
                environments:
                  prod: { tier: prod, live: true, targets: [ { name: prod-1, url: "sqlite:../data/prod-1.db" } ] }
                """)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("data"), withIntermediateDirectories: true)
        let applied = try await CommandRunner.run(
            [
                "apply", "-i", "inventories/shop.yaml", "--yes", "--lock-ok", "2", "--reason",
                "orders is written only by the nightly batch",
                "--report", "run.json",
            ], in: root, environment: ["TIDEMARK_APPLIED_BY": "alice@ops"])
        #expect(applied.status == 0, "\(applied)")
        let report = try Self.json(
            String(decoding: try Data(contentsOf: root.appendingPathComponent("run.json")), as: UTF8.self))
        let acknowledgements = try #require(report["lockAcknowledgements"] as? [[String: String]], "\(report)")
        #expect(
            acknowledgements == [
                ["version": "2", "reason": "orders is written only by the nightly batch", "by": "alice@ops"]
            ])
        let history = try await CommandRunner.run(
            ["history", "-i", "inventories/shop.yaml", "--target", "prod-1"], in: root)
        let rows = history.standardOutput.split(separator: "\n")
        let two = try #require(rows.first { $0.hasPrefix("2 ") }, "\(history)")
        #expect(
            two.hasSuffix("orders status index; lock-ok: orders is written only by the nightly batch (by alice@ops)"),
            "\(history)")
        let one = try #require(rows.first { $0.hasPrefix("1 ") }, "\(history)")
        #expect(one.hasSuffix("  orders"), "version 1 was not acknowledged: \(history)")
        // Nothing was edited: a plan without the flag finds the target at its desired state.
        let again = try await CommandRunner.run(["plan", "-i", "inventories/shop.yaml"], in: root)
        #expect(again.status == 0, "\(again)")
        #expect(again.standardOutput.contains("1 target: 1 none"), "\(again)")
    }
}

/// The same on a real PostgreSQL, where the live prod target is blocked by the size of its table.
@Suite(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)), .serialized)
struct LockOkFlagPostgresTests {
    @Test func aBlockedLiveTargetAppliesWithTheFlagAndRecordsWhoAndWhy() async throws {
        let url = try #require(TestPostgres.url)
        let schema = try TestPostgres.createSchema(for: "lockok_prod")
        defer { try? TestPostgres.dropSchema(schema) }
        let root = try LockOkFlagTests.workspace(
            inventory: """
                inventory: shop
                plan: ../plans/shop
                environments:
                  prod: { tier: prod, live: true, lock_risk_rows: 1000, targets: [ { name: prod-1, url: "\(url)", schema: \(schema) } ] }
                """)
        defer { try? FileManager.default.removeItem(at: root) }
        let first = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        let table = TestPostgres.quoted(schema) + ".orders"
        try TestPostgres.execute(
            "INSERT INTO \(table) SELECT n, 'new' FROM generate_series(1, 5000) AS n; ANALYZE \(table);")

        let blocked = try await CommandRunner.run(["plan", "-i", "inventories/shop.yaml"], in: root)
        #expect(blocked.status == 3, "\(blocked)")
        #expect(blocked.standardOutput.contains("or for one run (--lock-ok 2 --reason <reason>)"), "\(blocked)")

        let reason = "orders is written only by the nightly batch"
        let planned = try await CommandRunner.run(
            ["plan", "-i", "inventories/shop.yaml", "--lock-ok", "2", "--reason", reason], in: root,
            environment: ["TIDEMARK_APPLIED_BY": "alice@ops"])
        #expect(planned.status == 0, "\(planned)")
        #expect(planned.standardOutput.contains("prod-1         forward     1 → 2"), "\(planned)")
        #expect(planned.standardOutput.contains("; acknowledged with --lock-ok by alice@ops: \(reason)]"), "\(planned)")

        let applied = try await CommandRunner.run(
            [
                "apply", "-i", "inventories/shop.yaml", "--yes", "--lock-ok", "2", "--reason", reason, "--report",
                "run.json",
            ], in: root,
            environment: ["TIDEMARK_APPLIED_BY": "alice@ops"])
        #expect(applied.status == 0, "\(applied)")
        #expect(try TestPostgres.tableExists("orders", inSchema: schema))
        let report = try LockOkFlagTests.json(
            String(decoding: try Data(contentsOf: root.appendingPathComponent("run.json")), as: UTF8.self))
        #expect(
            (report["lockAcknowledgements"] as? [[String: String]]) == [
                ["version": "2", "reason": reason, "by": "alice@ops"]
            ])
        let history = try await CommandRunner.run(
            ["history", "-i", "inventories/shop.yaml", "--target", "prod-1"], in: root)
        let two = try #require(history.standardOutput.split(separator: "\n").first { $0.hasPrefix("2 ") }, "\(history)")
        #expect(two.hasSuffix("orders status index; lock-ok: \(reason) (by alice@ops)"), "\(history)")
    }
}
