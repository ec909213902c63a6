import Foundation
import Testing
import TidemarkCore
import TidemarkMySQL
import TidemarkTestSupport

/// A real `tidemark apply` killed (SIGKILL) in the middle of a MySQL DDL step
/// (docs/mysql.md#a-run-killed-between-statements): the history row counts the statements that
/// completed, so `repair` says where it stopped and `--auto` finishes the rest.
@Suite("MySQL kills", .serialized, .enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MySQLKillTests {
    /// Waits (bounded) until `condition` holds, checking every 20 ms.
    func waitUntil(seconds: Double = 60, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// The server sessions running `prefix…` in `database`: id and state.
    func sessions(running prefix: String, in database: String) throws -> [(id: String, state: String)] {
        try TestMariaDB.catalog(
            """
            SELECT ID, COALESCE(STATE, '') FROM information_schema.PROCESSLIST
            WHERE DB = \(TestMariaDB.literal(database)) AND INFO LIKE \(TestMariaDB.literal(prefix + "%"))
            """
        ).map { ($0[0] ?? "", $0[1] ?? "") }
    }

    @Test func aRunKilledBetweenStatementsIsDiagnosedWhereItStoppedAndFinished() async throws {
        let fleet = try MySQLCommandTests().makeFleet(
            [
                "V1__accounts.sql":
                    "CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(40));\nCREATE TABLE audit (id INT PRIMARY KEY);\n",
                "V2__email.sql": """
                ALTER TABLE accounts ADD COLUMN email VARCHAR(80) NULL;
                CREATE INDEX accounts_email ON accounts (email);
                ALTER TABLE audit ADD COLUMN note VARCHAR(40) NULL;
                CREATE INDEX audit_note ON audit (note);

                """,
            ], targets: ["dev-1"], extra: "    lock_timeout: 120s\n")
        defer { fleet.cleanUp() }
        let database = try #require(fleet.databases["dev-1"])
        let first = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--to", "1", "--yes")
        #expect(first.status == 0, "\(first)")

        // The test's own transaction holds `audit`'s metadata lock: statement 3 waits for it.
        let holder = try MySQLBackend().connect(
            to: Target(
                name: "holder", environment: "test", connection: .url(try TestMariaDB.requireURL()), schema: database),
            timeouts: .standard, logger: .silent)
        defer { holder.close() }
        let session = try #require(holder as? MySQLConnection)
        _ = try session.catalogRows("START TRANSACTION")
        _ = try session.catalogRows("SELECT COUNT(*) FROM audit")

        let apply = try CommandRunner.launch(["apply", "-i", "inventories/shop.yaml", "--yes"], in: fleet.root)
        let waiting = try waitUntil {
            try sessions(running: "ALTER TABLE audit", in: database).contains {
                $0.state.contains("metadata lock")
            }
        }
        #expect(waiting, "statement 3 never waited for the metadata lock")
        apply.send(SIGKILL)
        let killed = await apply.wait()
        #expect(killed.status != 0, "\(killed)")
        // The server may keep the dead client's statement waiting; end it as the server would
        // once it notices, before the lock is released, so statement 3 does not run after all.
        for stale in try sessions(running: "ALTER TABLE audit", in: database) {
            try? TestMariaDB.execute("KILL \(stale.id)")
        }
        #expect(try waitUntil(seconds: 30) { try sessions(running: "ALTER TABLE audit", in: database).isEmpty })
        _ = try session.catalogRows("COMMIT")

        let diagnosis = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml")
        #expect(diagnosis.status == 0, "\(diagnosis)")
        let text = diagnosis.standardOutput
        #expect(
            text.contains(
                "error:  none recorded: the run died (killed, or its connection lost) during statement 3 of 4, line 3; statements 1-2 had completed"
            ), "\(diagnosis)")
        #expect(text.contains("2. line 2: in place: CREATE INDEX accounts_email ON accounts (email)"), "\(diagnosis)")
        #expect(
            text.contains("3. line 3: not there (stopped here): ALTER TABLE audit ADD COLUMN note VARCHAR(40) NULL"),
            "\(diagnosis)")
        #expect(text.contains("4. line 4: not there: CREATE INDEX audit_note ON audit (note)"), "\(diagnosis)")
        #expect(
            text.contains(
                "proven: statements 1-2 took effect and the rest did not; `--auto` finishes the step (runs 3-4)"),
            "\(diagnosis)")

        let auto = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--auto", "--yes")
        #expect(auto.status == 0, "\(auto)")
        #expect(auto.standardOutput.contains("finished the step: ran statements 3-4"), "\(auto)")
        let status = try await fleet.tidemark("status", "-i", "inventories/shop.yaml")
        #expect(status.status == 0 && !status.standardOutput.contains("DIRTY"), "\(status)")
        #expect(try TestMariaDB.columnExists("note", table: "audit", inDatabase: database))
        let again = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--yes")
        #expect(again.status == 0 && again.standardOutput.contains("nothing to do"), "\(again)")
    }

    /// docs/backfills.md#mysql-and-mariadb: `max_lag` on a MySQL target needs its replicas
    /// named; without them `validate`, `plan` and `apply` refuse (exit 2) at the directive's
    /// line, before anything runs; with them the backfill runs and the unreadable replica is said.
    @Test func maxLagOnAMySQLTargetWithoutReplicasIsRefusedAndReplicasAreRead() async throws {
        let batched = """
            -- tidemark:batch table=accounts key=id size=2 max_lag=5s
            UPDATE accounts SET name = 'x' WHERE id >= :batch_start AND id < :batch_end;

            """
        let fleet = try MySQLCommandTests().makeFleet(
            [
                "V1__accounts.sql":
                    "CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(40));\nINSERT INTO accounts VALUES (1, 'a'), (2, 'b'), (3, 'c');\n",
                "V2__names.sql": batched,
            ], targets: ["dev-1"])
        defer { fleet.cleanUp() }
        for command in [["validate"], ["plan"], ["apply", "--yes"]] {
            let result = try await CommandRunner.run(command + ["-i", "inventories/shop.yaml"], in: fleet.root)
            #expect(result.status == 2, "\(result)")
            #expect(
                result.standardError.contains(
                    "V2__names.sql:1: max_lag=5s cannot be checked on MySQL target dev-1: a MySQL server does not know its replicas' lag; name them on each target in inventories/shop.yaml"
                ), "\(result)")
        }
        #expect(try !TestMariaDB.tableExists("accounts", inDatabase: fleet.databases["dev-1"] ?? ""))

        // Named: read before each batch. The primary named as its own replica is not replicating:
        // said once, and the backfill goes on.
        let url = try TestMariaDB.requireURL()
        let inventory = fleet.root.appendingPathComponent("inventories/shop.yaml")
        let text = try String(contentsOf: inventory, encoding: .utf8).replacingOccurrences(
            of: "schema: \(fleet.databases["dev-1"] ?? "") }",
            with:
                "schema: \(fleet.databases["dev-1"] ?? ""), replicas: [ { url: \"\(url)\", password_env: TM_NONE } ] }")
        try text.write(to: inventory, atomically: true, encoding: .utf8)
        let applied = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--yes")
        #expect(applied.status == 0, "\(applied)")
        let said = applied.standardError.components(separatedBy: "max_lag cannot be checked").count - 1
        #expect(said == 1, "\(applied)")
        #expect(applied.standardError.contains("is not replicating (SHOW REPLICA STATUS is empty)"), "\(applied)")

        // Replicas on a SQLite target, and a password written in a replica's URL, are refused.
        try TestWorkspace.write(
            [
                "inventories/bad.yaml": """
                inventory: bad
                plan: ../plans/shop
                environments:
                  dev:
                    tier: dev
                    targets:
                      - { name: lite, url: "sqlite:lite.db", replicas: ["mysql://r1/app"] }
                      - { name: my, url: "mysql://app@db1/app", replicas: ["mysql://app:hunter2@r1/app"] }

                """
            ], under: fleet.root)
        let bad = try await fleet.tidemark("validate", "-i", "inventories/bad.yaml")
        #expect(bad.status == 2, "\(bad)")
        #expect(bad.standardError.contains("target 'lite' sets replicas, which only a mysql://"), "\(bad)")
        #expect(bad.standardError.contains("has a password in its URL; move it to an environment variable"), "\(bad)")
        #expect(!bad.standardError.contains("hunter2"), "\(bad)")
    }
}
