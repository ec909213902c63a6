import Foundation
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkFleet
import TidemarkMySQL
import TidemarkTestSupport

/// Tenant fleets on a real MariaDB server (docs/tenants.md#on-mysql-and-mariadb): databases found by
/// pattern and catalog rows become targets, a failing source stops everything before it starts,
/// and targets that differ only in database share at most `per_server` sessions.
@Suite(
    "Tenant fleets on MariaDB", .serialized,
    .enabled(if: TestMariaDB.isEnabled, "\(TestMariaDB.skipReason)"))
struct MySQLTenantTests {
    static let plan = [
        "plans/app/V1__create_accounts.sql":
            "CREATE TABLE accounts (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL);\n",
        "plans/app/U1__create_accounts.sql": "DROP TABLE accounts;\n",
        "plans/app/V2__add_plan.sql": "ALTER TABLE accounts ADD COLUMN plan VARCHAR(32) NOT NULL DEFAULT 'free';\n",
        "plans/app/U2__add_plan.sql": "ALTER TABLE accounts DROP COLUMN plan;\n",
    ]

    /// A unique database prefix, `tmt<random>_`, so suites sharing the server never see each other's tenants.
    static func prefix() -> String {
        "tmt" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10) + "_"
    }

    /// A workspace with the two-version plan and `inventories/saas.yaml` holding `targets`.
    static func workspace(
        targets: String, concurrency: Int = 8, defaults: String = "", extra: [String: String] = [:]
    ) throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-mysql-tenants")
        let inventory = """
            inventory: saas
            plan: ../plans/app
            concurrency: \(concurrency)\(defaults)
            environments:
              tenants:
                tier: dev
                targets:
            \(targets)
            """
        try TestWorkspace.write(
            Self.plan.merging(extra) { $1 }.merging(["inventories/saas.yaml": inventory]) { $1 }, under: root)
        return root
    }

    /// Creates `count` empty databases `<prefix>0001`….
    static func createTenants(_ prefix: String, count: Int, from first: Int = 1) throws {
        let statements = (first..<(first + count)).map {
            "CREATE DATABASE `\(prefix)\(String(format: "%04d", $0))` CHARACTER SET utf8mb4;"
        }
        try TestMariaDB.execute(statements.joined(separator: "\n"))
    }

    /// Drops every database whose name starts with `prefix`.
    static func dropTenants(_ prefix: String) {
        guard let databases = try? TestMariaDB.databases(prefixed: prefix), !databases.isEmpty else { return }
        try? TestMariaDB.execute(
            databases.map { "DROP DATABASE IF EXISTS \(TestMariaDB.quoted($0));" }.joined(separator: "\n"))
    }

    /// How many databases starting with `prefix` hold `table`.`column` (any column when nil).
    static func count(_ prefix: String, table: String, column: String? = nil) throws -> Int {
        let like = TestMariaDB.literal(prefix.replacingOccurrences(of: "_", with: "\\_") + "%")
        let sql =
            column.map {
                "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA LIKE \(like) AND TABLE_NAME = '\(table)' AND COLUMN_NAME = '\($0)'"
            }
            ?? "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA LIKE \(like) AND TABLE_NAME = '\(table)'"
        return Int(try TestMariaDB.catalog(sql).first?.first.flatMap { $0 } ?? "0") ?? 0
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    @Test(
        "200 databases found by pattern are migrated; a tenant created before the next run is migrated by it, the rest are no-ops"
    )
    func databasesFoundByPatternAndANewTenantJoinsTheNextRun() async throws {
        let url = try TestMariaDB.requireURL()
        let prefix = Self.prefix()
        try Self.createTenants(prefix, count: 200)
        let root = try Self.workspace(
            targets: """
                      - discover: { url: \(Self.quoted(url)), databases: "\(prefix)%" }
                        name: "t-{database}"
                        tags: [shared]
                """, concurrency: 8)
        defer {
            Self.dropTenants(prefix)
            try? FileManager.default.removeItem(at: root)
        }
        let first = try await CommandRunner.run(["apply", "-i", "inventories/saas.yaml"], in: root)
        #expect(first.status == 0, "\(first)")
        #expect(first.standardOutput.contains("200 targets: 200 succeeded"), "\(first)")
        #expect(try Self.count(prefix, table: "accounts", column: "plan") == 200)

        try Self.createTenants(prefix, count: 1, from: 201)
        // validate reads the sources, not the 201 histories.
        let plan = try await CommandRunner.run(["validate", "-i", "inventories/saas.yaml"], in: root)
        #expect(
            plan.standardOutput.contains(
                "tenants: discover (databases \(prefix)%) at inventories/saas.yaml:8:9 gave 201 targets"), "\(plan)")
        let second = try await CommandRunner.run(["apply", "-i", "inventories/saas.yaml"], in: root)
        #expect(second.status == 0, "\(second)")
        #expect(second.standardOutput.contains("201 targets: 1 succeeded, 200 unchanged"), "\(second)")
        #expect(try Self.count(prefix, table: "accounts", column: "plan") == 201)
        let history = try await CommandRunner.run(
            ["history", "-i", "inventories/saas.yaml", "--target", "t-\(prefix)0201"], in: root)
        #expect(history.status == 0, "\(history)")
        #expect(history.standardOutput.contains("in effect: 1, 2"), "\(history)")
    }

    @Test(
        "A query on a MySQL catalog gives targets with their names, databases and tags; a failing source beside it leaves every target untouched"
    )
    func catalogQueryGivesTargetsAndAFailingSourceStopsEverything() async throws {
        let url = try TestMariaDB.requireURL()
        let prefix = Self.prefix()
        let catalog = "\(prefix)catalog"
        try Self.createTenants(prefix, count: 3)
        try TestMariaDB.execute(
            """
            CREATE DATABASE `\(catalog)`;
            CREATE TABLE `\(catalog)`.tenants (slug VARCHAR(64), db VARCHAR(64), active BOOLEAN, tier VARCHAR(16));
            INSERT INTO `\(catalog)`.tenants VALUES ('beta', '\(prefix)0001', TRUE, 'pro'), ('gamma', '\(prefix)0002', TRUE, 'free'), ('old', '\(prefix)0003', FALSE, 'free');
            """)
        let catalogURL = url + catalog
        let good = """
                  - discover:
                      url: \(Self.quoted(catalogURL))
                      query: "SELECT slug AS name, db AS `schema`, JSON_ARRAY(tier, 'eu') AS tags FROM tenants WHERE active"
            """
        let failing = """
                  - discover: { url: \(Self.quoted(catalogURL)), query: "SELECT slug AS name FROM no_such_table" }
            """
        let root = try Self.workspace(targets: good + "\n" + failing)
        defer {
            Self.dropTenants(prefix)
            try? FileManager.default.removeItem(at: root)
        }
        let refused = try await CommandRunner.run(["apply", "-i", "inventories/saas.yaml"], in: root)
        #expect(refused.status == 2, "\(refused)")
        #expect(
            refused.standardError.contains(
                "inventories/saas.yaml:11:9: discover (query): query source: cannot run the query: Table '\(catalog).no_such_table' doesn't exist (MySQL error 1146)"
            ), "\(refused)")
        #expect(refused.standardError.contains("the fleet could not be read, so nothing ran"), "\(refused)")
        #expect(try Self.count(prefix, table: "tidemark_history") == 0, "a target was touched")

        try """
        inventory: saas
        plan: ../plans/app
        concurrency: 8
        environments:
          tenants:
            tier: dev
            targets:
        \(good)
        """.write(to: root.appendingPathComponent("inventories/saas.yaml"), atomically: true, encoding: .utf8)
        let validate = try await CommandRunner.run(["validate", "-i", "inventories/saas.yaml"], in: root)
        #expect(validate.status == 0, "\(validate)")
        #expect(
            validate.standardOutput.contains("tenants: discover (query) at inventories/saas.yaml:8:9 gave 2 targets"),
            "\(validate)")
        let apply = try await CommandRunner.run(["apply", "-i", "inventories/saas.yaml"], in: root)
        #expect(apply.status == 0, "\(apply)")
        #expect(apply.standardOutput.contains("2 targets: 2 succeeded"), "\(apply)")
        #expect(try Self.count(prefix, table: "accounts", column: "plan") == 2)
        // The rows' tags (a JSON_ARRAY's text) and databases, as the fleet reads them.
        let resolved = try await TargetDiscovery(registry: BackendRegistry([MySQLBackend()]), logger: .silent).resolve(
            try InventoryFile.load(at: root.appendingPathComponent("inventories/saas.yaml").path))
        let targets = try #require(resolved.environment(named: "tenants")).targets
        #expect(targets.map(\.name) == ["beta", "gamma"])
        #expect(targets.map(\.tags) == [["pro", "eu"], ["free", "eu"]])
        #expect(targets.map(\.schema) == ["\(prefix)0001", "\(prefix)0002"])
    }

    @Test("Status of databases read together still names each one's server")
    func statusOfDatabasesReadTogetherNamesTheServer() async throws {
        let url = try TestMariaDB.requireURL()
        let prefix = Self.prefix()
        try Self.createTenants(prefix, count: 3)
        // A plan without lock-risky statements: the histories are read together, not one by one.
        let root = try Self.workspace(
            targets: """
                      - discover: { url: \(Self.quoted(url)), databases: "\(prefix)%" }
                """,
            extra: [
                "plans/app/V2__add_plan.sql": "CREATE TABLE plans (id BIGINT PRIMARY KEY);\n",
                "plans/app/U2__add_plan.sql": "DROP TABLE plans;\n",
            ])
        defer {
            Self.dropTenants(prefix)
            try? FileManager.default.removeItem(at: root)
        }
        let apply = try await CommandRunner.run(["apply", "-i", "inventories/saas.yaml"], in: root)
        #expect(apply.status == 0, "\(apply)")
        let status = try await CommandRunner.run(["status", "-i", "inventories/saas.yaml"], in: root)
        #expect(status.status == 0, "\(status)")
        let rows = status.standardOutput.split(separator: "\n").filter { $0.contains(prefix) }
        #expect(rows.count == 3, "\(status)")
        #expect(rows.allSatisfy { $0.contains("MariaDB 1") }, "\(status)")
    }

    struct BadSource: Sendable, CustomTestStringConvertible {
        var name: String
        var query: String
        var bareURL = false
        var expected: String
        var testDescription: String { name }
    }

    static let badSources: [BadSource] = [
        BadSource(
            name: "a duplicate name", query: "SELECT 'a' AS name UNION ALL SELECT 'a'",
            expected:
                "inventories/saas.yaml:8:9: discover (query), row 2: target 'a' is also given by discover (query) at inventories/saas.yaml:8:9, row 1"
        ),
        BadSource(
            name: "an empty name", query: "SELECT '' AS name",
            expected: "inventories/saas.yaml:8:9: discover (query): row 1 has an empty name"),
        BadSource(
            name: "a name the target-name rule refuses", query: "SELECT '../etc' AS name",
            expected: "inventories/saas.yaml:8:9: discover (query), row 1: target name '../etc'"),
        BadSource(
            name: "a url that names no database", query: "SELECT 'a' AS name", bareURL: true,
            expected: "names no database; name the one to read, e.g. mysql://app@db-2/catalog"),
    ]

    @Test("Each bad source is named with its line and row, exit 2, and nothing runs", arguments: badSources)
    func badSourcesStopTheCommand(_ bad: BadSource) async throws {
        let url = try TestMariaDB.requireURL()
        let source = bad.bareURL ? url : url + "mysql"
        let root = try Self.workspace(
            targets: """
                      - discover: { url: \(Self.quoted(source)), query: \(Self.quoted(bad.query)) }
                """)
        defer { try? FileManager.default.removeItem(at: root) }
        let validate = try await CommandRunner.run(["validate", "-i", "inventories/saas.yaml"], in: root)
        #expect(validate.status == 2, "\(validate)")
        #expect(validate.standardError.contains(bad.expected), "\(validate)")
    }

    @Test("A server that cannot be reached is a failing source, named at its line")
    func anUnreachableServerStopsTheCommand() async throws {
        let root = try Self.workspace(
            targets: """
                      - discover: { url: "mysql://root@127.0.0.1:1/", databases: "tenant_%" }
                """)
        defer { try? FileManager.default.removeItem(at: root) }
        let validate = try await CommandRunner.run(["validate", "-i", "inventories/saas.yaml"], in: root)
        #expect(validate.status == 2, "\(validate)")
        #expect(
            validate.standardError.contains(
                "inventories/saas.yaml:8:9: discover (databases tenant_%): databases tenant_% source: cannot connect: Can't connect to server on '127.0.0.1'"
            ),
            "\(validate)")
    }
}
