import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkMySQL
import TidemarkPostgres
import TidemarkSQLite
import TidemarkTestSupport

/// The README's story (README.md#the-demo-one-bad-migration-forty-databases-3-am), run with the
/// real binary against real databases: apply v1–v4, quarantine v4, `revert 4`, converge
/// (dev/test/downtime roll back, live prod rolls forward), then a new environment that never runs
/// v4. Asserts every target's history rows and schema. On MariaDB (docs/mysql.md) the plan is the
/// same story in MySQL's dialect: a VARCHAR email (an index on TEXT needs a prefix length there)
/// and `DROP INDEX … ON accounts`.
@Suite("Demo story", .serialized)
struct DemoStoryTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgres, mariadb
        var testDescription: String { rawValue }
    }

    static let backends: [Kind] =
        [.sqlite] + (TestPostgres.isAvailable ? [.postgres] : []) + (TestMariaDB.isEnabled ? [.mariadb] : [])

    /// The demo plan's files MySQL reads otherwise.
    static let mysqlFiles = [
        "V2__add_email.sql":
            "ALTER TABLE accounts ADD COLUMN email VARCHAR(200);\nCREATE INDEX accounts_email ON accounts (email);\n",
        "U2__add_email.sql": "DROP INDEX accounts_email ON accounts;\nALTER TABLE accounts DROP COLUMN email;\n",
    ]

    /// Every target the story creates.
    static let targetNames = ["dev", "test", "prod-ap-1", "prod-eu-1", "prod-shard-1", "prod-shard-2", "eu-new-1"]

    /// The PostgreSQL schema of one target of one run of the story.
    static func schema(_ name: String, run: String) -> String {
        "story_\(run)_\(name.replacingOccurrences(of: "-", with: "_"))"
    }

    /// `url:` (and `schema:`) of one target in the story inventory.
    static func location(_ name: String, kind: Kind, run: String) -> String {
        switch kind {
        case .sqlite: return "url: \"sqlite:../dbs/\(name).db\""
        case .postgres: return "url: \"\(TestPostgres.url ?? "")\", schema: \(schema(name, run: run))"
        case .mariadb: return "url: \"\(TestMariaDB.url ?? "")\", schema: \(schema(name, run: run))"
        }
    }

    static func inventory(kind: Kind, run: String) -> String {
        """
        inventory: story
        plan: ../plans/demo
        order: [dev, test, prod-maintenance, prod]
        environments:
          dev:
            tier: dev
            targets: [ { name: dev, \(location("dev", kind: kind, run: run)) } ]
          test:
            tier: test
            targets: [ { name: test, \(location("test", kind: kind, run: run)) } ]
          prod-maintenance:
            tier: prod
            live: false
            targets: [ { name: prod-ap-1, \(location("prod-ap-1", kind: kind, run: run)) } ]
          prod:
            tier: prod
            live: true
            canary: prod-eu-1
            targets:
              - { name: prod-eu-1, \(location("prod-eu-1", kind: kind, run: run)) }
              - { name: prod-shard-1, \(location("prod-shard-1", kind: kind, run: run)) }
              - { name: prod-shard-2, \(location("prod-shard-2", kind: kind, run: run)) }

        """
    }

    @Test("The quarantine story converges every target", arguments: DemoStoryTests.backends)
    func quarantineStoryConverges(_ kind: Kind) async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-story")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = String(UUID().uuidString.prefix(8)).lowercased()
        defer {
            if kind == .postgres {
                for name in Self.targetNames { try? TestPostgres.dropSchema(Self.schema(name, run: run)) }
            }
            if kind == .mariadb {
                for name in Self.targetNames { try? TestMariaDB.dropDatabase(Self.schema(name, run: run)) }
            }
        }
        let plans = root.appendingPathComponent("plans")
        try FileManager.default.createDirectory(at: plans, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: CommandRunner.repositoryRoot.appendingPathComponent("plans/demo"),
            to: plans.appendingPathComponent("demo"))
        if kind == .mariadb {
            _ = try TestMariaDB.requireURL()
            for (file, sql) in Self.mysqlFiles {
                try sql.write(to: plans.appendingPathComponent("demo/\(file)"), atomically: true, encoding: .utf8)
            }
        }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("dbs"), withIntermediateDirectories: true)
        let inventoryFile = root.appendingPathComponent("inventories/story.yaml")
        try Self.inventory(kind: kind, run: run).write(to: inventoryFile, atomically: true, encoding: .utf8)
        func tidemark(_ arguments: String...) async throws -> CommandRunner.Result {
            try await CommandRunner.run(arguments, in: root)
        }

        let first = try await tidemark("apply", "-i", "inventories/story.yaml", "--yes")
        #expect(first.status == 0, "\(first)")
        #expect(first.standardOutput.contains("6 targets: 6 succeeded"), "\(first)")

        let quarantine = try await tidemark(
            "quarantine", "4", "--reason", "drops order totals", "-i", "inventories/story.yaml")
        #expect(quarantine.status == 0, "\(quarantine)")
        let blocked = try await tidemark("plan", "-i", "inventories/story.yaml")
        #expect(blocked.status == 3, "\(blocked)")
        #expect(
            blocked.standardOutput.contains("write one with `tidemark revert 4 -i inventories/story.yaml`"),
            "\(blocked)")
        #expect(blocked.standardOutput.contains("6 targets: 3 rollback, 3 blocked"), "\(blocked)")

        // The hint runs as printed (on MySQL the undo's NON-TRANSACTIONAL note names `tidemark repair` first).
        let hint = try #require(
            blocked.standardOutput.components(separatedBy: "`tidemark ").dropFirst().first { $0.hasPrefix("revert ") }?
                .prefix { $0 != "`" })
        #expect(hint == "revert 4 -i inventories/story.yaml")
        let revert = try await CommandRunner.run(hint.split(separator: " ").map(String.init), in: root)
        #expect(revert.status == 0, "\(revert)")
        let converge = try await tidemark("apply", "-i", "inventories/story.yaml", "--yes")
        #expect(converge.status == 0, "\(converge)")
        #expect(converge.standardOutput.contains("6 targets: 3 rollback, 3 rollforward"), "\(converge)")
        let settled = try await tidemark("plan", "-i", "inventories/story.yaml")
        #expect(settled.status == 0 && settled.standardOutput.contains("6 targets: 6 none"), "\(settled)")

        try
            (Self.inventory(kind: kind, run: run) + """
                  eu-new:
                    tier: test
                    targets: [ { name: eu-new-1, \(Self.location("eu-new-1", kind: kind, run: run)) } ]

                """).write(to: inventoryFile, atomically: true, encoding: .utf8)
        let fresh = try await tidemark("apply", "-i", "inventories/story.yaml", "--env", "eu-new")
        #expect(fresh.status == 0, "\(fresh)")

        // Every target's history and schema, read back through the backends.
        let rolledBack = ["forward 1", "forward 2", "forward 3", "forward 4", "undo 4", "skip 5"]
        let rolledForward = ["forward 1", "forward 2", "forward 3", "forward 4", "compensate 5"]
        let expected: [String: [String]] = [
            "dev": rolledBack, "test": rolledBack, "prod-ap-1": rolledBack,
            "prod-eu-1": rolledForward, "prod-shard-1": rolledForward, "prod-shard-2": rolledForward,
            "eu-new-1": ["forward 1", "forward 2", "forward 3", "skip 5"],
        ]
        let inventoryText = try String(contentsOf: inventoryFile, encoding: .utf8)
        for (name, rows) in expected {
            let target = try #require(Self.target(named: name, kind: kind, run: run, root: root), "\(inventoryText)")
            let backend: any Backend =
                switch kind {
                case .sqlite: SQLiteBackend()
                case .postgres: PostgresBackend()
                case .mariadb: MySQLBackend()
                }
            let connection = try backend.connect(to: target, timeouts: .standard, logger: .silent)
            defer { connection.close() }
            let history = try connection.readHistory()
            #expect(history.map { "\($0.kind.rawValue) \($0.version)" } == rows, "\(kind) \(name)")
            #expect(history.allSatisfy { $0.success }, "\(kind) \(name)")
            let tables = try connection.fingerprint().columnsByTable
            #expect(tables.keys.sorted() == ["accounts", "orders"], "\(kind) \(name): \(tables)")
            #expect(tables["orders"]?.contains("total_cents") == true, "\(kind) \(name): \(tables)")
            #expect(tables["accounts"] == ["id", "name", "email"], "\(kind) \(name): \(tables)")
        }
    }

    static func target(named name: String, kind: Kind, run: String, root: URL) -> Target? {
        switch kind {
        case .sqlite:
            return Target(
                name: name, environment: "",
                connection: .url("sqlite:" + root.appendingPathComponent("dbs/\(name).db").path))
        case .postgres:
            return TestPostgres.url.map {
                Target(name: name, environment: "", connection: .url($0), schema: schema(name, run: run))
            }
        case .mariadb:
            return TestMariaDB.url.map {
                Target(name: name, environment: "", connection: .url($0), schema: schema(name, run: run))
            }
        }
    }
}
