import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkSQLite
import TidemarkTestSupport

/// `tidemark adopt` with the real binary on real PostgreSQL (docs/adopting.md): targets migrated by
/// golang-migrate, Diesel and Flyway, their history tables made with each tool's own DDL and
/// filled as the tool fills them, the schema built by running the Lemmy corpus's scripts with
/// `psql`. Adopted targets then reach the latest version with `apply`, run nothing twice, end
/// with the schema of a target Tidemark migrated from empty, and the other tool's rows are
/// byte-identical before and after.
@Suite("Adopt", .serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct AdoptCommandTests {
    /// golang-migrate's table, as `database/postgres/postgres.go` `ensureVersionTable` creates it.
    static let golangMigrateDDL =
        "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version bigint not null primary key, dirty boolean not null)"
    /// Diesel's, as `diesel_migrations` `CREATE_MIGRATIONS_TABLE` creates it.
    static let dieselDDL = """
        CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
               version VARCHAR(50) PRIMARY KEY NOT NULL,
               run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
        )
        """
    /// Flyway's, as `PostgreSQLDatabase.getRawCreateScript` creates it (table `"schema"."flyway_schema_history"`).
    static func flywayDDL(_ schema: String) -> String {
        let table = "\"\(schema)\".\"flyway_schema_history\""
        return """
            CREATE TABLE \(table) (
                "installed_rank" INT NOT NULL,
                "version" VARCHAR(50),
                "description" VARCHAR(200) NOT NULL,
                "type" VARCHAR(20) NOT NULL,
                "script" VARCHAR(1000) NOT NULL,
                "checksum" INTEGER,
                "installed_by" VARCHAR(100) NOT NULL,
                "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
                "execution_time" INTEGER NOT NULL,
                "success" BOOLEAN NOT NULL
            );
            ALTER TABLE \(table) ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
            CREATE INDEX "flyway_schema_history_s_idx" ON \(table) ("success");
            """
    }

    /// The Lemmy corpus's first versions (a golang-migrate layout of Diesel's migrations).
    static let corpus =
        ProcessInfo.processInfo.environment["TIDEMARK_LEMMY_CORPUS"].map { URL(fileURLWithPath: $0) }
        ?? CommandRunner.repositoryRoot.appendingPathComponent("../shared/corpora/lemmy").standardizedFileURL
    static let corpusNames = [
        "0001_diesel_initial_setup", "0002_create_user", "0003_create_community", "0004_create_post",
        "0005_create_comment",
        "0006_create_post_view",
    ]
    /// Diesel's folder names for the same versions (Lemmy's own).
    static let dieselNames = [
        "00000000000000_diesel_initial_setup", "2019-02-26-002946_create_user", "2019-02-27-170003_create_community",
        "2019-03-03-163336_create_post", "2019-03-05-233828_create_comment", "2019-03-30-212058_create_post_view",
    ]

    /// One scenario's workspace.
    struct Fleet {
        var root: URL
        var run: String
        var targets: [String]

        func schema(_ target: String) -> String { "adopt_\(run)_\(target.replacingOccurrences(of: "-", with: "_"))" }

        func tidemark(_ arguments: String...) async throws -> CommandRunner.Result {
            try await CommandRunner.run(arguments, in: root)
        }

        /// Runs SQL with `psql` in the target's schema, as the other tool (or a person) would.
        @discardableResult
        func psql(_ target: String, _ sql: String? = nil, file: URL? = nil) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            var arguments = ["psql", TestPostgres.url ?? "", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
            if let sql { arguments += ["-c", sql] }
            if let file { arguments += ["-f", file.path] }
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            environment["PGOPTIONS"] = "-c search_path=\(schema(target))"
            process.environment = environment
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "psql on \(target): \(problems)")
            return text
        }

        func connect(_ target: String) throws -> any BackendConnection {
            let location = Target(
                name: target, environment: "dev", connection: .url(TestPostgres.url ?? ""), schema: schema(target))
            return try PostgresBackend().connect(to: location, access: .readOnly, timeouts: .standard, logger: .silent)
        }

        func history(_ target: String) throws -> [HistoryEntry] {
            let connection = try connect(target)
            defer { connection.close() }
            return try connection.readHistory()
        }

        func fingerprint(_ target: String, without table: String) throws -> SchemaFingerprint {
            let connection = try connect(target)
            defer { connection.close() }
            return try connection.fingerprint().excludingTable(table)
        }
    }

    /// A plan of `scripts` (path → text) and an inventory of `targets` (dev tier), one schema each.
    func makeFleet(_ name: String, targets: [String], scripts: [String: String]) throws -> Fleet {
        let root = try CommandRunner.temporaryDirectory("tidemark-adopt-\(name)")
        let fleet = Fleet(root: root, run: String(UUID().uuidString.prefix(8)).lowercased(), targets: targets)
        let plan = root.appendingPathComponent("plans/app")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        for (path, text) in scripts {
            let file = plan.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        for target in targets { try TestPostgres.execute("CREATE SCHEMA \(TestPostgres.quoted(fleet.schema(target)))") }
        let lines = targets.map {
            "      - { name: \($0), url: \"\(TestPostgres.url ?? "")\", schema: \(fleet.schema($0)) }"
        }
        let inventory = """
            inventory: adopt
            plan: ../plans/app
            concurrency: 4
            environments:
              dev:
                tier: dev
                targets:
            \(lines.joined(separator: "\n"))

            """
        try inventory.write(
            to: root.appendingPathComponent("inventories/adopt.yaml"), atomically: true, encoding: .utf8)
        return fleet
    }

    func cleanUp(_ fleet: Fleet) {
        try? FileManager.default.removeItem(at: fleet.root)
        for target in fleet.targets { try? TestPostgres.dropSchema(fleet.schema(target)) }
    }

    func corpusScript(_ name: String, _ direction: String) throws -> String {
        try String(contentsOf: Self.corpus.appendingPathComponent("\(name).\(direction).sql"), encoding: .utf8)
    }

    /// Runs the corpus's first `count` forward scripts on `target` with psql, as the other tool did.
    func migrateByHand(_ fleet: Fleet, _ target: String, count: Int) throws {
        for name in Self.corpusNames.prefix(count) {
            try fleet.psql(target, file: Self.corpus.appendingPathComponent("\(name).up.sql"))
        }
    }

    func decode(_ result: CommandRunner.Result) throws -> [String: [String: Any]] {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any], "\(result)")
        #expect(document["schema"] as? String == "tidemark.adopt/v1")
        let targets = document["targets"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: targets.map { ($0["target"] as? String ?? "", $0) })
    }

    func adoptedVersions(_ target: [String: Any]?) -> [String] {
        (target?["versions"] as? [[String: Any]] ?? []).map { "\($0["version"] ?? "") \($0["evidence"] ?? "")" }
    }

    @Test func golangMigrateFleetIsAdoptedAndApplyRunsNothingTwice() async throws {
        try #require(
            FileManager.default.fileExists(atPath: Self.corpus.path),
            "the Lemmy corpus is missing at \(Self.corpus.path)")
        var scripts: [String: String] = [:]
        for name in Self.corpusNames {
            scripts["\(name).up.sql"] = try corpusScript(name, "up")
            scripts["\(name).down.sql"] = try corpusScript(name, "down")
        }
        let fleet = try makeFleet(
            "golang", targets: ["gm-1", "gm-2", "gm-dirty", "gm-none", "fresh"], scripts: scripts)
        defer { cleanUp(fleet) }
        // What golang-migrate leaves: the schema up to N, and one row (N, dirty) after TRUNCATE.
        for (target, count, dirty) in [("gm-1", 3, false), ("gm-2", 5, false), ("gm-dirty", 4, true)] {
            try migrateByHand(fleet, target, count: count)
            try fleet.psql(target, Self.golangMigrateDDL)
            try fleet.psql(
                target,
                "TRUNCATE \"schema_migrations\"; INSERT INTO \"schema_migrations\" (version, dirty) VALUES (\(count), \(dirty))"
            )
        }
        let theirs = "SELECT version, dirty FROM schema_migrations ORDER BY version"
        let before = try fleet.targets.prefix(3).map { try fleet.psql($0, theirs) }
        let four = ["--target", "gm-1", "--target", "gm-2", "--target", "gm-dirty", "--target", "gm-none"]

        // Dry run: decisions shown, nothing recorded anywhere.
        let dry = try await CommandRunner.run(
            ["adopt", "-i", "inventories/adopt.yaml", "--dry-run"] + four, in: fleet.root)
        #expect(dry.status == 3, "\(dry)")
        #expect(
            dry.standardOutput.contains("gm-1 (dev): would adopt at 0003 from golang-migrate (3 baseline rows)"),
            "\(dry)")
        for target in fleet.targets {
            #expect(try !TestPostgres.tableExists("tidemark_history", inSchema: fleet.schema(target)))
        }

        // For real: the dirty target and the untracked one are refused, the rest adopted.
        let adopt = try await CommandRunner.run(
            ["adopt", "-i", "inventories/adopt.yaml", "--json"] + four, in: fleet.root)
        #expect(adopt.status == 3, "\(adopt)")
        let report = try decode(adopt)
        #expect(
            adoptedVersions(report["gm-1"]) == ["0001 below-latest", "0002 below-latest", "0003 recorded"], "\(adopt)")
        #expect(
            report["gm-2"]?["outcome"] as? String == "adopted" && adoptedVersions(report["gm-2"]).count == 5, "\(adopt)"
        )
        #expect(report["gm-dirty"]?["refusal"] as? String == "dirty", "\(adopt)")
        #expect((report["gm-dirty"]?["reason"] as? String)?.contains("migrate force 4") == true, "\(adopt)")
        #expect(report["gm-none"]?["refusal"] as? String == "no-foreign-history", "\(adopt)")
        #expect(try fleet.history("gm-dirty").isEmpty && fleet.history("gm-none").isEmpty)
        let rows = try fleet.history("gm-1")
        #expect(
            rows.map(\.kind) == [.baseline, .baseline, .baseline]
                && rows.allSatisfy { $0.description == "adopted from golang-migrate" })
        let runs = try FileManager.default.contentsOfDirectory(
            atPath: fleet.root.appendingPathComponent(".tidemark/runs").path)
        #expect(runs.contains { $0.hasSuffix(".adopt.json") }, "\(runs)")

        // Bad input: exit 2 with the reason.
        let again = try await fleet.tidemark("adopt", "-i", "inventories/adopt.yaml", "--target", "gm-1")
        #expect(again.status == 2 && again.standardOutput.contains("tidemark_history row"), "\(again)")
        let above = try await fleet.tidemark(
            "adopt", "-i", "inventories/adopt.yaml", "--target", "gm-none", "--baseline", "99")
        #expect(above.status == 2 && above.standardError.contains("--baseline 99"), "\(above)")
        let unknown = try await fleet.tidemark("adopt", "-i", "inventories/adopt.yaml", "--from", "liquibase")
        #expect(unknown.status == 2 && unknown.standardError.contains("liquibase"), "\(unknown)")

        // Apply brings the adopted targets and a fresh one to the latest version.
        let apply = try await fleet.tidemark(
            "apply", "-i", "inventories/adopt.yaml", "--target", "gm-1", "--target", "gm-2", "--target", "fresh",
            "--yes")
        #expect(apply.status == 0, "\(apply)")
        let forward1 = try fleet.history("gm-1").filter { $0.kind == .forward }.map(\.version)
        let forward2 = try fleet.history("gm-2").filter { $0.kind == .forward }.map(\.version)
        #expect(
            forward1 == ["0004", "0005", "0006"] && forward2 == ["0006"], "gm-1 ran \(forward1), gm-2 ran \(forward2)")
        let reference = try fleet.fingerprint("fresh", without: "schema_migrations")
        for target in ["gm-1", "gm-2"] {
            #expect(
                try fleet.fingerprint(target, without: "schema_migrations").compare(to: reference) == .equal,
                "\(target)")
        }
        let status = try await fleet.tidemark("status", "-i", "inventories/adopt.yaml", "--target", "gm-1")
        #expect(status.status == 0, "\(status)")

        // golang-migrate's rows are untouched: a team can go back.
        #expect(try fleet.targets.prefix(3).map { try fleet.psql($0, theirs) } == before)
    }

    @Test func dieselFleetIsAdoptedAndAnUnknownVersionRefused() async throws {
        try #require(
            FileManager.default.fileExists(atPath: Self.corpus.path),
            "the Lemmy corpus is missing at \(Self.corpus.path)")
        var scripts: [String: String] = [:]
        for (name, folder) in zip(Self.corpusNames, Self.dieselNames) {
            scripts["\(folder)/up.sql"] = try corpusScript(name, "up")
            scripts["\(folder)/down.sql"] = try corpusScript(name, "down")
        }
        let fleet = try makeFleet("diesel", targets: ["d-1", "d-stranger", "fresh"], scripts: scripts)
        defer { cleanUp(fleet) }
        // What `diesel migration run` leaves: one row per version, the folder's version without dashes.
        for target in ["d-1", "d-stranger"] {
            try migrateByHand(fleet, target, count: 4)
            try fleet.psql(target, Self.dieselDDL)
            for folder in Self.dieselNames.prefix(4) {
                let version = String(folder.prefix { $0 != "_" }).replacingOccurrences(of: "-", with: "")
                try fleet.psql(target, "INSERT INTO __diesel_schema_migrations (version) VALUES ('\(version)')")
            }
        }
        try fleet.psql("d-stranger", "INSERT INTO __diesel_schema_migrations (version) VALUES ('20200101000000')")
        let theirs = "SELECT version, run_on FROM __diesel_schema_migrations ORDER BY version"
        let before = try ["d-1", "d-stranger"].map { try fleet.psql($0, theirs) }

        let adopt = try await fleet.tidemark(
            "adopt", "-i", "inventories/adopt.yaml", "--target", "d-1", "--target", "d-stranger", "--from", "diesel",
            "--json")
        #expect(adopt.status == 3, "\(adopt)")
        let report = try decode(adopt)
        #expect(
            adoptedVersions(report["d-1"]) == Self.dieselNames.prefix(4).map { "\($0.prefix { $0 != "_" }) recorded" },
            "\(adopt)")
        #expect(report["d-stranger"]?["refusal"] as? String == "unknown-version", "\(adopt)")
        #expect((report["d-stranger"]?["reason"] as? String)?.contains("20200101000000") == true, "\(adopt)")

        let apply = try await fleet.tidemark(
            "apply", "-i", "inventories/adopt.yaml", "--target", "d-1", "--target", "fresh", "--yes")
        #expect(apply.status == 0, "\(apply)")
        #expect(
            try fleet.history("d-1").filter { $0.kind == .forward }.map(\.version)
                == Array(Self.dieselNames.suffix(2).map { String($0.prefix { $0 != "_" }) }))
        #expect(
            try fleet.fingerprint("d-1", without: "__diesel_schema_migrations").compare(
                to: fleet.fingerprint("fresh", without: "")) == .equal)
        #expect(try ["d-1", "d-stranger"].map { try fleet.psql($0, theirs) } == before)
    }

    /// Flyway's own example scripts; `V3__Couple.sql` is byte for byte the one whose checksum
    /// Flyway's documentation shows (-722651034, see FlywayChecksumTests).
    static let flywayScripts = [
        "V1__Create_person_table.sql":
            "create table PERSON (\n    ID int not null,\n    NAME varchar(100) not null\n);\nalter table PERSON add primary key (ID);\n",
        "U1__Create_person_table.sql": "drop table PERSON;\n",
        "V2__Add_people.sql":
            "insert into PERSON (ID, NAME) values (1, 'Axel');\ninsert into PERSON (ID, NAME) values (2, 'Mr. Foo');\ninsert into PERSON (ID, NAME) values (3, 'Ms. Bar');\n",
        "U2__Add_people.sql": "delete from PERSON;\n",
        "V3__Couple.sql":
            "create table COUPLE (\n    ID int not null,\n    PERSON1 int not null references PERSON(ID), \n    PERSON2 int not null references PERSON(ID) \n);\n",
        "U3__Couple.sql": "drop table COUPLE;\n",
        "V4__Add_email.sql": "alter table PERSON add column EMAIL varchar(200);\n",
        "U4__Add_email.sql": "alter table PERSON drop column EMAIL;\n",
    ]

    @Test func flywayChecksumsAreCheckedAndAFailedOrChangedHistoryRefused() async throws {
        let fleet = try makeFleet(
            "flyway", targets: ["fw-ok", "fw-changed", "fw-failed", "fw-baselined", "fresh"],
            scripts: Self.flywayScripts)
        defer { cleanUp(fleet) }
        let scripts = ["V1__Create_person_table.sql", "V2__Add_people.sql", "V3__Couple.sql"]
        let checksums = try scripts.map {
            try FlywayChecksumOracle.checksum(of: fleet.root.appendingPathComponent("plans/app/\($0)"))
        }
        #expect(checksums[2] == -722_651_034)
        func row(
            _ rank: Int, _ version: String, _ type: String, _ script: String, _ checksum: Int32?, _ success: Bool = true
        ) -> String {
            let description =
                script.split(separator: "__").last.map {
                    $0.replacingOccurrences(of: ".sql", with: "").replacingOccurrences(of: "_", with: " ")
                } ?? script
            return
                "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES (\(rank), '\(version)', '\(description)', '\(type)', '\(script)', \(checksum.map(String.init) ?? "NULL"), 'flyway', 12, \(success))"
        }
        for target in ["fw-ok", "fw-changed", "fw-failed", "fw-baselined"] {
            for script in scripts {
                try fleet.psql(target, file: fleet.root.appendingPathComponent("plans/app/\(script)"))
            }
            try fleet.psql(target, Self.flywayDDL(fleet.schema(target)))
        }
        for (index, script) in scripts.enumerated() {
            try fleet.psql("fw-ok", row(index + 1, "\(index + 1)", "SQL", script, checksums[index]))
            // The script Flyway ran for version 3 was not the one in the plan now.
            try fleet.psql(
                "fw-changed", row(index + 1, "\(index + 1)", "SQL", script, index == 2 ? 1_234_567 : checksums[index]))
            try fleet.psql("fw-failed", row(index + 1, "\(index + 1)", "SQL", script, checksums[index], index < 2))
        }
        try fleet.psql("fw-baselined", row(1, "2", "BASELINE", "<< Flyway Baseline >>", nil))
        try fleet.psql("fw-baselined", row(2, "3", "SQL", "V3__Couple.sql", checksums[2]))
        let theirs = "SELECT * FROM flyway_schema_history ORDER BY installed_rank"
        let targets = ["fw-ok", "fw-changed", "fw-failed", "fw-baselined"]
        let before = try targets.map { try fleet.psql($0, theirs) }

        let adopt = try await fleet.tidemark(
            "adopt", "-i", "inventories/adopt.yaml", "--target", "fw-ok", "--target", "fw-changed", "--target",
            "fw-failed", "--target", "fw-baselined", "--json")
        #expect(adopt.status == 3, "\(adopt)")
        let report = try decode(adopt)
        #expect(adoptedVersions(report["fw-ok"]) == ["1 recorded", "2 recorded", "3 recorded"], "\(adopt)")
        #expect(report["fw-changed"]?["refusal"] as? String == "checksum-mismatch", "\(adopt)")
        #expect(
            (report["fw-changed"]?["reason"] as? String)?.contains(
                "Flyway recorded checksum 1234567 for version 3, the script's is -722651034") == true, "\(adopt)")
        #expect(report["fw-failed"]?["refusal"] as? String == "failed", "\(adopt)")
        #expect(
            adoptedVersions(report["fw-baselined"]) == ["1 below-baseline", "2 below-baseline", "3 recorded"],
            "\(adopt)")

        let apply = try await fleet.tidemark(
            "apply", "-i", "inventories/adopt.yaml", "--target", "fw-ok", "--target", "fw-baselined", "--target",
            "fresh", "--yes")
        #expect(apply.status == 0, "\(apply)")
        for target in ["fw-ok", "fw-baselined"] {
            #expect(try fleet.history(target).filter { $0.kind == .forward }.map(\.version) == ["4"], "\(target)")
            #expect(
                try fleet.fingerprint(target, without: "flyway_schema_history").compare(
                    to: fleet.fingerprint("fresh", without: "")) == .equal)
        }
        #expect(try targets.map { try fleet.psql($0, theirs) } == before)
    }
}

