import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkSQLite
import TidemarkTestSupport

/// `tidemark repair` with the real binary on real databases
/// (docs/recovery.md#when-a-target-is-dirty): a no-transaction version whose first statement fails
/// on some targets (a CHECK that some rows violate: nothing applied) and whose last fails on
/// another (a UNIQUE index over duplicates: partly applied, and on PostgreSQL an INVALID index left
/// by CONCURRENTLY). Diagnosis names each case, `--auto` marks only the provable ones, and after
/// the data is fixed `apply` converges with every row kept.
@Suite("Repair", .serialized)
struct RepairCommandTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    static let backends: [Kind] = TestPostgres.isAvailable ? [.sqlite, .postgres] : [.sqlite]
    static let targets = ["shop-1", "shop-2", "shop-3", "shop-4"]

    /// One scenario's workspace: plan, inventory, databases.
    struct Fleet {
        var kind: Kind
        var root: URL
        var run: String

        func schema(_ target: String) -> String { "repair_\(run)_\(target.replacingOccurrences(of: "-", with: "_"))" }

        func tidemark(_ arguments: String...) async throws -> CommandRunner.Result {
            try await tidemark(arguments)
        }

        func tidemark(_ arguments: [String]) async throws -> CommandRunner.Result {
            try await CommandRunner.run(arguments, in: root)
        }

        /// Runs SQL on one target as a person at a SQL prompt would, outside Tidemark.
        func byHand(_ target: String, _ sql: String) throws {
            switch kind {
            case .sqlite:
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [
                    "python3", "-c",
                    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
                    root.appendingPathComponent("dbs/\(target).db").path, sql,
                ]
                try process.run()
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "python3 sqlite3: \(sql)")
            case .postgres:
                try TestPostgres.execute("SET LOCAL search_path TO \(TestPostgres.quoted(schema(target))); \(sql)")
            }
        }

        /// A connection to one target from this process (to hold its lock).
        func connect(_ target: String) throws -> any BackendConnection {
            switch kind {
            case .sqlite:
                let location = Target(
                    name: target, environment: "prod", connection: .url("sqlite:\(root.path)/dbs/\(target).db"))
                return try SQLiteBackend().connect(to: location, timeouts: .standard, logger: .silent)
            case .postgres:
                let location = Target(
                    name: target, environment: "prod", connection: .url(TestPostgres.url ?? ""), schema: schema(target))
                return try PostgresBackend().connect(to: location, timeouts: .standard, logger: .silent)
            }
        }
    }

    func makeFleet(_ kind: Kind) throws -> Fleet {
        let root = try CommandRunner.temporaryDirectory("tidemark-repair")
        let fleet = Fleet(kind: kind, root: root, run: String(UUID().uuidString.prefix(8)).lowercased())
        let plan = root.appendingPathComponent("plans/shop")
        for folder in [plan, root.appendingPathComponent("inventories"), root.appendingPathComponent("dbs")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        let concurrently = kind == .postgres ? "CONCURRENTLY " : ""
        let check =
            kind == .postgres
            ? "ALTER TABLE orders ADD CONSTRAINT orders_qty_positive CHECK (qty > 0);"
            // SQLite cannot add a table constraint; a new column's CHECK is tested against every row.
            : "ALTER TABLE orders ADD COLUMN positive integer NOT NULL DEFAULT 1 CHECK (qty > 0);"
        let uncheck =
            kind == .postgres
            ? "ALTER TABLE orders DROP CONSTRAINT orders_qty_positive;" : "ALTER TABLE orders DROP COLUMN positive;"
        let files = [
            "V1__create_orders.sql":
                "CREATE TABLE orders (id integer PRIMARY KEY, code text NOT NULL, qty integer NOT NULL);\n",
            "U1__create_orders.sql": "DROP TABLE orders;\n",
            "V2__constrain_orders.sql": """
            -- tidemark:no-transaction
            \(check)
            CREATE TABLE order_notes (id integer PRIMARY KEY, order_id integer NOT NULL, note text);
            CREATE UNIQUE INDEX \(concurrently)orders_code_key ON orders (code);

            """,
            "U2__constrain_orders.sql": """
            -- tidemark:no-transaction
            DROP INDEX \(concurrently)orders_code_key;
            DROP TABLE order_notes;
            \(uncheck)

            """,
        ]
        for (name, text) in files {
            try text.write(to: plan.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let targets = Self.targets.map { name in
            switch kind {
            case .sqlite: return "      - { name: \(name), url: \"sqlite:../dbs/\(name).db\" }"
            case .postgres:
                return "      - { name: \(name), url: \"\(TestPostgres.url ?? "")\", schema: \(fleet.schema(name)) }"
            }
        }
        let inventory = """
            inventory: shop
            plan: ../plans/shop
            environments:
              prod:
                tier: prod
                max_failures: 10
                targets:
            \(targets.joined(separator: "\n"))

            """
        try inventory.write(to: root.appendingPathComponent("inventories/shop.yaml"), atomically: true, encoding: .utf8)
        return fleet
    }

    func cleanUp(_ fleet: Fleet) {
        try? FileManager.default.removeItem(at: fleet.root)
        if fleet.kind == .postgres {
            for name in Self.targets { try? TestPostgres.dropSchema(fleet.schema(name)) }
        }
    }

    /// Applies v1 everywhere, seeds each target's rows, then v2, which fails on shop-2 and shop-4
    /// at its first statement and on shop-3 at its last.
    func breakTheFleet(_ fleet: Fleet) async throws {
        let rehearse =
            fleet.kind == .postgres
            ? try await CommandRunner.run(
                ["rehearse", "--plan", "plans/shop", "--url", TestPostgres.url ?? "", "--record"], in: fleet.root)
            : try await fleet.tidemark("rehearse", "--plan", "plans/shop", "--record")
        #expect(rehearse.status == 0, "\(rehearse)")
        let first = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--to", "1", "--yes")
        #expect(first.status == 0, "\(first)")
        try fleet.byHand("shop-1", "INSERT INTO orders VALUES (1, 'a', 1), (2, 'b', 2);")
        try fleet.byHand("shop-2", "INSERT INTO orders VALUES (1, 'a', 1), (2, 'b', 0);")
        try fleet.byHand("shop-3", "INSERT INTO orders VALUES (1, 'a', 1), (2, 'a', 2);")
        try fleet.byHand("shop-4", "INSERT INTO orders VALUES (1, 'a', -1);")
        let second = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--yes")
        #expect(second.status == 1, "\(second)")
        #expect(second.standardOutput.contains("stopped at statement 1 of 3, line 2"), "\(second)")
        #expect(second.standardOutput.contains("stopped at statement 3 of 3, line 4"), "\(second)")
        #expect(
            second.standardOutput.contains("`tidemark repair -i inventories/shop.yaml --target shop-3`"), "\(second)")
    }

    @Test("Diagnosis, --auto and a fixed fleet converging", arguments: RepairCommandTests.backends)
    func dirtyFleetIsDiagnosedRepairedAndConverges(_ kind: Kind) async throws {
        let fleet = try makeFleet(kind)
        defer { cleanUp(fleet) }
        try await breakTheFleet(fleet)

        // Diagnosis changes nothing and names each case.
        let diagnosis = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml")
        #expect(diagnosis.status == 0, "\(diagnosis)")
        let text = diagnosis.standardOutput
        #expect(text.contains("shop-2 (prod): version 2 forward failed outside a transaction"), "\(diagnosis)")
        #expect(text.contains("schema: equals version 1 (nothing of 2 remains)"), "\(diagnosis)")
        #expect(text.contains("schema: neither version 1 nor version 2 (partly applied)"), "\(diagnosis)")
        #expect(text.contains("- index orders.orders_code_key"), "\(diagnosis)")
        #expect(text.contains("3 dirty targets:"), "\(diagnosis)")
        #expect(text.contains("Nothing was changed."), "\(diagnosis)")
        if kind == .postgres {
            #expect(
                text.contains("INVALID index orders_code_key on orders")
                    && text.contains(
                        "DROP INDEX CONCURRENTLY IF EXISTS \"\(fleet.schema("shop-3"))\".\"orders_code_key\";"),
                "\(diagnosis)")
        }
        let json = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--json")
        let document = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        #expect(document?["schema"] as? String == "tidemark.repair/v1", "\(json)")
        let verdicts = (document?["targets"] as? [[String: Any]])?.map { target in
            "\(target["target"] ?? "") \((target["diagnosis"] as? [String: Any])?["verdict"] ?? "")"
        }
        #expect(verdicts == ["shop-2 equals-before", "shop-3 neither", "shop-4 equals-before"], "\(json)")

        // Bad input: exit 2 naming the target.
        let clean = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--target", "shop-1")
        #expect(clean.status == 2 && clean.standardError.contains("'shop-1' is not dirty"), "\(clean)")
        let unknown = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--target", "shop-9")
        #expect(unknown.status == 2 && unknown.standardError.contains("did you mean 'shop-1'?"), "\(unknown)")
        let both = try await fleet.tidemark(
            "repair", "-i", "inventories/shop.yaml", "--auto", "--mark-failed-step", "resolved")
        #expect(both.status == 2, "\(both)")
        let unconfirmed = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--auto")
        #expect(unconfirmed.status == 2 && unconfirmed.standardError.contains("--yes"), "\(unconfirmed)")

        // A target locked by a running apply is reported, exit 4, and left alone.
        do {
            let holder = try fleet.connect("shop-3")
            defer { holder.close() }
            #expect(try holder.tryLock(timeout: .seconds(1)))
            let locked = try await fleet.tidemark(
                "repair", "-i", "inventories/shop.yaml", "--target", "shop-3", "--mark-failed-step", "resolved", "--yes"
            )
            #expect(locked.status == 4, "\(locked)")
        }

        // A human's decision for shop-4, then --auto: only shop-2 is provable; shop-3 stays dirty.
        let marked = try await fleet.tidemark(
            "repair", "-i", "inventories/shop.yaml", "--target", "shop-4", "--mark-failed-step", "rolled-back", "--yes")
        #expect(marked.status == 0 && marked.standardOutput.contains("recorded: rolled-back"), "\(marked)")
        let auto = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--auto", "--yes")
        #expect(auto.status == 3, "\(auto)")
        #expect(
            auto.standardOutput.contains(
                "2        forward  equals before (nothing remains)  recorded rolled-back  shop-2"), "\(auto)")
        #expect(auto.standardOutput.contains("left dirty: the live schema matches neither"), "\(auto)")

        // Fix the data; finish shop-3's index by hand: now its schema proves it completed.
        try fleet.byHand("shop-2", "UPDATE orders SET qty = 1 WHERE qty <= 0;")
        try fleet.byHand("shop-4", "UPDATE orders SET qty = 1 WHERE qty <= 0;")
        try fleet.byHand(
            "shop-3",
            "UPDATE orders SET code = 'a2' WHERE id = 2; DROP INDEX IF EXISTS orders_code_key; CREATE UNIQUE INDEX orders_code_key ON orders (code);"
        )
        let proven = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--auto", "--yes")
        #expect(proven.status == 0, "\(proven)")
        #expect(proven.standardOutput.contains("schema: equals version 2 (it completed)"), "\(proven)")
        #expect(proven.standardOutput.contains("recorded: resolved"), "\(proven)")

        let converge = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--yes")
        #expect(converge.status == 0, "\(converge)")
        let settled = try await fleet.tidemark("plan", "-i", "inventories/shop.yaml")
        #expect(settled.standardOutput.contains("4 targets: 4 none"), "\(settled)")
        let nothingLeft = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml")
        #expect(nothingLeft.status == 0 && nothingLeft.standardOutput.contains("No dirty targets"), "\(nothingLeft)")

        // The history keeps every row: the failed one, the repair, the re-run.
        let history = try await fleet.tidemark("history", "-i", "inventories/shop.yaml", "--target", "shop-2", "--json")
        let rows =
            (try JSONSerialization.jsonObject(with: Data(history.standardOutput.utf8)) as? [String: Any])?["entries"]
            as? [[String: Any]]
        let summary = rows?.map {
            "\($0["version"] ?? "") \($0["kind"] ?? "") \($0["success"] as? Bool == true ? "ok" : "failed")"
        }
        #expect(summary == ["1 forward ok", "2 forward failed", "2 repair ok", "2 forward ok"], "\(history)")
        let resolved = try await fleet.tidemark("history", "-i", "inventories/shop.yaml", "--target", "shop-3")
        #expect(
            resolved.standardOutput.contains("repair   ok") && resolved.standardOutput.contains("resolved: proven"),
            "\(resolved)")
        #expect(resolved.standardOutput.contains("in effect: 1, 2"), "\(resolved)")
    }

    @Test("--auto without recorded fingerprints changes nothing", arguments: [Kind.sqlite])
    func autoWithoutFingerprintsChangesNothing(_ kind: Kind) async throws {
        let fleet = try makeFleet(kind)
        defer { cleanUp(fleet) }
        try await breakTheFleet(fleet)
        try FileManager.default.removeItem(at: fleet.root.appendingPathComponent("plans/shop/fingerprints.json"))
        let auto = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--auto", "--yes")
        #expect(auto.status == 2, "\(auto)")
        #expect(auto.standardError.contains("tidemark rehearse --plan plans/shop --record"), "\(auto)")
        let still = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--json")
        #expect(still.standardOutput.components(separatedBy: "\"outcome\" : \"diagnosed\"").count == 4, "\(still)")

        // The diagnosis says how to record the fingerprints, and the command runs as printed
        // (it said `tidemark rehearse --record`, which fails: "Say which plan").
        let diagnosis = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml")
        let hint = try #require(
            diagnosis.standardOutput.components(separatedBy: "(run `tidemark ").dropFirst().first?.prefix { $0 != "`" },
            "\(diagnosis)")
        #expect(hint == "rehearse -i inventories/shop.yaml --record", "\(diagnosis)")
        let record = try await fleet.tidemark(hint.split(separator: " ").map(String.init))
        #expect(record.status == 0, "\(record)")
        // With the fingerprints recorded, --auto decides from the schema (3: one target is partly
        // applied and stays for a human).
        let repaired = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--auto", "--yes")
        #expect(repaired.status == 3, "\(repaired)")
        #expect(
            !repaired.standardOutput.contains("no recorded fingerprint")
                && !repaired.standardError.contains("rehearse"), "\(repaired)")
    }
}

