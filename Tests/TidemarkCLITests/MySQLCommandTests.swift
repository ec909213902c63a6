import Foundation
import Testing
import TidemarkCore
import TidemarkMySQL
import TidemarkTestSupport

/// The `tidemark` binary on a fleet of real MariaDB databases (docs/mysql.md): what `plan`,
/// `status` and `lint` say about MySQL targets.
@Suite("MySQL commands", .serialized, .enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MySQLCommandTests {
    /// One scenario's workspace: a plan, an inventory of MariaDB databases.
    struct Fleet {
        var root: URL
        var databases: [String: String]

        func tidemark(_ arguments: String...) async throws -> CommandRunner.Result {
            try await CommandRunner.run(arguments, in: root)
        }

        func cleanUp() {
            try? FileManager.default.removeItem(at: root)
            for database in databases.values { try? TestMariaDB.dropDatabase(database) }
        }
    }

    /// `files` in plans/shop, and an inventory of `targets` (each its own database) in one
    /// environment of `tier`.
    func makeFleet(
        _ files: [String: String], targets: [String] = ["dev-1", "dev-2"], tier: String = "dev", extra: String = ""
    ) throws -> Fleet {
        let url = try TestMariaDB.requireURL()
        let root = try CommandRunner.temporaryDirectory("tidemark-mysql")
        var databases: [String: String] = [:]
        for target in targets {
            databases[target] = TestMariaDB.uniqueDatabaseName(for: target.replacingOccurrences(of: "-", with: "_"))
        }
        var all = files.reduce(into: [String: String]()) { $0["plans/shop/\($1.key)"] = $1.value }
        let lines = targets.map { "      - { name: \($0), url: \"\(url)\", schema: \(databases[$0] ?? "") }" }
        all["inventories/shop.yaml"] = """
            inventory: shop
            plan: ../plans/shop
            environments:
              \(tier):
                tier: \(tier)
            \(extra)    targets:
            \(lines.joined(separator: "\n"))

            """
        try TestWorkspace.write(all, under: root)
        return Fleet(root: root, databases: databases)
    }

    static let shop = [
        "V1__accounts.sql": "CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL);\n",
        "V2__email.sql":
            "ALTER TABLE accounts ADD COLUMN email VARCHAR(80) NULL;\nCREATE INDEX accounts_email ON accounts (email);\n",
        "V3__seed.sql":
            "INSERT INTO accounts (id, name) VALUES (1, 'first');\nUPDATE accounts SET email = 'a@example.com' WHERE id = 1;\n",
    ]

    @Test func planMarksDDLStepsNonTransactionalAndStatusShowsTheServer() async throws {
        let fleet = try makeFleet(Self.shop)
        defer { fleet.cleanUp() }
        let plan = try await fleet.tidemark("plan", "-i", "inventories/shop.yaml")
        #expect(plan.status == 0, "\(plan)")
        let lines = plan.standardOutput.split(separator: "\n").map(String.init)
        let v1 = try #require(lines.first { $0.contains("V1__accounts.sql") }, "\(plan)")
        let v3 = try #require(lines.first { $0.contains("V3__seed.sql") }, "\(plan)")
        #expect(
            v1.contains(
                "[NON-TRANSACTIONAL on MySQL: DDL commits statement by statement; a failure midway leaves the statements before it applied"
            ), "\(plan)")
        #expect(!v3.contains("NON-TRANSACTIONAL"), "\(plan)")

        let applied = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--yes")
        #expect(applied.status == 0, "\(applied)")
        let status = try await fleet.tidemark("status", "-i", "inventories/shop.yaml")
        #expect(status.status == 0, "\(status)")
        let header = try #require(status.standardOutput.split(separator: "\n").dropFirst().first.map(String.init))
        #expect(header.hasPrefix("environment  target  tier  server"), "\(status)")
        #expect(status.standardOutput.contains("dev-1   dev   MariaDB 10."), "\(status)")
        let json = try await fleet.tidemark("status", "-i", "inventories/shop.yaml", "--json")
        #expect(json.standardOutput.contains("\"product\" : \"MariaDB\""), "\(json)")
    }

    @Test func lintTakesItsDialectFromTheTargetsOrFromDialect() async throws {
        let fleet = try makeFleet(Self.shop)
        defer { fleet.cleanUp() }
        let fromTargets = try await fleet.tidemark("lint", "-i", "inventories/shop.yaml")
        #expect(fromTargets.status == 0, "\(fromTargets)")
        #expect(fromTargets.standardOutput.hasPrefix("dialect MySQL 8.0:"), "\(fromTargets)")
        #expect(
            fromTargets.standardOutput.contains(
                "V2__email.sql:1: non-transactional on MySQL: 2 statements run one by one"), "\(fromTargets)")
        #expect(!fromTargets.standardOutput.contains("V3__seed.sql"), "\(fromTargets)")
        // The same plan as PostgreSQL: its lock rules, no MySQL notes.
        let postgres = try await fleet.tidemark("lint", "--plan", "plans/shop", "--dialect", "postgres")
        #expect(postgres.status == 0 && !postgres.standardOutput.contains("non-transactional"), "\(postgres)")
        #expect(postgres.standardOutput.contains("V2__email.sql:2: require-concurrent-index-creation"), "\(postgres)")
        let sqlite = try await fleet.tidemark("lint", "--plan", "plans/shop", "--dialect", "sqlite")
        #expect(sqlite.status == 0 && sqlite.standardOutput.contains("0 findings"), "\(sqlite)")
        let bad = try await fleet.tidemark("lint", "--plan", "plans/shop", "--dialect", "oracle")
        #expect(
            bad.status == 2 && bad.standardError.contains("--dialect 'oracle' is not one of postgres, sqlite, mysql"),
            "\(bad)")
    }

    /// docs/mysql.md#a-half-applied-step: a step whose third statement fails (a foreign key to a
    /// table that does not exist) leaves its first two in place on both targets; repair reads
    /// each statement against information_schema; `--auto` finishes it where the missing table
    /// was created by hand, and undoes statements 1-2 where finishing fails again.
    @Test func aHalfAppliedStepIsDiagnosedByStatementAndFinishedOrUndone() async throws {
        var files = Self.shop
        files["V2__email.sql"] = """
            ALTER TABLE accounts ADD COLUMN email VARCHAR(80) NULL;
            CREATE INDEX accounts_email ON accounts (email);
            ALTER TABLE accounts ADD CONSTRAINT accounts_owner FOREIGN KEY (id) REFERENCES owners (id);

            """
        files["V3__seed.sql"] = nil
        let fleet = try makeFleet(files)
        defer { fleet.cleanUp() }
        let applied = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--yes")
        #expect(applied.status == 1, "\(applied)")
        #expect(applied.standardOutput.contains("stopped at statement 3 of 3, line 3"), "\(applied)")

        let diagnosis = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--target", "dev-1")
        #expect(diagnosis.status == 0, "\(diagnosis)")
        let text = diagnosis.standardOutput
        #expect(
            text.contains("1. line 1: in place: ALTER TABLE accounts ADD COLUMN email VARCHAR(80) NULL"), "\(diagnosis)"
        )
        #expect(text.contains("2. line 2: in place: CREATE INDEX accounts_email ON accounts (email)"), "\(diagnosis)")
        #expect(
            text.contains("3. line 3: not there (failed): ALTER TABLE accounts ADD CONSTRAINT accounts_owner"),
            "\(diagnosis)")
        #expect(
            text.contains(
                "proven: statements 1-2 took effect and the rest did not; `--auto` finishes the step (runs 3-3), or, if that fails again, undoes 1-2"
            ), "\(diagnosis)")
        #expect(text.contains("`tidemark repair -i inventories/shop.yaml --auto` records them"), "\(diagnosis)")

        // dev-1: the missing table is created by hand, so finishing works; dev-2: it fails again and is undone.
        try TestMariaDB.execute("CREATE TABLE `\(fleet.databases["dev-1"] ?? "")`.owners (id INT PRIMARY KEY)")
        let auto = try await fleet.tidemark("repair", "-i", "inventories/shop.yaml", "--auto", "--yes")
        #expect(auto.status == 0, "\(auto)")
        #expect(auto.standardOutput.contains("finished the step: ran statements 3-3"), "\(auto)")
        #expect(
            auto.standardOutput.contains(
                "statement 3 failed again (Can't create table `\(fleet.databases["dev-2"] ?? "")`.`accounts` (errno: 150 \"Foreign key constraint is incorrectly formed\") (MySQL error 1005)); undid statements 1-2 instead: DROP INDEX `accounts_email` ON `accounts`; ALTER TABLE `accounts` DROP COLUMN `email`"
            ), "\(auto)")

        let status = try await fleet.tidemark("status", "-i", "inventories/shop.yaml")
        #expect(status.status == 0 && !status.standardOutput.contains("DIRTY"), "\(status)")
        #expect(status.standardOutput.contains("dev-1") && status.standardOutput.contains(" 2        -"), "\(status)")
        let dev2 = try #require(status.standardOutput.split(separator: "\n").first { $0.contains("dev-2") })
        #expect(dev2.contains(" 1        2 "), "\(status)")
        #expect(try !TestMariaDB.columnExists("email", table: "accounts", inDatabase: fleet.databases["dev-2"] ?? ""))
        #expect(try TestMariaDB.columnExists("email", table: "accounts", inDatabase: fleet.databases["dev-1"] ?? ""))
    }

    /// docs/mysql.md#online-ddl-classes: on a live environment, an ALTER the MariaDB server can
    /// only COPY is blocked above lock_risk_rows (TABLE_ROWS), an INSTANT one is not, and
    /// `-- tidemark:lock-ok` lets the COPY through.
    @Test func copyAltersOnBigTablesAreGatedOnLiveEnvironments() async throws {
        let files = [
            "V1__orders.sql": "CREATE TABLE orders (id INT PRIMARY KEY, total INT NOT NULL);\n",
            "V2__note.sql": "ALTER TABLE orders ADD COLUMN note VARCHAR(40) NULL;\n",
            "V3__total.sql": "ALTER TABLE orders MODIFY total BIGINT NOT NULL;\n",
        ]
        let fleet = try makeFleet(
            files, targets: ["prod-1"], tier: "prod", extra: "    live: true\n    lock_risk_rows: 10\n")
        defer { fleet.cleanUp() }
        let first = try await fleet.tidemark("apply", "-i", "inventories/shop.yaml", "--to", "1", "--yes")
        #expect(first.status == 0, "\(first)")
        let database = fleet.databases["prod-1"] ?? ""
        let values = (1...50).map { "(\($0), \($0))" }.joined(separator: ", ")
        try TestMariaDB.execute(
            "INSERT INTO `\(database)`.orders VALUES \(values);\nANALYZE TABLE `\(database)`.orders")

        let plan = try await fleet.tidemark("plan", "-i", "inventories/shop.yaml")
        #expect(plan.standardOutput.contains("blocked"), "\(plan)")
        #expect(
            plan.standardOutput.contains(
                "version 3 (V3__total.sql:1) would hold LOCK=SHARED on orders while it rewrites the table (mysql-copy), ~50 estimated rows, over lock_risk_rows 10"
            ), "\(plan)")
        let lint = try await fleet.tidemark("lint", "-i", "inventories/shop.yaml", "--dialect", "mariadb-10.11")
        #expect(
            lint.standardOutput.contains("V2__note.sql:1: INSTANT on orders (ADD COLUMN note): reads and writes go on"),
            "\(lint)")
        #expect(
            lint.standardOutput.contains(
                "V3__total.sql:1: COPY on orders (MODIFY total): writes wait until it is done"), "\(lint)")

        try
            "-- tidemark:lock-ok orders is written only by the nightly batch\nALTER TABLE orders MODIFY total BIGINT NOT NULL;\n"
            .write(
                to: fleet.root.appendingPathComponent("plans/shop/V3__total.sql"), atomically: true, encoding: .utf8)
        let acknowledged = try await fleet.tidemark("plan", "-i", "inventories/shop.yaml")
        #expect(!acknowledged.standardOutput.contains("blocked"), "\(acknowledged)")
        #expect(
            acknowledged.standardOutput.contains(
                "[LOCK RISK: LOCK=SHARED on orders, rewrite, ~50 rows (mysql-copy, line 2); lock-ok: orders is written only by the nightly batch]"
            ), "\(acknowledged)")
    }

    /// `rehearse --url mysql://…` builds and drops its own database on the server; `adopt` reads
    /// golang-migrate's and Flyway's histories from MariaDB targets.
    @Test func rehearseOnTheServerAndAdoptGolangMigrateAndFlywayHistories() async throws {
        let files = [
            "V1__accounts.sql": "CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL);\n",
            "U1__accounts.sql": "DROP TABLE accounts;\n",
            "V2__email.sql": "ALTER TABLE accounts ADD COLUMN email VARCHAR(80) NULL;\n",
            "U2__email.sql": "ALTER TABLE accounts DROP COLUMN email;\n",
        ]
        let fleet = try makeFleet(files, targets: ["gm-1", "fw-1"])
        defer { fleet.cleanUp() }
        let url = try TestMariaDB.requireURL()
        let rehearse = try await fleet.tidemark("rehearse", "--plan", "plans/shop", "--url", url)
        #expect(rehearse.status == 0, "\(rehearse)")
        #expect(rehearse.standardOutput.contains("rehearsing plan shop on mysql://root@127.0.0.1"), "\(rehearse)")
        let fingerprints = try String(
            contentsOf: fleet.root.appendingPathComponent("plans/shop/fingerprints.json"), encoding: .utf8)
        #expect(fingerprints.contains("\"mysql\""), "\(fingerprints)")
        #expect(try TestMariaDB.databases(prefixed: "tidemark_rehearse_").isEmpty)

        let gm = fleet.databases["gm-1"] ?? ""
        let fw = fleet.databases["fw-1"] ?? ""
        let schema = "(id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, email VARCHAR(80) NULL)"
        try TestMariaDB.execute(
            """
            CREATE DATABASE `\(gm)` CHARACTER SET utf8mb4;
            CREATE TABLE `\(gm)`.accounts \(schema);
            CREATE TABLE `\(gm)`.schema_migrations (version bigint not null primary key, dirty boolean not null);
            INSERT INTO `\(gm)`.schema_migrations VALUES (2, false);
            CREATE DATABASE `\(fw)` CHARACTER SET utf8mb4;
            CREATE TABLE `\(fw)`.accounts \(schema);
            CREATE TABLE `\(fw)`.flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL,
                type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL,
                installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, execution_time INT NOT NULL, success BOOL NOT NULL,
                CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank)) ENGINE=InnoDB;
            INSERT INTO `\(fw)`.flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
                VALUES (1, '1', 'accounts', 'SQL', 'V1__accounts.sql', NULL, 'flyway', 3, 1), (2, '2', 'email', 'SQL', 'V2__email.sql', NULL, 'flyway', 2, 1)
            """)
        // The helper that found no rehearsal database finds these (it reads the catalog itself).
        #expect(try TestMariaDB.databases(prefixed: gm) == [gm])
        let adopt = try await fleet.tidemark("adopt", "-i", "inventories/shop.yaml")
        #expect(adopt.status == 0, "\(adopt)")
        let status = try await fleet.tidemark("status", "-i", "inventories/shop.yaml")
        let lines = status.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("gm-1") && $0.contains(" 2        -") }, "\(status)")
        #expect(lines.contains { $0.contains("fw-1") && $0.contains(" 2        -") }, "\(status)")
    }

    /// docs/mysql.md#targets: with no password in the URL or password_env, the [client] group of
    /// ~/.my.cnf gives it, as the mysql client reads it; it never appears in argv or output.
    @Test func thePasswordComesFromMyCnfWhenTheURLHasNone() async throws {
        let user = "tm_cnf_" + String(UUID().uuidString.prefix(8)).lowercased()
        try TestMariaDB.execute(
            "CREATE USER '\(user)'@'127.0.0.1' IDENTIFIED BY 'cnf-secret-73';\nGRANT ALL ON *.* TO '\(user)'@'127.0.0.1'"
        )
        let base = try TestMariaDB.requireURL().replacingOccurrences(of: "mysql://root@", with: "mysql://\(user)@")
        let root = try CommandRunner.temporaryDirectory("tidemark-mycnf")
        let database = TestMariaDB.uniqueDatabaseName(for: "mycnf")
        defer {
            try? FileManager.default.removeItem(at: root)
            try? TestMariaDB.dropDatabase(database)
        }
        try TestWorkspace.write(
            [
                "plans/shop/V1__accounts.sql": "CREATE TABLE accounts (id INT PRIMARY KEY);\n",
                "inventories/shop.yaml": """
                inventory: shop
                plan: ../plans/shop
                environments:
                  dev:
                    tier: dev
                    targets:
                      - { name: dev-1, url: "\(base)", schema: \(database) }

                """,
                "home/.my.cnf": "[client]\npassword=cnf-secret-73\n",
            ], under: root)
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o600], ofItemAtPath: root.appendingPathComponent("home/.my.cnf").path)
        let home = ["HOME": root.appendingPathComponent("home").path]
        let applied = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes"], in: root, environment: home)
        #expect(applied.status == 0, "\(applied)")
        #expect(!applied.standardOutput.contains("cnf-secret-73") && !applied.standardError.contains("cnf-secret-73"))
        let elsewhere = try await CommandRunner.run(
            ["status", "-i", "inventories/shop.yaml"], in: root, environment: ["HOME": root.path])
        #expect(elsewhere.status != 0 && elsewhere.standardOutput.contains("1045"), "\(elsewhere)")
    }
}