/// `tidemark adopt` on SQLite files: golang-migrate's SQLite table, a live schema checked against
/// `fingerprints.json` (refused, then `--force`), `--baseline` for an untracked target, and prod's
/// confirmation.
@Suite("Adopt on SQLite", .serialized)
struct AdoptSQLiteTests {
    /// golang-migrate's table, as `database/sqlite3/sqlite3.go` `ensureVersionTable` creates it.
    static let golangMigrateDDL = """
        CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);
        CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);
        """
    static let scripts = [
        "1_create_orders.up.sql": "CREATE TABLE orders (id integer PRIMARY KEY, code text NOT NULL);\n",
        "1_create_orders.down.sql": "DROP TABLE orders;\n",
        "2_add_qty.up.sql": "ALTER TABLE orders ADD COLUMN qty integer NOT NULL DEFAULT 1;\n",
        "2_add_qty.down.sql": "ALTER TABLE orders DROP COLUMN qty;\n",
        "3_create_notes.up.sql": "CREATE TABLE notes (id integer PRIMARY KEY, order_id integer NOT NULL, body text);\n",
        "3_create_notes.down.sql": "DROP TABLE notes;\n",
    ]
    static let targets = ["s-ok", "s-drift", "s-untracked", "s-fresh"]

    func sqlite(_ root: URL, _ target: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", "-bail", root.appendingPathComponent("dbs/\(target).db").path, sql]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "sqlite3 on \(target): \(sql)")
        return text
    }

