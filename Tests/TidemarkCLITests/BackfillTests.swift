import Foundation
import Testing
import TidemarkCore
import TidemarkMySQL
import TidemarkPostgres
import TidemarkTestSupport

@testable import TidemarkSQLite

/// Batched backfills through the real binary (docs/backfills.md): killed and interrupted runs
/// resume at their checkpoint, every row is changed exactly once (counted by a column the
/// statement increments), the history stays consistent, and no batch scans the table.
@Suite(.serialized) struct BackfillTests {
    /// The batched statement: `touched` counts how often each row was changed.
    static let backfill = """
        -- tidemark:batch table=orders key=id size=SIZE pause=PAUSE
        UPDATE orders SET total_cents = total * 100, touched = touched + 1
         WHERE id >= :batch_start AND id < :batch_end;

        """

    func writePlan(at root: URL, create: String, size: Int, pause: String, inventory: String) throws {
        try TestWorkspace.write(
            [
                "plans/shop/V1__orders.sql": create,
                "plans/shop/U1__orders.sql": "DROP TABLE orders;\n",
                "plans/shop/V2__backfill_cents.sql": Self.backfill.replacingOccurrences(of: "SIZE", with: "\(size)")
                    .replacingOccurrences(of: "PAUSE", with: pause),
                "plans/shop/U2__backfill_cents.sql": "UPDATE orders SET total_cents = NULL;\n",
                "inventories/shop.yaml": inventory,
            ], under: root)
    }

    /// Waits (bounded) until `condition` holds, checking every 10 ms.
    func waitUntil(seconds: Double = 60, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    /// Version 2's history rows.
    func backfillRows(_ connection: any BackendConnection) throws -> [HistoryEntry] {
        try connection.readHistory().filter { $0.version == "2" }
    }

    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func postgresBackfillKilledFiveTimesChangesEveryRowOnceWithoutAScan() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-pg")
        defer { try? FileManager.default.removeItem(at: root) }
        let url = try #require(TestPostgres.url)
        let schema = try TestPostgres.createSchema(for: "backfill")
        defer { try? TestPostgres.dropSchema(schema) }
        try writePlan(
            at: root,
            create: """
                CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL, total_cents integer, touched integer NOT NULL DEFAULT 0);
                INSERT INTO orders (id, total) SELECT g, g % 1000 FROM generate_series(1, 100000) AS g;
                ANALYZE orders;

                """, size: 200, pause: "5ms",
            inventory: """
                inventory: shop
                plan: ../plans/shop
                environments:
                  dev: { tier: dev, targets: [ { name: pg, url: "\(url)", schema: \(schema) } ] }
                """)
        let first = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")

        let target = Target(name: "pg", environment: "dev", connection: .url(url), schema: schema)
        let session = try PostgresSession(target: target, timeouts: .standard, logger: .silent)
        defer { session.close() }
        let orders = "\(TestPostgres.quoted(schema)).orders"
        func counter(_ column: String) throws -> Int64 {
            try session.execute("SELECT pg_stat_clear_snapshot()")
            let rows = try session.query(
                "SELECT \(column) FROM pg_stat_user_tables WHERE relid = '\(orders)'::regclass")
            return rows.first?.first.flatMap { $0 }.flatMap { Int64($0) } ?? -1
        }
        let scansBefore = try counter("seq_scan")
        let reader = try PostgresBackend().connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { reader.close() }

        var kills = 0
        var runs = 0
        while kills < 5 && runs < 20 {
            runs += 1
            let rowsBefore = try backfillRows(reader).last?.batch?.rows ?? 0
            let apply = try CommandRunner.launch(["apply", "-i", "inventories/shop.yaml"], in: root)
            // A random moment after this run committed a batch of its own.
            let progressed = try waitUntil { try (backfillRows(reader).last?.batch?.rows ?? 0) > rowsBefore }
            usleep(UInt32.random(in: 0...150_000))
            apply.send(SIGKILL)
            let result = await apply.wait()
            #expect(result.status != 0 || !progressed, "\(result)")
            let last = try #require(try backfillRows(reader).last)
            if last.isBackfillInProgress {
                kills += 1
            } else {
                break
            }
        }
        #expect(kills >= 5, "only \(kills) of \(runs) kills landed mid-backfill")

        let resumed = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml"], in: root)
        #expect(resumed.status == 0, "\(resumed)")
        #expect(resumed.standardOutput.contains("forward 2 ("), "\(resumed)")

        // Every backend that walked the table has ended and reported (n_tup_upd counts each
        // committed and rolled-back update), then no sequential scan may have been added.
        #expect(try waitUntil(seconds: 10) { try counter("n_tup_upd") >= 100_000 })
        #expect(try counter("seq_scan") == scansBefore, "a batch scanned the table")

        let touched = try session.query("SELECT touched, count(*) FROM \(orders) GROUP BY touched")
        #expect(touched.map { $0.compactMap { $0 } } == [["1", "100000"]], "every row changed exactly once")
        let rows = try backfillRows(reader)
        #expect(rows.count == 1, "one history row, reused by every resumed run: \(rows)")
        #expect(rows.last?.success == true)
        #expect(rows.last?.batch == BatchCheckpoint(lastKey: 100_000, rows: 100_000))
        #expect(TargetState(history: try reader.readHistory()).applied.map(\.version) == ["1", "2"])
    }

