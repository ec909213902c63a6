import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// PostgreSQL backups name their schema exactly, are checked with `pg_restore -l` before they
/// count, never empty a file that was there, and never wait silently for a lock.
@Suite("Backups of the right schema", .serialized, .enabled(if: TestPostgres.isAvailable, "\(TestPostgres.skipReason)"))
struct BackupSchemaTests {
    /// A workspace whose plan creates `orders` with two rows (v1) and drops their totals (v2,
    /// data-losing), and whose one prod target `shop` lives in `schema`.
    func workspace(schema: String, url: String? = nil, lockTimeout: String? = nil) throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-backup-schema")
        func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
        let inventory = """
            inventory: shop
            plan: ../plans/shop
            environments:
              prod:
                tier: prod
            \(lockTimeout.map { "    lock_timeout: \($0)\n" } ?? "")    targets: [ { name: shop, url: \(quoted(url ?? TestPostgres.url ?? "")), schema: \(quoted(schema)) } ]
            """
        try TestWorkspace.write(
            TestWorkspace.dataLosingShopPlan.merging(["inventories/shop.yaml": inventory]) { $1 }, under: root)
        return root
    }

    /// Whether `schema.orders` holds both rows with their totals (1750 in all), checked by SQL
    /// that fails otherwise, run as the test server's administrator.
    func totalsAreIntact(_ schema: String) -> Bool {
        let table = TestPostgres.quoted(schema) + ".orders"
        do {
            try TestPostgres.execute(
                "CREATE TEMP TABLE tm_check (n integer CHECK (n = 1750)); INSERT INTO tm_check SELECT sum(total_cents) FROM \(table); DROP TABLE tm_check"
            )
            return true
        } catch {
            return false
        }
    }

    /// `pg_restore -l FILE`, run directly.
    func listing(_ file: String) throws -> String {
        let bin =
            ProcessInfo.processInfo.environment["TIDEMARK_TEST_POSTGRES_BIN"].map { "\($0)/pg_restore" }
            ?? "/usr/bin/pg_restore"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["--list", file]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// A unique name with the given shape: `prefix` + random + `suffix`.
    func name(_ prefix: String, _ suffix: String = "") -> String {
        prefix + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10) + suffix
    }

    @Test(
        "A mixed-case schema beside its lower-case twin: apply backs up the right one and restore brings the column back"
    )
    func mixedCaseSchemaBesideItsTwinIsBackedUpAndRestored() async throws {
        let schema = name("Tm_Billing_")
        let twin = schema.lowercased()
        let root = try workspace(schema: schema)
        defer {
            try? TestPostgres.dropSchema(schema)
            try? TestPostgres.dropSchema(twin)
            try? FileManager.default.removeItem(at: root)
        }
        let first = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        try TestPostgres.execute(
            "CREATE SCHEMA \(TestPostgres.quoted(twin)); CREATE TABLE \(TestPostgres.quoted(twin)).decoy (id integer); INSERT INTO \(TestPostgres.quoted(twin)).decoy VALUES (1)"
        )

        let applied = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--yes"], in: root)
        #expect(applied.status == 0, "\(applied)")
        #expect(
            applied.standardOutput.contains(
                "backing up shop before its data-losing step 2 (pg_dump waits at most 5s for a lock on each table)"),
            "\(applied)")
        #expect(!totalsAreIntact(schema), "the data-losing step did not lose the totals")
        let folder = root.appendingPathComponent(".tidemark/backups/shop")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        let backup = try #require(files.first { $0.hasSuffix(".dump") }, "\(files)")
        #expect(!files.contains { $0.hasSuffix(".partial") }, "\(files)")
        let path = folder.appendingPathComponent(backup).path
        let list = try listing(path)
        #expect(list.contains("TABLE \(schema) orders "), "\(list)")
        #expect(list.contains("TABLE DATA \(schema) orders "), "\(list)")
        #expect(!list.contains("decoy"), "the twin schema was dumped: \(list)")

        let restored = try await CommandRunner.run(
            ["restore", "-i", "inventories/shop.yaml", "--target", "shop", path, "--yes"], in: root)
        #expect(restored.status == 0, "\(restored)")
        #expect(totalsAreIntact(schema), "restore did not bring back the dropped column's data")
    }

    @Test(
        "Schema names that pg_dump would read as patterns are backed up and restored exactly",
        arguments: ["t?", "a.b", "q\"uote", "Star*"])
    func patternCharactersInSchemaNamesAreExact(_ shape: String) async throws {
        let schema = name("tm_", "_" + shape)
        // A schema the pattern would match too (`?` and `*` match one and any characters).
        let twin = schema.replacingOccurrences(of: "?", with: "1").replacingOccurrences(of: "*", with: "x").lowercased()
        let root = try workspace(schema: schema)
        defer {
            try? TestPostgres.dropSchema(schema)
            try? TestPostgres.dropSchema(twin)
            try? FileManager.default.removeItem(at: root)
        }
        let first = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        if twin != schema {
            try TestPostgres.execute(
                "CREATE SCHEMA \(TestPostgres.quoted(twin)); CREATE TABLE \(TestPostgres.quoted(twin)).decoy (id integer)"
            )
        }
        let backup = try await CommandRunner.run(
            ["backup", "-i", "inventories/shop.yaml", "--target", "shop", "--out", "shop.dump"], in: root)
        #expect(backup.status == 0, "\(backup)")
        let list = try listing(root.appendingPathComponent("shop.dump").path)
        #expect(list.contains("TABLE DATA \(schema) orders "), "\(list)")
        #expect(!list.contains("decoy"), "another schema was dumped: \(list)")

        let second = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--no-backup"], in: root)
        #expect(second.status == 0, "\(second)")
        #expect(!totalsAreIntact(schema))
        let restored = try await CommandRunner.run(
            ["restore", "-i", "inventories/shop.yaml", "--target", "shop", "shop.dump", "--yes"], in: root)
        #expect(restored.status == 0, "\(restored)")
        #expect(totalsAreIntact(schema), "restore did not bring the rows back")
    }

    @Test("restore refuses a backup of another schema instead of restoring nothing")
    func restoreRefusesABackupOfAnotherSchema() async throws {
        let schema = name("tm_restore_")
        let other = name("tm_other_")
        let root = try workspace(schema: schema)
        let otherRoot = try workspace(schema: other)
        defer {
            try? TestPostgres.dropSchema(schema)
            try? TestPostgres.dropSchema(other)
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: otherRoot)
        }
        for folder in [root, otherRoot] {
            let applied = try await CommandRunner.run(
                ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], in: folder)
            #expect(applied.status == 0, "\(applied)")
        }
        let backup = try await CommandRunner.run(
            [
                "backup", "-i", "inventories/shop.yaml", "--target", "shop", "--out",
                root.appendingPathComponent("other.dump").path,
            ], in: otherRoot)
        #expect(backup.status == 0, "\(backup)")
        let refused = try await CommandRunner.run(
            ["restore", "-i", "inventories/shop.yaml", "--target", "shop", "other.dump", "--yes"], in: root)
        #expect(refused.status == 1, "\(refused)")
        #expect(
            refused.standardError.contains("pg_restore -l lists no table of schema \"\(schema)\" in it"), "\(refused)")
    }

    @Test(
        "A backup waiting for a lock fails within lock_timeout, leaves no file, keeps the old one and refuses the step")
    func lockedTableFailsTheBackupWithinTheLockTimeout() async throws {
        let schema = name("tm_locked_")
        let root = try workspace(schema: schema, lockTimeout: "1s")
        defer {
            try? TestPostgres.dropSchema(schema)
            try? FileManager.default.removeItem(at: root)
        }
        let first = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        let url = try #require(TestPostgres.url)
        let locker = try PostgresSession(
            target: Target(name: "locker", environment: "test", connection: .url(url)), timeouts: .standard,
            logger: Logger(label: "test"))
        defer { locker.close() }
        // Even if the backup waited forever (the defect), the server ends this session in 20 s.
        try locker.execute("SET idle_in_transaction_session_timeout = '20s'")
        try locker.execute("BEGIN")
        try locker.execute("LOCK TABLE \(TestPostgres.quoted(schema)).orders IN ACCESS EXCLUSIVE MODE")

        let existing = root.appendingPathComponent("shop.dump")
        try Data("an earlier backup".utf8).write(to: existing)
        var started = ContinuousClock.now
        let backup = try await CommandRunner.run(
            ["backup", "-i", "inventories/shop.yaml", "--target", "shop", "--out", "shop.dump"], in: root)
        var elapsed = ContinuousClock.now - started
        #expect(backup.status == 1, "\(backup)")
        #expect(elapsed < .seconds(10), "the backup waited \(elapsed)")
        #expect(
            backup.standardOutput.contains(
                "backing up shop to shop.dump (pg_dump waits at most 1s for a lock on each table)"), "\(backup)")
        #expect(
            backup.standardError.contains(
                "cannot back up to shop.dump: another session holds a lock on \(schema).orders, and pg_dump gave up after the target's lock_timeout (1s)"
            ),
            "\(backup)")
        #expect(
            try String(contentsOf: existing, encoding: .utf8) == "an earlier backup", "the existing file was changed")
        #expect(!FileManager.default.fileExists(atPath: existing.path + ".partial"))

        started = ContinuousClock.now
        let applied = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--yes"], in: root)
        elapsed = ContinuousClock.now - started
        #expect(applied.status == 1, "\(applied)")
        #expect(elapsed < .seconds(10), "apply waited \(elapsed)")
        #expect(
            applied.standardOutput.contains(
                "backing up shop before its data-losing step 2 (pg_dump waits at most 1s for a lock on each table)"),
            "\(applied)")
        #expect(
            (applied.standardOutput + applied.standardError).contains(
                "the backup before data-losing version 2 failed, so that step did not run"), "\(applied)")
        let backups =
            (try? FileManager.default.contentsOfDirectory(
                atPath: root.appendingPathComponent(".tidemark/backups/shop").path)) ?? []
        #expect(backups.isEmpty, "a failed backup left \(backups)")
        try locker.execute("ROLLBACK")
        #expect(totalsAreIntact(schema), "the data-losing step ran without its backup")
    }

    /// A folder whose pg_dump leaves out the rows of every `orders` table (as a pattern that
    /// picked the wrong schema would), for `TIDEMARK_PG_BIN_DIR`.
    func incompleteDumpTools(in root: URL) throws -> [String: String] {
        let bin = root.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let real = ProcessInfo.processInfo.environment["TIDEMARK_TEST_POSTGRES_BIN"] ?? "/usr/bin"
        let scripts = [
            "pg_dump": "#!/bin/sh\nexec '\(real)/pg_dump' \"$@\" '--exclude-table-data=*.orders'\n",
            "pg_restore": "#!/bin/sh\nexec '\(real)/pg_restore' \"$@\"\n",
        ]
        for (tool, script) in scripts {
            let path = bin.appendingPathComponent(tool).path
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        return ["TIDEMARK_PG_BIN_DIR": bin.path]
    }

    @Test("A dump that lacks a table's rows is removed and refuses the data-losing step")
    func incompleteDumpIsRemovedAndRefusesTheStep() async throws {
        let schema = name("tm_incomplete_")
        let root = try workspace(schema: schema)
        defer {
            try? TestPostgres.dropSchema(schema)
            try? FileManager.default.removeItem(at: root)
        }
        let environment = try incompleteDumpTools(in: root)
        let first = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")

        let backup = try await CommandRunner.run(
            ["backup", "-i", "inventories/shop.yaml", "--target", "shop", "--out", "shop.dump"], in: root,
            environment: environment)
        #expect(backup.status == 1, "\(backup)")
        #expect(
            backup.standardError.contains("lacks TABLE DATA \(schema).orders, so it is not kept as a backup"),
            "\(backup)")
        let left = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix("shop.dump") }
        #expect(left.isEmpty, "\(left)")

        let applied = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes"], in: root, environment: environment)
        #expect(applied.status == 1, "\(applied)")
        #expect(
            (applied.standardOutput + applied.standardError).contains(
                "the backup before data-losing version 2 failed, so that step did not run"), "\(applied)")
        let backups =
            (try? FileManager.default.contentsOfDirectory(
                atPath: root.appendingPathComponent(".tidemark/backups/shop").path)) ?? []
        #expect(backups.isEmpty, "\(backups)")
        #expect(totalsAreIntact(schema), "the data-losing step ran without a complete backup")
    }

    @Test("Without schema:, the whole database is dumped and every table of every schema is checked")
    func wholeDatabaseBackupListsEverySchemasTables() async throws {
        let url = try #require(TestPostgres.url)
        let database = name("tm_whole_")
        let admin = try PostgresSession(
            target: Target(name: "admin", environment: "test", connection: .url(url)), timeouts: .standard,
            logger: Logger(label: "test"))
        defer {
            try? admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            admin.close()
        }
        try admin.execute("CREATE DATABASE \(database)")
        let components = try #require(URLComponents(string: url))
        let databaseURL =
            "postgres://\(components.user ?? "tidemark")@\(components.host ?? "127.0.0.1"):\(components.port ?? 5432)/\(database)"
        let root = try workspace(schema: "", url: databaseURL)
        defer { try? FileManager.default.removeItem(at: root) }
        // No schema: in the inventory: the target is the whole database.
        let inventoryPath = root.appendingPathComponent("inventories/shop.yaml")
        let inventory = try String(contentsOf: inventoryPath, encoding: .utf8).replacingOccurrences(
            of: ", schema: ''", with: "")
        try inventory.write(to: inventoryPath, atomically: true, encoding: .utf8)
        let first = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        let side = try PostgresSession(
            target: Target(name: "side", environment: "test", connection: .url(databaseURL)), timeouts: .standard,
            logger: Logger(label: "test"))
        try side.execute(
            "CREATE SCHEMA \"Side Schema\"; CREATE TABLE \"Side Schema\".\"t 1\" (id integer); INSERT INTO \"Side Schema\".\"t 1\" VALUES (7)"
        )
        side.close()

        let backup = try await CommandRunner.run(
            ["backup", "-i", "inventories/shop.yaml", "--target", "shop", "--out", "whole.dump"], in: root)
        #expect(backup.status == 0, "\(backup)")
        #expect(backup.standardOutput.contains("(pg_dump -Fc, 3 tables checked, "), "\(backup)")
        let list = try listing(root.appendingPathComponent("whole.dump").path)
        #expect(list.contains("TABLE DATA public orders "), "\(list)")
        #expect(list.contains("TABLE DATA Side Schema t 1 "), "\(list)")
    }
}
