import Foundation
import Testing
import TidemarkCore
import TidemarkMySQL
import TidemarkTestSupport

/// `tidemark adopt` from Diesel and Sqitch histories on a real MariaDB server
/// (docs/mysql.md#adopting-on-mysql): Diesel's `__diesel_schema_migrations` in the target's
/// database, and the registry the real `sqitch deploy` writes (the server's database `sqitch`).
@Suite(
    "Adopt on MariaDB", .serialized,
    .enabled(if: TestMariaDB.isEnabled, "\(TestMariaDB.skipReason)"))
struct MySQLAdoptTests {
    static let example = CommandRunner.repositoryRoot.appendingPathComponent("plans/sqitch-example")

    /// The schema of a database `target` on the test server.
    static func fingerprint(_ url: String, database: String) throws -> SchemaFingerprint {
        let connection = try MySQLBackend().connect(
            to: Target(name: database, environment: "dev", connection: .url(url), schema: database),
            access: .readOnly, timeouts: .standard, logger: .silent)
        defer { connection.close() }
        return try connection.fingerprint()
    }

    static func inventory(_ url: String, _ targets: [(String, String)]) -> String {
        """
        inventory: shop
        plan: ../plans/app
        environments:
          dev:
            tier: dev
            targets:
        \(targets.map { "      - { name: \($0.0), url: \"\(url)\", schema: \($0.1) }" }.joined(separator: "\n"))

        """
    }