    /// docs/backfills.md#mysql-and-mariadb: the same on MariaDB. The table's own read counter
    /// (`information_schema.TABLE_STATISTICS`, `userstat`) shows no batch scanned it: walking
    /// and updating read each row about twice, a scan per batch would read it 500 times.
    @Test(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
    func mariadbBackfillKilledFiveTimesChangesEveryRowOnceWithoutAScan() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-maria")
        defer { try? FileManager.default.removeItem(at: root) }
        let url = try TestMariaDB.requireURL()
        let database = TestMariaDB.uniqueDatabaseName(for: "backfill")
        defer { try? TestMariaDB.dropDatabase(database) }
        try writePlan(
            at: root,
            create: """
                CREATE TABLE orders (id BIGINT PRIMARY KEY, total INT NOT NULL, total_cents INT NULL, touched INT NOT NULL DEFAULT 0);
                INSERT INTO orders (id, total) SELECT seq, seq % 1000 FROM seq_1_to_100000;

                """, size: 200, pause: "5ms",
            inventory: """
                inventory: shop
                plan: ../plans/shop
                environments:
                  dev: { tier: dev, targets: [ { name: maria, url: "\(url)", schema: \(database) } ] }
                """)
        let first = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        try TestMariaDB.execute("SET GLOBAL userstat = 1")
        func rowsRead() throws -> Int64 {
            try TestMariaDB.catalog(
                """
                SELECT ROWS_READ FROM information_schema.TABLE_STATISTICS
                WHERE TABLE_SCHEMA = \(TestMariaDB.literal(database)) AND TABLE_NAME = 'orders'
                """
            ).first?.first.flatMap { $0 }.flatMap { Int64($0) } ?? 0
        }
        let readBefore = try rowsRead()
        let target = Target(name: "maria", environment: "dev", connection: .url(url), schema: database)
        let reader = try MySQLBackend().connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { reader.close() }

        var kills = 0
        var runs = 0
        while kills < 5 && runs < 20 {
            runs += 1
            let rowsBefore = try backfillRows(reader).last?.batch?.rows ?? 0
            let apply = try CommandRunner.launch(["apply", "-i", "inventories/shop.yaml"], in: root)
            let progressed = try waitUntil { try (backfillRows(reader).last?.batch?.rows ?? 0) > rowsBefore }
            usleep(UInt32.random(in: 0...150_000))
            apply.send(SIGKILL)
            let result = await apply.wait()
            #expect(result.status != 0 || !progressed, "\(result)")
            let last = try #require(try backfillRows(reader).last)
            if last.isBackfillInProgress { kills += 1 } else { break }
        }
        #expect(kills >= 5, "only \(kills) of \(runs) kills landed mid-backfill")
        let status = try await CommandRunner.run(["status", "-i", "inventories/shop.yaml"], in: root)
        #expect(status.standardOutput.contains("backfill ") && !status.standardOutput.contains("DIRTY"), "\(status)")

        let resumed = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml"], in: root)
        #expect(resumed.status == 0, "\(resumed)")
        #expect(resumed.standardOutput.contains("forward 2 ("), "\(resumed)")
        let read = try rowsRead() - readBefore
        #expect(read < 500_000, "the batches read \(read) rows of a 100,000-row table: one scanned it")

        let touched = try TestMariaDB.catalog(
            "SELECT touched, COUNT(*) FROM \(TestMariaDB.quoted(database)).orders GROUP BY touched")
        #expect(touched.map { $0.compactMap { $0 } } == [["1", "100000"]], "every row changed exactly once")
        let rows = try backfillRows(reader)
        #expect(rows.count == 1, "one history row, reused by every resumed run: \(rows)")
        #expect(rows.last?.success == true)
        #expect(rows.last?.batch == BatchCheckpoint(lastKey: 100_000, rows: 100_000))
        #expect(TargetState(history: try reader.readHistory()).applied.map(\.version) == ["1", "2"])
    }