    func history(_ root: URL, _ target: String) throws -> [HistoryEntry] {
        let location = Target(
            name: target, environment: "prod", connection: .url("sqlite:\(root.path)/dbs/\(target).db"))
        let connection = try SQLiteBackend().connect(
            to: location, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { connection.close() }
        return try connection.readHistory()
    }

    /// The trap: `apply` before `adopt` on a target golang-migrate migrated. It must block with
    /// the adopt command (not run v1 into `table orders already exists`), a table that only shares
    /// the name must not block, and adopt must take a target whose only Tidemark rows are the
    /// failed attempts an older Tidemark left there.
    @Test func applyBeforeAdoptBlocksWithTheAdoptCommandAndAFailedAttemptDoesNotStopAdopt() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-adopt-first")
        defer { try? FileManager.default.removeItem(at: root) }
        let plan = root.appendingPathComponent("plans/app")
        for folder in [plan, root.appendingPathComponent("inventories"), root.appendingPathComponent("dbs")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        for (name, text) in Self.scripts {
            try text.write(to: plan.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try """
        inventory: shop
        plan: ../plans/app
        environments:
          dev:
            tier: dev
            targets:
              - { name: s-legacy, url: "sqlite:../dbs/s-legacy.db" }
              - { name: s-app, url: "sqlite:../dbs/s-app.db" }

        """.write(to: root.appendingPathComponent("inventories/shop.yaml"), atomically: true, encoding: .utf8)
        let upTo2 = Self.scripts["1_create_orders.up.sql", default: ""] + Self.scripts["2_add_qty.up.sql", default: ""]
        // golang-migrate's table, still empty: what an older Tidemark saw before it ran v1 into the schema.
        _ = try sqlite(root, "s-legacy", upTo2 + Self.golangMigrateDDL)
        // An application's own table of that name, of another shape: not golang-migrate's.
        _ = try sqlite(
            root, "s-app",
            "CREATE TABLE schema_migrations (id integer PRIMARY KEY, name text); INSERT INTO schema_migrations (name) VALUES ('x');"
        )
        let failed = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--target", "s-legacy"], in: root)
        #expect(failed.status == 1, "\(failed)")
        #expect(try history(root, "s-legacy").count == 1, "one failed attempt recorded")
        _ = try sqlite(root, "s-legacy", "INSERT INTO schema_migrations (version, dirty) VALUES (2, 0);")

        let plan1 = try await CommandRunner.run(["plan", "-i", "inventories/shop.yaml"], in: root)
        #expect(plan1.status == 3, "\(plan1)")
        let command = "tidemark adopt -i inventories/shop.yaml --target s-legacy"
        #expect(
            plan1.standardOutput.contains(
                "s-legacy was migrated by golang-migrate (its schema_migrations table has rows) and has no Tidemark history"
            ), "\(plan1)")
        #expect(plan1.standardOutput.contains("`\(command)`"), "\(plan1)")
        #expect(
            plan1.standardOutput.contains("  s-app          forward     - → 3"),
            "a table that only shares the name does not block: \(plan1)")
        let apply = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--target", "s-legacy"], in: root)
        #expect(apply.status == 3, "\(apply)")
        #expect(try history(root, "s-legacy").count == 1, "nothing ran")

        // The command the reason printed, run as printed.
        let adopt = try await CommandRunner.run(
            Array(command.split(separator: " ").dropFirst().map(String.init)), in: root)
        #expect(adopt.status == 0, "\(adopt)")
        #expect(adopt.standardOutput.contains("s-legacy (dev): adopted at 2 from golang-migrate"), "\(adopt)")
        #expect(adopt.standardOutput.contains("tidemark_history holds only 1 failed attempt"), "\(adopt)")
        let converge = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--target", "s-legacy"], in: root)
        #expect(converge.status == 0, "\(converge)")
        #expect(converge.standardOutput.contains("forward 2 → 3"), "\(converge)")
    }

    @Test func fingerprintsBaselineAndProdConfirmation() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-adopt-sqlite")
        defer { try? FileManager.default.removeItem(at: root) }
        let plan = root.appendingPathComponent("plans/app")
        for folder in [plan, root.appendingPathComponent("inventories"), root.appendingPathComponent("dbs")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        for (name, text) in Self.scripts {
            try text.write(to: plan.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let lines = Self.targets.map { "      - { name: \($0), url: \"sqlite:../dbs/\($0).db\" }" }
        try """
        inventory: shop
        plan: ../plans/app
        environments:
          prod:
            tier: prod
            live: false
            targets:
        \(lines.joined(separator: "\n"))

        """.write(to: root.appendingPathComponent("inventories/shop.yaml"), atomically: true, encoding: .utf8)
        let rehearse = try await CommandRunner.run(["rehearse", "--plan", "plans/app", "--record"], in: root)
        #expect(rehearse.status == 0, "\(rehearse)")

        // Three targets at version 2, built by hand; golang-migrate tracked two, one drifted.
        let upTo2 = Self.scripts["1_create_orders.up.sql", default: ""] + Self.scripts["2_add_qty.up.sql", default: ""]
        for target in ["s-ok", "s-drift", "s-untracked"] { _ = try sqlite(root, target, upTo2) }
        for target in ["s-ok", "s-drift"] {
            _ = try sqlite(
                root, target,
                Self.golangMigrateDDL
                    + "DELETE FROM schema_migrations; INSERT INTO schema_migrations (version, dirty) VALUES (2, 0);")
        }
        _ = try sqlite(root, "s-drift", "ALTER TABLE orders ADD COLUMN added_by_hand text;")
        let theirs = ".dump schema_migrations"
        let before = try ["s-ok", "s-drift"].map { try sqlite(root, $0, theirs) }

        // Prod without --yes off a terminal: refused before anything is written.
        let unconfirmed = try await CommandRunner.run(
            ["adopt", "-i", "inventories/shop.yaml", "--target", "s-ok"], in: root)
        #expect(unconfirmed.status == 2 && unconfirmed.standardError.contains("--yes"), "\(unconfirmed)")
        #expect(try history(root, "s-ok").isEmpty)

        let adopt = try await CommandRunner.run(
            ["adopt", "-i", "inventories/shop.yaml", "--target", "s-ok", "--target", "s-drift", "--yes"], in: root)
        #expect(adopt.status == 3, "\(adopt)")
        #expect(
            adopt.standardOutput.contains("s-ok (prod): adopted at 2 from golang-migrate (2 baseline rows)"), "\(adopt)"
        )
        #expect(
            adopt.standardOutput.contains("note: the live schema matches fingerprints.json at version 2"), "\(adopt)")
        #expect(adopt.standardOutput.contains("s-drift (prod): refused (fingerprint-mismatch)"), "\(adopt)")
        #expect(adopt.standardOutput.contains("+ column orders.added_by_hand"), "\(adopt)")
        #expect(try history(root, "s-drift").isEmpty)

        let forced = try await CommandRunner.run(
            ["adopt", "-i", "inventories/shop.yaml", "--target", "s-drift", "--force", "--yes"], in: root)
        #expect(forced.status == 0, "\(forced)")
        let forcedRows = try history(root, "s-drift")
        #expect(
            forcedRows.count == 2
                && forcedRows.allSatisfy {
                    $0.kind == .baseline && $0.description.contains("forced over a schema difference at version 2")
                })

        let untracked = try await CommandRunner.run(
            ["adopt", "-i", "inventories/shop.yaml", "--target", "s-untracked", "--yes"], in: root)
        #expect(untracked.status == 3 && untracked.standardOutput.contains("pass --baseline V"), "\(untracked)")
        let baseline = try await CommandRunner.run(
            ["adopt", "-i", "inventories/shop.yaml", "--target", "s-untracked", "--baseline", "2", "--yes"], in: root)
        #expect(baseline.status == 0, "\(baseline)")
        #expect(
            try history(root, "s-untracked").map(\.description) == ["baseline --baseline 2", "baseline --baseline 2"])

