import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkSQLite
import TidemarkTestSupport

/// Backups before data-losing steps on prod targets, `tidemark backup` and `tidemark restore`,
/// on SQLite and (with TIDEMARK_TEST_POSTGRES_URL) PostgreSQL.
@Suite("Backups and restore", .serialized)
struct BackupCommandTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    static let kinds: [Kind] = TestPostgres.isAvailable ? [.sqlite, .postgres] : [.sqlite]

    /// A workspace with a two-version plan (v1 creates orders with two rows, v2 drops their
    /// totals: data-losing) and an inventory with one prod target.
    func workspace(_ kind: Kind) throws -> (root: URL, target: Target) {
        let root = try CommandRunner.temporaryDirectory("tidemark-backup")
        let schema = TestPostgres.uniqueSchemaName(for: "backup")
        let location =
            kind == .sqlite ? "url: \"sqlite:../dbs/shop.db\"" : "url: \"\(TestPostgres.url ?? "")\", schema: \(schema)"
        let inventory = """
            inventory: shop
            plan: ../plans/shop
            environments:
              prod:
                tier: prod
                targets: [ { name: shop, \(location) } ]
            """
        try TestWorkspace.write(
            TestWorkspace.dataLosingShopPlan.merging(["inventories/shop.yaml": inventory]) { $1 }, under: root)
        let target =
            kind == .sqlite
            ? Target(name: "shop", environment: "prod", connection: .url("sqlite:\(root.path)/dbs/shop.db"))
            : Target(name: "shop", environment: "prod", connection: .url(TestPostgres.url ?? ""), schema: schema)
        return (root, target)
    }

    /// Whether the orders' totals add up to 1750 (both rows, with their values), checked by SQL
    /// that fails otherwise (a CHECK on a temporary table, the same SQL on both backends). It runs
    /// where its history row cannot disturb the target's: on a copy of the SQLite file, or as the
    /// test server's administrator reading the target's table by its qualified name.
    func totalsAreIntact(_ kind: Kind, _ target: Target) throws -> Bool {
        func check(_ table: String) -> String {
            "CREATE TEMP TABLE tm_check (n integer CHECK (n = 1750)); INSERT INTO tm_check SELECT sum(total_cents) FROM \(table); DROP TABLE tm_check"
        }
        switch kind {
        case .sqlite:
            let copy = FileManager.default.temporaryDirectory.appendingPathComponent(
                "tidemark-check-\(UUID().uuidString).db"
            ).path
            defer {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy + suffix) }
            }
            _ = try SQLiteBackend().backup(target, to: copy, timeouts: .standard, logger: .silent)
            let connection = try SQLiteBackend().connect(
                to: Target(name: "check", environment: "test", connection: .url("sqlite:\(copy)")), timeouts: .standard,
                logger: .silent)
            defer { connection.close() }
            try connection.ensureHistoryTable()
            do {
                try connection.run(BackendConformance.step("check", .forward, sql: check("orders")))
                return true
            } catch {
                return false
            }
        case .postgres:
            do {
                try TestPostgres.execute(check(TestPostgres.quoted(target.schema ?? "public") + ".orders"))
                return true
            } catch {
                return false
            }
        }
    }

    func dropSchema(_ kind: Kind, _ target: Target) {
        guard kind == .postgres, let schema = target.schema else { return }
        try? TestPostgres.dropSchema(schema)
    }

    @Test("apply backs up a prod target before its data-losing step; restore brings the rows back", arguments: kinds)
    func restoreBringsBackRowsADataLosingStepDestroyed(_ kind: Kind) async throws {
        let (root, target) = try workspace(kind)
        defer {
            dropSchema(kind, target)
            try? FileManager.default.removeItem(at: root)
        }
        let plan = try await CommandRunner.run(["plan", "-i", "inventories/shop.yaml"], in: root)
        #expect(
            plan.standardOutput.contains(
                "[DATA-LOSING: DROP COLUMN at line 1; only a backup restores it; backed up first to .tidemark/backups/shop/]"
            ), "\(plan)")

        let applied = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--report", "report.json"], in: root)
        #expect(applied.status == 0, "\(applied)")
        #expect(applied.standardOutput.contains("backup of shop before its data-losing steps: "), "\(applied)")
        #expect(try !totalsAreIntact(kind, target), "the data-losing step did not lose the totals")

        let report = try String(contentsOf: root.appendingPathComponent("report.json"), encoding: .utf8)
        #expect(report.contains("\"restoreOnlySteps\""), "\(report)")
        #expect(report.contains("2 forward (DROP COLUMN at line 1)"), "\(report)")
        let backups = try FileManager.default.contentsOfDirectory(
            atPath: root.appendingPathComponent(".tidemark/backups/shop").path)
        let backup = try #require(backups.first { $0.hasSuffix(".dump") })
        let path = root.appendingPathComponent(".tidemark/backups/shop/\(backup)").path
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)
        #expect(mode.intValue == 0o600)
        #expect(report.contains(backup), "the report does not name the backup")

        let refused = try await CommandRunner.run(
            ["restore", "-i", "inventories/shop.yaml", "--target", "shop", path], in: root)
        #expect(refused.status == 2, "\(refused)")
        let restored = try await CommandRunner.run(
            ["restore", "-i", "inventories/shop.yaml", "--target", "shop", path, "--yes"], in: root)
        #expect(restored.status == 0, "\(restored)")
        #expect(try totalsAreIntact(kind, target), "the restore did not bring the rows back")
        // The history is the backup's too: the target is at version 1 again.
        let status = try await CommandRunner.run(["status", "-i", "inventories/shop.yaml", "--json"], in: root)
        #expect(status.standardOutput.contains("\"version\" : \"1\""), "\(status)")
    }

    @Test("A failed backup stops the data-losing step; --no-backup must be said to go on", arguments: kinds)
    func failedBackupRefusesTheStep(_ kind: Kind) async throws {
        let (root, target) = try workspace(kind)
        defer {
            dropSchema(kind, target)
            try? FileManager.default.removeItem(at: root)
        }
        // A file where the backup folder should be: the backup cannot be written.
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent(".tidemark"), withIntermediateDirectories: true)
        try Data().write(to: root.appendingPathComponent(".tidemark/backups"))

        let failed = try await CommandRunner.run(["apply", "-i", "inventories/shop.yaml", "--yes"], in: root)
        #expect(failed.status == 1, "\(failed)")
        let text = failed.standardOutput + failed.standardError
        #expect(text.contains("the backup before data-losing version 2 failed, so that step did not run"), "\(failed)")
        #expect(try totalsAreIntact(kind, target), "the data-losing step ran although its backup failed")

        let forced = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--no-backup"], in: root)
        #expect(forced.status == 0, "\(forced)")
        #expect(!forced.standardOutput.contains("backup of shop"), "\(forced)")
        #expect(try !totalsAreIntact(kind, target))
    }

    @Test("tidemark backup writes a private file that restore reads back", arguments: kinds)
    func backupCommandRoundTrips(_ kind: Kind) async throws {
        let (root, target) = try workspace(kind)
        defer {
            dropSchema(kind, target)
            try? FileManager.default.removeItem(at: root)
        }
        let first = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], in: root)
        #expect(first.status == 0, "\(first)")
        let backup = try await CommandRunner.run(
            ["backup", "-i", "inventories/shop.yaml", "--target", "shop", "--out", "shop.dump"], in: root)
        #expect(backup.status == 0, "\(backup)")
        #expect(backup.standardOutput.contains("backup of shop written to shop.dump"), "\(backup)")
        let mode =
            try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent("shop.dump").path)[
                .posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)

        let second = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--no-backup"], in: root)
        #expect(second.status == 0, "\(second)")
        #expect(try !totalsAreIntact(kind, target))
        let restored = try await CommandRunner.run(
            ["restore", "-i", "inventories/shop.yaml", "--target", "shop", "shop.dump", "--yes"], in: root)
        #expect(restored.status == 0, "\(restored)")
        #expect(try totalsAreIntact(kind, target))

        let missing = try await CommandRunner.run(
            ["backup", "-i", "inventories/shop.yaml", "--target", "shopp"], in: root)
        #expect(missing.status == 2, "\(missing)")
        #expect(missing.standardError.contains("did you mean 'shop'?"), "\(missing)")
    }
}