    /// A SQLite target of 200,000 rows: interrupted (SIGINT: exit 130, the row left in
    /// progress, `status` saying how far), killed, then resumed to the end.
    @Test func sqliteBackfillInterruptedAndKilledResumesToEveryRowOnce() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-sqlite")
        defer { try? FileManager.default.removeItem(at: root) }
        try writePlan(
            at: root,
            create: """
                CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL, total_cents INTEGER, touched INTEGER NOT NULL DEFAULT 0);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) INSERT INTO orders (id, total) SELECT i, i % 1000 FROM n;

                """, size: 2000, pause: "5ms",
            inventory: """
                inventory: shop
                plan: ../plans/shop
                environments:
                  dev: { tier: dev, targets: [ { name: lite, url: "sqlite:../lite.db" } ] }
                """)
        let first = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        let target = Target(
            name: "lite", environment: "dev", connection: .url("sqlite:\(root.appendingPathComponent("lite.db").path)"))
        let reader = try SQLiteBackend().connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { reader.close() }

        for signal in [SIGINT, SIGKILL] {
            let rowsBefore = try backfillRows(reader).last?.batch?.rows ?? 0
            let apply = try CommandRunner.launch(["apply", "-i", "inventories/shop.yaml"], in: root)
            #expect(try waitUntil { try (backfillRows(reader).last?.batch?.rows ?? 0) > rowsBefore })
            apply.send(signal)
            let result = await apply.wait()
            if signal == SIGINT {
                #expect(result.status == 130, "\(result)")
                #expect(result.standardOutput.contains("the next apply resumes after key"), "\(result)")
            }
            let last = try #require(try backfillRows(reader).last)
            #expect(last.isBackfillInProgress, "the kill landed mid-backfill: \(last)")
        }
        let status = try await CommandRunner.run(["status", "-i", "inventories/shop.yaml"], in: root)
        #expect(status.standardOutput.contains("backfill "), "\(status)")
        #expect(!status.standardOutput.contains("DIRTY"), "\(status)")