        // golang-migrate's table stays in the schema, and is not drift.
        let drift = try await CommandRunner.run(
            ["status", "-i", "inventories/shop.yaml", "--target", "s-ok", "--drift"], in: root)
        #expect(drift.status == 0 && drift.standardOutput.contains("  s-ok: none"), "\(drift)")

        // Apply: each adopted target runs only version 3; the fresh one runs all three.
        let apply = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--yes"], in: root)
        #expect(apply.status == 0, "\(apply)")
        for target in ["s-ok", "s-drift", "s-untracked"] {
            #expect(try history(root, target).filter { $0.kind == .forward }.map(\.version) == ["3"], "\(target)")
        }
        #expect(try history(root, "s-fresh").filter { $0.kind == .forward }.map(\.version) == ["1", "2", "3"])

        // Rolling an adopted version back runs its undo script: the table really goes.
        let back = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--target", "s-ok", "--to", "1", "--yes"], in: root)
        #expect(back.status == 0, "\(back)")
        #expect(try sqlite(root, "s-ok", "SELECT name FROM pragma_table_info('orders') ORDER BY cid;") == "id\ncode\n")
        #expect(try ["s-ok", "s-drift"].map { try sqlite(root, $0, theirs) } == before)
    }
}

/// `tidemark adopt --from sqitch` after the real `sqitch deploy` (plans/sqitch-example: a tag, a
/// reworked change) to SQLite targets at different changes, each with its registry `sqitch.db`
/// beside it, as Sqitch keeps it.
@Suite("Adopt from Sqitch", .serialized, .enabled(if: ExternalTool.exists("sqitch")))
struct AdoptSqitchTests {
    static let example = CommandRunner.repositoryRoot.appendingPathComponent("plans/sqitch-example")
    static let targets = ["at-posts", "at-v1", "at-latest", "fresh"]