/// The drift gate (`apply --drift`, `drift:` in the inventory) on real databases: a target
/// changed by hand is blocked with the difference, the others migrate.
@Suite("Drift gate", .serialized)
struct DriftGateTests {
    typealias Kind = RepairCommandTests.Kind

    @Test("A target changed by hand is blocked; the others migrate", arguments: RepairCommandTests.backends)
    func driftedTargetIsBlockedAndTheRestMigrate(_ kind: Kind) async throws {
        let suite = RepairCommandTests()
        let fleet = try suite.makeFleet(kind)
        defer { suite.cleanUp(fleet) }
        // Version 2's CREATE INDEX CONCURRENTLY waits for every older transaction of the whole
        // database, other suites' long ones included when the suite runs in parallel: a lock
        // timeout here would test the machine's load, not the drift gate.
        let inventoryFile = fleet.root.appendingPathComponent("inventories/shop.yaml")
        try String(contentsOf: inventoryFile, encoding: .utf8).replacingOccurrences(
            of: "    tier: prod\n", with: "    tier: prod\n    lock_timeout: 2m\n"
        )
        .write(to: inventoryFile, atomically: true, encoding: .utf8)
        let rehearse =
            kind == .postgres
            ? try await CommandRunner.run(
                ["rehearse", "--plan", "plans/shop", "--url", TestPostgres.url ?? "", "--record"], in: fleet.root)
            : try await fleet.tidemark("rehearse", "--plan", "plans/shop", "--record")
        #expect(rehearse.status == 0, "\(rehearse)")
        let first = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--to", "1", "--yes")
        #expect(first.status == 0, "\(first)")
        try fleet.byHand("shop-2", "ALTER TABLE orders ADD COLUMN nickname text;")

        let blocked = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--drift", "block", "--yes")
        #expect(blocked.status == 3, "\(blocked)")
        #expect(
            blocked.standardOutput.contains(
                "shop-2 has drifted: its live schema is not the one recorded for version 1"), "\(blocked)")
        #expect(blocked.standardOutput.contains("+ column orders.nickname: text"), "\(blocked)")
        #expect(blocked.standardOutput.contains("3 succeeded, 1 blocked"), "\(blocked)")

        // The same from the inventory's defaults, without the flag.
        let file = fleet.root.appendingPathComponent("inventories/shop.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        try text.replacingOccurrences(of: "environments:", with: "defaults: { drift: block }\nenvironments:")
            .write(to: file, atomically: true, encoding: .utf8)
        let again = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--yes")
        #expect(again.status == 3 && again.standardOutput.contains("shop-2 has drifted"), "\(again)")

        // warn reports and migrates.
        let warned = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--drift", "warn", "--yes")
        #expect(warned.status == 0, "\(warned)")
        #expect(warned.standardOutput.contains("drift (warn): shop-2 has drifted"), "\(warned)")
    }
}