        let resumed = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml"], in: root)
        #expect(resumed.status == 0, "\(resumed)")
        let touched = try #require(try reader.readRows(of: ForeignTable(name: "orders", columns: ["touched"])))
        #expect(touched.count == 200_000)
        #expect(touched.allSatisfy { $0 == ["1"] }, "every row changed exactly once")
        let rows = try backfillRows(reader)
        #expect(rows.count == 1)
        #expect(rows.last?.success == true)
        #expect(rows.last?.batch == BatchCheckpoint(lastKey: 200_000, rows: 200_000))
    }

    /// Twenty SQLite targets in two waves; one target's data violates a CHECK in its backfill:
    /// that target fails (its row finished as failed, its earlier batches kept), and the
    /// failure budget (max_failures 0) halts the second wave as it would for any step.
    @Test func aFailedBackfillHaltsTheNextWave() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-fleet")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestWorkspace.write(
            [
                "plans/fleet/V1__bump.sql": """
                -- tidemark:batch table=items key=id size=10
                UPDATE items SET v = v + 1 WHERE id >= :batch_start AND id < :batch_end;

                """,
                "plans/fleet/U1__bump.sql": "UPDATE items SET v = v - 1;\n",
                "inventories/fleet.yaml": """
                inventory: fleet
                plan: ../plans/fleet
                concurrency: 4
                order: [dev, test]
                environments:
                  dev: { tier: dev, targets: [ { name: "dev-{01..10}", url: "sqlite:../dbs/dev-{01..10}.db" } ] }
                  test: { tier: test, targets: [ { name: "test-{01..10}", url: "sqlite:../dbs/test-{01..10}.db" } ] }
                """,
            ], under: root)
        let names = (1...10).map { String(format: "dev-%02d", $0) } + (1...10).map { String(format: "test-%02d", $0) }
        for name in names {
            let target = Target(
                name: name, environment: "x",
                connection: .url("sqlite:\(root.appendingPathComponent("dbs/\(name).db").path)"))
            let setup = try #require(
                try SQLiteBackend().connect(to: target, timeouts: .standard, logger: .silent) as? SQLiteConnection)
            let db = try #require(setup.handle)
            try SQLiteConnection.execute(
                "CREATE TABLE items (id INTEGER PRIMARY KEY, v INTEGER NOT NULL CHECK (v < 100))", on: db)
            // dev-03's row 35 is at the limit: its fourth batch fails.
            let values = (1...50).map { "(\($0), \(name == "dev-03" && $0 == 35 ? 99 : 1))" }.joined(separator: ", ")
            try SQLiteConnection.execute("INSERT INTO items (id, v) VALUES \(values)", on: db)
            setup.close()
        }
        let run = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--report", "report.json"], in: root)
        #expect(run.status == 1, "\(run)")
        #expect(run.standardOutput.contains("wave dev halted after 1 failure"), "\(run)")
        #expect(
            run.standardOutput.contains(
                "That batch was rolled back; the batches before it committed (30 rows, keys up to 30)"), "\(run)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("report.json")))
                as? [String: Any])
        let outcomes = Dictionary(
            uniqueKeysWithValues: (report["targets"] as? [[String: Any]] ?? []).compactMap {
                target -> (String, String)? in
                guard let name = target["target"] as? String, let outcome = target["outcome"] as? String else {
                    return nil
                }
                return (name, outcome)
            })
        #expect(outcomes["dev-03"] == "failed")
        #expect(
            names.filter { $0.hasPrefix("dev") && $0 != "dev-03" }.allSatisfy { outcomes[$0] == "succeeded" },
            "\(outcomes)")
        #expect(names.filter { $0.hasPrefix("test") }.allSatisfy { outcomes[$0] == "skipped" }, "\(outcomes)")

        let failed = Target(
            name: "dev-03", environment: "dev",
            connection: .url("sqlite:\(root.appendingPathComponent("dbs/dev-03.db").path)"))
        let reader = try SQLiteBackend().connect(to: failed, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { reader.close() }
        let row = try #require(try reader.readHistory().last)
        #expect(!row.success && row.finishedAt != nil)
        #expect(row.batch == BatchCheckpoint(lastKey: 30, rows: 30), "three batches committed before the CHECK failed")
        #expect(row.error?.contains("CHECK") == true, "\(row)")
        #expect(!TargetState(history: try reader.readHistory()).isDirty)
    }

    @Test func badBatchDirectivesExit2NamingTheLineAndTheFix() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestWorkspace.write(
            [
                "plans/bad/V1__two.sql": """
                -- tidemark:batch table=orders key=id size=100
                UPDATE orders SET a = 1 WHERE id >= :batch_start AND id < :batch_end;
                UPDATE orders SET b = 1;

                """,
                "plans/bad/V2__unbound.sql": """
                -- tidemark:batch table=orders key=id size=100
                UPDATE orders SET a = 1 WHERE id >= :batch_start;

                """,
                "plans/bad/V3__zero.sql": """
                -- tidemark:batch table=orders key=id size=0
                UPDATE orders SET a = 1 WHERE id >= :batch_start AND id < :batch_end;

                """,
            ], under: root)
        let result = try await CommandRunner.run(["validate", "--plan", "plans/bad"], in: root)
        #expect(result.status == 2, "\(result)")
        let text = result.standardOutput + result.standardError
        #expect(text.contains("V1__two.sql:3:1: a batched script holds exactly one statement"), "\(text)")
        #expect(text.contains("V2__unbound.sql:2:1: a batched statement must use :batch_end"), "\(text)")
        #expect(
            text.contains("V3__zero.sql:1:4: tidemark:batch size=0 must be a whole number of rows from 1 to 10000000"),
            "\(text)")
    }

    /// A key without a unique index, on one target: that target is blocked with the reason and
    /// the fix, and nothing of the step runs there (no history row).
    @Test func aKeyWithoutAUniqueIndexBlocksTheTarget() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-blocked")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestWorkspace.write(
            [
                "plans/shop/V1__orders.sql": "CREATE TABLE orders (ref INTEGER NOT NULL, a INTEGER);\n",
                "plans/shop/U1__orders.sql": "DROP TABLE orders;\n",
                "plans/shop/V2__fill.sql": """
                -- tidemark:batch table=orders key=ref size=100
                UPDATE orders SET a = 1 WHERE ref >= :batch_start AND ref < :batch_end;

                """,
                "plans/shop/U2__fill.sql": "UPDATE orders SET a = NULL;\n",
                "inventories/shop.yaml": """
                inventory: shop
                plan: ../plans/shop
                environments:
                  dev: { tier: dev, targets: [ { name: lite, url: "sqlite:../lite.db" } ] }
                """,
            ], under: root)
        let result = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml"], in: root)
        #expect(result.status == 3, "\(result)")
        #expect(
            result.standardOutput.contains(
                "cannot run batched version 2 (V2__fill.sql): key orders.ref has no unique index of its own"),
            "\(result)")
        let target = Target(
            name: "lite", environment: "dev", connection: .url("sqlite:\(root.appendingPathComponent("lite.db").path)"))
        let reader = try SQLiteBackend().connect(to: target, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { reader.close() }
        #expect(try reader.readHistory().map(\.version) == ["1"])
    }

    /// `step.progress` reaches only the sink whose `on:` names it (never a sink without `on:`),
    /// the report counts batches and rows, and the metrics file has `tidemark_backfill_rows_total`.
    @Test func progressGoesOnlyToSinksThatAskAndRowsReachReportAndMetrics() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-seen")
        defer { try? FileManager.default.removeItem(at: root) }
        let asking = try HTTPTestReceiver()
        let silent = try HTTPTestReceiver()
        try writePlan(
            at: root,
            create: """
                CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL, total_cents INTEGER, touched INTEGER NOT NULL DEFAULT 0);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO orders (id, total) SELECT i, i % 1000 FROM n;

                """, size: 1000, pause: "1ms",
            inventory: """
                inventory: shop
                plan: ../plans/shop
                environments:
                  dev: { tier: dev, targets: [ { name: lite, url: "sqlite:../lite.db" } ] }
                notify:
                  - { name: progress, type: webhook, url: "\(asking.url())", on: [progress, finished] }
                  - { name: everything, type: webhook, url: "\(silent.url())" }
                """)
        let run = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--report", "report.json", "--metrics-file", "metrics.prom"],
            in: root)
        #expect(run.status == 0, "\(run)")
        #expect(run.standardOutput.contains("forward 2 (5 batches, 5,000 rows)"), "\(run)")

        let progress = asking.requests.filter { $0.header("X-Tidemark-Event") == "step.progress" }
        #expect(progress.count == 1, "the first batch posts at once; the next may come only 10 s later")
        let body = try #require(progress.first?.jsonObject())
        #expect(body["target"] as? String == "lite")
        #expect((body["progress"] as? [String: Any])?["table"] as? String == "orders")
        #expect(!silent.requests.isEmpty, "the sink without on: got the run's other events")
        #expect(silent.requests.allSatisfy { $0.header("X-Tidemark-Event") != "step.progress" })

        let report = try String(contentsOf: root.appendingPathComponent("report.json"), encoding: .utf8)
        #expect(report.contains("\"batches\" : 5"), "\(report)")
        #expect(report.contains("\"rows\" : 5000"), "\(report)")
        let metrics = try String(contentsOf: root.appendingPathComponent("metrics.prom"), encoding: .utf8)
        #expect(
            metrics.contains(
                "tidemark_backfill_rows_total{inventory=\"shop\",environment=\"dev\",target=\"lite\",version=\"2\"} 5000"
            ), "\(metrics)")
    }

    /// On a live environment an unbatched UPDATE over a table above `lock_risk_rows` blocks
    /// the target (rule `unbatched-data-change`, the directive as the fix); a key lookup, an
    /// acknowledged script and the batched form do not.
    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func anUnbatchedUpdateOfABigTableBlocksALiveTarget() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-lint")
        defer { try? FileManager.default.removeItem(at: root) }
        let url = try #require(TestPostgres.url)
        let schema = try TestPostgres.createSchema(for: "unbatched")
        defer { try? TestPostgres.dropSchema(schema) }
        try TestPostgres.execute(
            """
            CREATE TABLE \(TestPostgres.quoted(schema)).orders (id bigint PRIMARY KEY, total integer NOT NULL, total_cents integer);
            INSERT INTO \(TestPostgres.quoted(schema)).orders (id, total) SELECT g, g FROM generate_series(1, 5000) AS g;
            ANALYZE \(TestPostgres.quoted(schema)).orders;
            """)
        let inventory = """
            inventory: shop
            plan: ../plans/shop
            environments:
              prod: { tier: prod, live: true, lock_risk_rows: 1000, targets: [ { name: pg, url: "\(url)", schema: \(schema) } ] }
            """
        func plan(_ script: String) async throws -> CommandRunner.Result {
            try? FileManager.default.removeItem(at: root.appendingPathComponent("plans"))
            try TestWorkspace.write(
                ["plans/shop/V1__cents.sql": script, "inventories/shop.yaml": inventory], under: root)
            return try await CommandRunner.run(["plan", "-i", "inventories/shop.yaml"], in: root)
        }
        let unbatched = try await plan("UPDATE orders SET total_cents = total * 100;\n")
        #expect(unbatched.status == 3, "\(unbatched)")
        #expect(
            unbatched.standardOutput.contains(
                "(unbatched-data-change), ~5k estimated rows, over lock_risk_rows 1000; instead: batch it: -- tidemark:batch"
            ), "\(unbatched)")
        let lookup = try await plan("UPDATE orders SET total_cents = 1 WHERE id = 42;\n")
        #expect(lookup.status == 0, "\(lookup)")
        let acknowledged = try await plan(
            "-- tidemark:lock-ok orders is written only by the nightly job\nUPDATE orders SET total_cents = total * 100;\n"
        )
        #expect(acknowledged.status == 0, "\(acknowledged)")
        let batched = try await plan(
            "-- tidemark:batch table=orders key=id size=1000\nUPDATE orders SET total_cents = total * 100 WHERE id >= :batch_start AND id < :batch_end;\n"
        )
        #expect(batched.status == 0, "\(batched)")
        #expect(
            batched.standardOutput.contains(
                "[BATCHED: orders by id, 1,000 rows a batch; ~5k rows estimated, ~5 batches]"), "\(batched)")
    }

    /// `rehearse` runs a batched forward and a batched undo batch by batch on its scratch
    /// database (sent whole, PostgreSQL would refuse `:batch_start` as a syntax error).
    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func rehearseRunsBatchedForwardAndUndoSteps() async throws {
        let url = try #require(TestPostgres.url)
        let root = try CommandRunner.temporaryDirectory("tidemark-backfill-rehearse")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestWorkspace.write(
            [
                "plans/shop/V1__orders.sql": """
                CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL, total_cents INTEGER);
                INSERT INTO orders (id, total) VALUES (1, 10), (2, 20), (3, 30);

                """,
                "plans/shop/U1__orders.sql": "DROP TABLE orders;\n",
                "plans/shop/V2__cents.sql": """
                -- tidemark:batch table=orders key=id size=2
                UPDATE orders SET total_cents = total * 100 WHERE id >= :batch_start AND id < :batch_end;

                """,
                "plans/shop/U2__cents.sql": """
                -- tidemark:batch table=orders key=id size=2
                UPDATE orders SET total_cents = NULL WHERE id >= :batch_start AND id < :batch_end;

                """,
            ], under: root)
        let result = try await CommandRunner.run(["rehearse", "--plan", "plans/shop", "--url", url], in: root)
        #expect(result.status == 0, "\(result)")
    }
}