    func run(_ tool: String, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["SQITCH_FULLNAME"] = "Adopt Test"
        environment["SQITCH_EMAIL"] = "adopt@tidemark.test"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    func history(_ root: URL, _ target: String) throws -> [HistoryEntry] {
        let location = Target(
            name: target, environment: "dev", connection: .url("sqlite:\(root.path)/dbs/\(target)/app.db"))
        let connection = try SQLiteBackend().connect(
            to: location, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { connection.close() }
        return try connection.readHistory()
    }

    func fingerprint(_ root: URL, _ target: String) throws -> SchemaFingerprint {
        let location = Target(
            name: target, environment: "dev", connection: .url("sqlite:\(root.path)/dbs/\(target)/app.db"))
        let connection = try SQLiteBackend().connect(
            to: location, access: .readOnly, timeouts: .standard, logger: .silent)
        defer { connection.close() }
        return try connection.fingerprint()
    }

    @Test func sqitchDeployedTargetsAreAdoptedAndReachTheSchemaOfAFreshOne() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-adopt-sqitch")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("plans"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        let plan = root.appendingPathComponent("plans/blog")
        try FileManager.default.copyItem(at: Self.example, to: plan)
        for target in Self.targets {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("dbs/\(target)"), withIntermediateDirectories: true)
        }
        let lines = Self.targets.map { "      - { name: \($0), url: \"sqlite:../dbs/\($0)/app.db\" }" }
        try """
        inventory: blog
        plan: ../plans/blog
        environments:
          dev:
            tier: dev
            targets:
        \(lines.joined(separator: "\n"))

        """.write(to: root.appendingPathComponent("inventories/blog.yaml"), atomically: true, encoding: .utf8)

        // The real sqitch deploys: to posts (2), to @v1.0 (3), and everything (5, with the rework).
        for (target, to) in [("at-posts", ["--to", "posts"]), ("at-v1", ["--to", "@v1.0"]), ("at-latest", [])] {
            let deploy = try run("sqitch", ["deploy", "db:sqlite:\(root.path)/dbs/\(target)/app.db"] + to, in: plan)
            try #require(deploy.status == 0, "sqitch deploy \(target): \(deploy.output)")
        }
        // Where Sqitch keeps a SQLite registry: sqitch.db beside the database.
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("dbs/at-posts/sqitch.db").path))
        let registries = ["at-posts", "at-v1", "at-latest"].map { root.appendingPathComponent("dbs/\($0)/sqitch.db") }
        let before = try registries.map { try Data(contentsOf: $0) }

        let adopt = try await CommandRunner.run(
            ["adopt", "-i", "inventories/blog.yaml", "--from", "sqitch", "--json"], in: root)
        #expect(adopt.status == 3, "\(adopt)")
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(adopt.standardOutput.utf8)) as? [String: Any])
        let targets = Dictionary(
            uniqueKeysWithValues: (document["targets"] as? [[String: Any]] ?? []).map {
                ($0["target"] as? String ?? "", $0)
            })
        func versions(_ name: String) -> [String] {
            (targets[name]?["versions"] as? [[String: Any]] ?? []).compactMap { $0["version"] as? String }
        }
        #expect(versions("at-posts") == ["1", "2"], "\(adopt)")
        #expect(versions("at-v1") == ["1", "2", "3"], "\(adopt)")
        #expect(versions("at-latest") == ["1", "2", "3", "4", "5"], "\(adopt)")
        #expect(targets["fresh"]?["refusal"] as? String == "database-missing", "\(adopt)")

        let apply = try await CommandRunner.run(["apply", "-i", "inventories/blog.yaml", "--yes"], in: root)
        #expect(apply.status == 0, "\(apply)")
        #expect(try history(root, "at-posts").filter { $0.kind == .forward }.map(\.version) == ["3", "4", "5"])
        #expect(try history(root, "at-v1").filter { $0.kind == .forward }.map(\.version) == ["4", "5"])
        #expect(try history(root, "at-latest").filter { $0.kind == .forward }.isEmpty)
        let reference = try fingerprint(root, "fresh")
        for target in ["at-posts", "at-v1", "at-latest"] {
            #expect(try fingerprint(root, target).compare(to: reference) == .equal, "\(target)")
        }

        // Sqitch's registry is byte for byte as it was, and sqitch still reads it.
        #expect(try registries.map { try Data(contentsOf: $0) } == before)
        let status = try run("sqitch", ["status", "db:sqlite:\(root.path)/dbs/at-posts/app.db"], in: plan)
        #expect(
            status.status == 0 && status.output.contains("# Project:  blog")
                && status.output.contains("# Name:     posts"), "\(status.output)")

        // A deploy script edited since Sqitch ran it is refused.
        let edited = plan.appendingPathComponent("deploy/users.sql")
        try (try String(contentsOf: edited, encoding: .utf8) + "-- edited\n").write(
            to: edited, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("dbs/again"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: registries[0], to: root.appendingPathComponent("dbs/again/sqitch.db"))
        _ = try run(
            "sqlite3",
            [
                root.appendingPathComponent("dbs/again/app.db").path,
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
            ], in: root)
        try """
        inventory: again
        plan: ../plans/blog
        environments:
          dev: { tier: dev, targets: [ { name: again, url: "sqlite:../dbs/again/app.db" } ] }
        """.write(to: root.appendingPathComponent("inventories/again.yaml"), atomically: true, encoding: .utf8)
        let changed = try await CommandRunner.run(["adopt", "-i", "inventories/again.yaml"], in: root)
        #expect(changed.status == 3 && changed.standardOutput.contains("refused (checksum-mismatch)"), "\(changed)")
        #expect(
            changed.standardOutput.contains("Sqitch deployed change users from a script whose SHA-1 is"), "\(changed)")
    }

    /// On PostgreSQL Sqitch keeps its registry in schema `sqitch` of the database, one per
    /// database: each target here is a database of its own.
    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func sqitchRegistryInPostgreSQLIsRead() async throws {
        let server = try #require(TestPostgres.url.flatMap { URL(string: $0) })
        let suffix = String(UUID().uuidString.prefix(8)).lowercased()
        let names = ["at-v1", "fresh"]
        func database(_ target: String) -> String {
            "adopt_sqitch_\(suffix)_\(target.replacingOccurrences(of: "-", with: "_"))"
        }
        func url(_ target: String) -> String {
            server.deletingLastPathComponent().appendingPathComponent(database(target)).absoluteString
        }
        for target in names {
            _ = try run(
                "psql", [server.absoluteString, "-X", "-q", "-c", "CREATE DATABASE \(database(target))"],
                in: URL(fileURLWithPath: "/"))
        }
        defer {
            for target in names {
                _ = try? run(
                    "psql", [server.absoluteString, "-X", "-q", "-c", "DROP DATABASE IF EXISTS \(database(target))"],
                    in: URL(fileURLWithPath: "/"))
            }
        }
        let root = try CommandRunner.temporaryDirectory("tidemark-adopt-sqitch-pg")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("plans"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        let plan = root.appendingPathComponent("plans/blog")
        try FileManager.default.copyItem(at: Self.example, to: plan)
        let lines = names.map { "      - { name: \($0), url: \"\(url($0))\" }" }
        try """
        inventory: blog
        plan: ../plans/blog
        environments:
          dev:
            tier: dev
            targets:
        \(lines.joined(separator: "\n"))

        """.write(to: root.appendingPathComponent("inventories/blog.yaml"), atomically: true, encoding: .utf8)
        let deploy = try run("sqitch", ["deploy", "db:\(url("at-v1"))", "--to", "@v1.0"], in: plan)
        try #require(deploy.status == 0, "sqitch deploy: \(deploy.output)")
        let theirs = [
            "-X", "-A", "-t", "-c",
            "SELECT change_id, change, project, committed_at, script_hash FROM sqitch.changes ORDER BY committed_at",
        ]
        let before = try run("psql", [url("at-v1")] + theirs, in: root)

        let adopt = try await CommandRunner.run(
            ["adopt", "-i", "inventories/blog.yaml", "--target", "at-v1"], in: root)
        #expect(
            adopt.status == 0
                && adopt.standardOutput.contains("at-v1 (dev): adopted at 3 from sqitch (3 baseline rows)"), "\(adopt)")
        let apply = try await CommandRunner.run(["apply", "-i", "inventories/blog.yaml", "--yes"], in: root)
        #expect(apply.status == 0, "\(apply)")
        func fingerprint(_ target: String) throws -> SchemaFingerprint {
            let location = Target(name: target, environment: "dev", connection: .url(url(target)))
            let connection = try PostgresBackend().connect(
                to: location, access: .readOnly, timeouts: .standard, logger: .silent)
            defer { connection.close() }
            return try connection.fingerprint()
        }
        #expect(try fingerprint("at-v1").compare(to: fingerprint("fresh")) == .equal)
        #expect(try run("psql", [url("at-v1")] + theirs, in: root).output == before.output)
        let status = try run("sqitch", ["status", "db:\(url("at-v1"))"], in: plan)
        #expect(status.status == 0 && status.output.contains("# Name:     user_posts"), "\(status.output)")
    }
}

/// Flyway's checksum of a file, through Tidemark's implementation (checked against Flyway's own
/// output in FlywayChecksumTests).
enum FlywayChecksumOracle {
    static func checksum(of file: URL) throws -> Int32 {
        // The CLI tests do not link TidemarkFiles; the algorithm is short enough to state again:
        // CRC-32 over each line's UTF-8 bytes, line endings dropped, BOM removed.
        var text = try String(contentsOf: file, encoding: .utf8)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var crc: UInt32 = 0xFFFF_FFFF
        for line in text.split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        {
            for byte in line.utf8 {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = (crc & 1) != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
            }
        }
        return Int32(bitPattern: ~crc)
    }
}