    @Test func dieselHistoryOnMariaDBIsAdoptedAndApplyRunsOnlyTheRest() async throws {
        let url = try TestMariaDB.requireURL()
        let adopted = TestMariaDB.uniqueDatabaseName(for: "diesel")
        let fresh = TestMariaDB.uniqueDatabaseName(for: "diesel_fresh")
        let root = try CommandRunner.temporaryDirectory("tidemark-mysql-adopt-diesel")
        defer {
            try? TestMariaDB.dropDatabase(adopted)
            try? TestMariaDB.dropDatabase(fresh)
            try? FileManager.default.removeItem(at: root)
        }
        try TestWorkspace.write(
            [
                "plans/app/2024-01-01-000000_accounts/up.sql": "CREATE TABLE accounts (id BIGINT PRIMARY KEY);\n",
                "plans/app/2024-01-01-000000_accounts/down.sql": "DROP TABLE accounts;\n",
                "plans/app/2024-02-01-000000_email/up.sql": "ALTER TABLE accounts ADD COLUMN email VARCHAR(200);\n",
                "plans/app/2024-02-01-000000_email/down.sql": "ALTER TABLE accounts DROP COLUMN email;\n",
                "plans/app/2024-03-01-000000_orders/up.sql": "CREATE TABLE orders (id BIGINT PRIMARY KEY);\n",
                "plans/app/2024-03-01-000000_orders/down.sql": "DROP TABLE orders;\n",
                "inventories/shop.yaml": Self.inventory(url, [("d-1", adopted), ("fresh", fresh)]),
            ], under: root)
        // What `diesel migration run` leaves on MySQL: its table (Diesel's own DDL) and one row per
        // version run, the folder's version without dashes.
        try TestMariaDB.execute(
            """
            CREATE DATABASE `\(adopted)` CHARACTER SET utf8mb4;
            CREATE DATABASE `\(fresh)` CHARACTER SET utf8mb4;
            CREATE TABLE `\(adopted)`.accounts (id BIGINT PRIMARY KEY, email VARCHAR(200));
            CREATE TABLE IF NOT EXISTS `\(adopted)`.__diesel_schema_migrations (
                   version VARCHAR(50) PRIMARY KEY NOT NULL,
                   run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
            );
            INSERT INTO `\(adopted)`.__diesel_schema_migrations (version) VALUES ('20240101000000'), ('20240201000000');
            """)
        let adopt = try await CommandRunner.run(["adopt", "-i", "inventories/shop.yaml", "--target", "d-1"], in: root)
        #expect(adopt.status == 0, "\(adopt)")
        #expect(
            adopt.standardOutput.contains("d-1 (dev): adopted at 2024-02-01-000000 from diesel (2 baseline rows)"),
            "\(adopt)")
        let apply = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--yes"], in: root)
        #expect(apply.status == 0, "\(apply)")
        #expect(apply.standardOutput.contains("d-1 (dev) forward 2024-02-01-000000 → 2024-03-01-000000"), "\(apply)")
        let theirs = try TestMariaDB.catalog("SELECT version FROM `\(adopted)`.__diesel_schema_migrations ORDER BY 1")
        #expect(theirs.map { $0.first ?? nil } == ["20240101000000", "20240201000000"], "Diesel's table untouched")
        #expect(
            try Self.fingerprint(url, database: adopted).excludingTable("__diesel_schema_migrations").compare(
                to: Self.fingerprint(url, database: fresh)) == .equal)
    }

    @Test(.enabled(if: ExternalTool.exists("sqitch"), "sqitch is not installed (scripts/install-deps --postgres)"))
    func sqitchRegistryOnMariaDBIsReadAndAnEmptyDatabaseIsNotTakenForTheDeployedOne() async throws {
        let url = try TestMariaDB.requireURL()
        let deployed = TestMariaDB.uniqueDatabaseName(for: "sqitch")
        let fresh = TestMariaDB.uniqueDatabaseName(for: "sqitch_fresh")
        let root = try CommandRunner.temporaryDirectory("tidemark-mysql-adopt-sqitch")
        defer {
            try? TestMariaDB.dropDatabase(deployed)
            try? TestMariaDB.dropDatabase(fresh)
            try? TestMariaDB.dropDatabase("sqitch")
            try? FileManager.default.removeItem(at: root)
        }
        try TestWorkspace.write(
            ["inventories/shop.yaml": Self.inventory(url, [("at-v1", deployed), ("fresh", fresh)])], under: root)
        let plan = root.appendingPathComponent("plans/app")
        try FileManager.default.copyItem(at: Self.example, to: plan)
        try TestMariaDB.execute(
            "CREATE DATABASE `\(deployed)` CHARACTER SET utf8mb4;\nCREATE DATABASE `\(fresh)` CHARACTER SET utf8mb4;")
        // The real sqitch (its MySQL engine, DBD::mysql and the mariadb client) writes its registry.
        let deploy = try await ExternalTool.run(
            "sqitch", ["deploy", "db:\(url)\(deployed)", "--to", "@v1.0"], in: plan)
        try #require(deploy.status == 0, "sqitch deploy: \(deploy)")
        let theirs = "SELECT change_id, `change`, project, committed_at, script_hash FROM sqitch.changes ORDER BY 1"
        let before = try TestMariaDB.catalog(theirs)
        #expect(before.count == 3)

        let adopt = try await CommandRunner.run(["adopt", "-i", "inventories/shop.yaml", "--from", "sqitch"], in: root)
        #expect(adopt.status == 3, "\(adopt)")
        #expect(adopt.standardOutput.contains("at-v1 (dev): adopted at 3 from sqitch (3 baseline rows)"), "\(adopt)")
        #expect(
            adopt.standardOutput.contains(
                "Sqitch's MySQL registry serves every database on the server, so they were deployed to another one"),
            "\(adopt)")

        let apply = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--yes"], in: root)
        #expect(apply.status == 0, "\(apply)")
        #expect(apply.standardOutput.contains("at-v1 (dev) forward 3 → 5: forward 4, forward 5"), "\(apply)")
        #expect(
            try Self.fingerprint(url, database: deployed).compare(to: Self.fingerprint(url, database: fresh)) == .equal)
        #expect(try TestMariaDB.catalog(theirs) == before, "Sqitch's registry untouched")
        let status = try await ExternalTool.run("sqitch", ["status", "db:\(url)\(deployed)"], in: plan)
        #expect(status.status == 0 && status.standardOutput.contains("# Name:     user_posts"), "\(status)")
    }
}
