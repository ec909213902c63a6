import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

@testable import TidemarkSQLite

/// A plan that goes back below a batched step stopped mid-way
/// (docs/backfills.md#going-back-below-an-unfinished-backfill; docs/decisions/0036): the undo runs
/// over the rows the forward reached, the forward's row is finished as abandoned, and the next
/// forward starts again at the first key; an undo stopped mid-way is reversed by the forward.
@Suite(.serialized) struct BackfillTakeBackTests {
    static let files = [
        "plans/shop/V1__orders.sql": """
        CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL, total_cents INTEGER);
        INSERT INTO orders (id, total) SELECT g, g % 1000 FROM generate_series(1, 2000) AS g;

        """,
        "plans/shop/U1__orders.sql": "DROP TABLE orders;\n",
        "plans/shop/V2__cents.sql": """
        -- tidemark:batch table=orders key=id size=100 pause=40ms
        UPDATE orders SET total_cents = total * 100 WHERE id >= :batch_start AND id < :batch_end;

        """,
        "plans/shop/U2__cents.sql": """
        -- tidemark:batch table=orders key=id size=100 pause=40ms
        UPDATE orders SET total_cents = NULL WHERE id >= :batch_start AND id < :batch_end;

        """,
    ]

    /// Waits (bounded) until `condition` holds, checking every 10 ms.
    func waitUntil(seconds: Double = 60, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func postgresRollsBackBelowAnUnfinishedBackfill() async throws {
        let url = try #require(TestPostgres.url)
        let schema = try TestPostgres.createSchema(for: "takeback")
        defer { try? TestPostgres.dropSchema(schema) }
        let target = Target(name: "db", environment: "dev", connection: .url(url), schema: schema)
        try await takeBack(
            target: "{ name: db, url: \"\(url)\", schema: \(schema) }", files: Self.files,
            reader: {
                try PostgresBackend().connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
            })
    }

    @Test func sqliteRollsBackBelowAnUnfinishedBackfill() async throws {
        var files = Self.files
        files["plans/shop/V1__orders.sql"] = """
            CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL, total_cents INTEGER);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO orders (id, total) SELECT i, i % 1000 FROM n;

            """
        try await takeBack(target: "{ name: db, url: \"sqlite:../lite.db\" }", files: files) { root in
            let target = Target(
                name: "db", environment: "dev",
                connection: .url("sqlite:\(root.appendingPathComponent("lite.db").path)"))
            return try SQLiteBackend().connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        }
    }

    func takeBack(target: String, files: [String: String], reader: () throws -> any BackendConnection) async throws {
        try await takeBack(target: target, files: files) { _ in try reader() }
    }

    func takeBack(
        target: String, files: [String: String], reader makeReader: (URL) throws -> any BackendConnection
    ) async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-takeback")
        defer { try? FileManager.default.removeItem(at: root) }
        var files = files
        files["inventories/shop.yaml"] = """
            inventory: shop
            plan: ../plans/shop
            environments:
              dev: { tier: dev, targets: [ \(target) ] }
            """
        try TestWorkspace.write(files, under: root)
        let first = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        let reader = try makeReader(root)
        defer { reader.close() }
        func rows() throws -> [HistoryEntry] { try reader.readHistory().filter { $0.version == "2" } }
        func cents() throws -> [String?] {
            try #require(try reader.readRows(of: ForeignTable(name: "orders", columns: ["total_cents"]))).map {
                $0.first ?? nil
            }
        }
        /// Starts `apply arguments`, interrupts it once its batched step committed a batch.
        func interrupted(_ arguments: [String], kind: StepKind) async throws {
            let apply = try CommandRunner.launch(["apply", "-i", "inventories/shop.yaml"] + arguments, in: root)
            #expect(
                try waitUntil {
                    try rows().last.map { $0.kind == kind && $0.isBackfillInProgress && ($0.batch?.rows ?? 0) > 0 }
                        ?? false
                })
            apply.send(SIGINT)
            let result = await apply.wait()
            #expect(result.status == 130, "\(result)")
            let stopped = try rows()
            #expect(stopped.last?.isBackfillInProgress == true, "stopped mid-way: \(stopped)")
        }

        // A forward stopped mid-way, then a plan back to version 1: the undo takes back its rows.
        try await interrupted([], kind: .forward)
        let changed = try cents().compactMap { $0 }.count
        #expect(changed > 0 && changed < 2000)
        // Quarantining the version is a plan below it too.
        let quarantine = try await CommandRunner.run(
            ["quarantine", "2", "--reason", "totals are wrong", "-i", "inventories/shop.yaml"], in: root)
        #expect(quarantine.status == 0, "\(quarantine)")
        let quarantined = try await CommandRunner.run(["plan", "-i", "inventories/shop.yaml"], in: root)
        #expect(quarantined.status == 0, "\(quarantined)")
        #expect(quarantined.standardOutput.contains("undo       2"), "\(quarantined)")
        #expect(
            quarantined.standardOutput.contains("[UNFINISHED BACKFILL: the forward of version 2 stopped after key"),
            "\(quarantined)")
        try FileManager.default.removeItem(at: root.appendingPathComponent("plans/shop/plan.yaml"))
        let plan = try await CommandRunner.run(["plan", "-i", "inventories/shop.yaml", "--to", "1"], in: root)
        #expect(plan.status == 0, "\(plan)")
        #expect(plan.standardOutput.contains("undo       2"), "\(plan)")
        #expect(
            plan.standardOutput.contains(
                "[UNFINISHED BACKFILL: the forward of version 2 stopped after key"), "\(plan)")
        let back = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--to", "1"], in: root)
        #expect(back.status == 0, "\(back)")
        #expect(try cents().allSatisfy { $0 == nil }, "the undo took back every row the forward reached")
        let afterBack = try rows()
        #expect(afterBack.map(\.kind) == [.forward, .undo], "\(afterBack)")
        #expect(afterBack.first?.success == false && afterBack.first?.finishedAt != nil, "\(afterBack)")
        #expect(afterBack.first?.error?.contains("abandoned after key") == true, "\(afterBack)")
        #expect(afterBack.first?.batch?.rows == Int64(changed), "the checkpoint is kept: \(afterBack)")
        #expect(afterBack.last?.success == true)
        let history = try await CommandRunner.run(
            ["history", "-i", "inventories/shop.yaml", "--target", "db"], in: root)
        #expect(history.standardOutput.contains("forward  abandoned (\(changed) rows)"), "\(history)")

        // The next forward starts again at the first key, not at the abandoned checkpoint.
        let again = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml"], in: root)
        #expect(again.status == 0, "\(again)")
        #expect(again.standardOutput.contains("forward 2 (20 batches, 2,000 rows)"), "\(again)")
        #expect(try cents().allSatisfy { $0 != nil })

        // An undo stopped mid-way, then a plan that keeps version 2: the forward runs again.
        try await interrupted(["--to", "1"], kind: .undo)
        let keep = try await CommandRunner.run(["plan", "-i", "inventories/shop.yaml"], in: root)
        #expect(keep.status == 0, "\(keep)")
        #expect(
            keep.standardOutput.contains("[UNFINISHED BACKFILL: the undo of version 2 stopped after key"), "\(keep)")
        let forward = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml"], in: root)
        #expect(forward.status == 0, "\(forward)")
        #expect(forward.standardOutput.contains("forward 2 (20 batches, 2,000 rows)"), "\(forward)")
        #expect(try cents().allSatisfy { $0 != nil }, "the forward again covers the rows the undo reached")
        let final = try rows()
        #expect(final.count == 5, "\(final)")
        #expect(final.dropLast().last?.kind == .undo && final.dropLast().last?.success == false, "\(final)")
        #expect(final.last?.kind == .forward && final.last?.success == true, "\(final)")
        let state = TargetState(history: try reader.readHistory())
        #expect(state.applied.map(\.version) == ["1", "2"] && state.backfill == nil && !state.isDirty)
    }
}
