import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// Discovered targets (docs/tenants.md#discovered-targets) on a real PostgreSQL server: schemas
/// by pattern, catalog rows and command output become targets; a tenant created after the
/// inventory was written is in the next run; a failing source stops everything before it starts.
@Suite(
    "Tenant fleets: discovered targets", .serialized,
    .enabled(if: TestPostgres.isAvailable, "\(TestPostgres.skipReason)"))
struct TenantDiscoveryTests {
    static let plan = [
        "plans/app/V1__create_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n",
        "plans/app/U1__create_accounts.sql": "DROP TABLE accounts;\n",
        "plans/app/V2__add_plan.sql": "ALTER TABLE accounts ADD COLUMN plan text NOT NULL DEFAULT 'free';\n",
        "plans/app/U2__add_plan.sql": "ALTER TABLE accounts DROP COLUMN plan;\n",
    ]

    /// A unique schema prefix, `tmd<random>_`, so suites sharing the server never see each other's tenants.
    static func prefix() -> String {
        "tmd" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10) + "_"
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    var url: String { TestPostgres.url ?? "" }

    /// A workspace with the two-version plan, `inventories/saas.yaml` holding `targets` (YAML
    /// list items, indented for the environment), and `files` (executables when under `inventories/bin/`).
    func workspace(targets: String, concurrency: Int = 8, files: [String: String] = [:]) throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-tenants")
        let inventory = """
            inventory: saas
            plan: ../plans/app
            concurrency: \(concurrency)
            environments:
              tenants:
                tier: dev
                targets:
            \(targets)
            """
        try TestWorkspace.write(
            Self.plan.merging(files) { $1 }.merging(["inventories/saas.yaml": inventory]) { $1 }, under: root)
        for path in files.keys where path.hasPrefix("inventories/bin/") {
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o755], ofItemAtPath: root.appendingPathComponent(path).path)
        }
        return root
    }

    /// Creates `count` empty schemas `<prefix>0001`….
    func createTenants(_ prefix: String, count: Int, from first: Int = 1) throws {
        try TestPostgres.execute(
            "DO $tm$ BEGIN FOR i IN \(first)..\(first + count - 1) LOOP EXECUTE format('CREATE SCHEMA %I', '\(prefix)' || lpad(i::text, 4, '0')); END LOOP; END $tm$"
        )
    }

    /// Drops every schema whose name starts with `prefix`.
    func dropTenants(_ prefix: String) {
        try? TestPostgres.execute(
            "DO $tm$ DECLARE s text; BEGIN FOR s IN SELECT nspname FROM pg_namespace WHERE starts_with(nspname, '\(prefix)') LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END $tm$"
        )
    }

    /// How many schemas starting with `prefix` hold `accounts.plan` (version 2), compared with
    /// `expected` by SQL that fails otherwise.
    func migratedCount(_ prefix: String, is expected: Int) -> Bool {
        do {
            try TestPostgres.execute(
                "DO $tm$ BEGIN IF (SELECT count(*) FROM information_schema.columns WHERE starts_with(table_schema, '\(prefix)') AND table_name = 'accounts' AND column_name = 'plan') <> \(expected) THEN RAISE EXCEPTION 'not \(expected)'; END IF; END $tm$"
            )
            return true
        } catch {
            return false
        }
    }

    /// How many schemas starting with `prefix` hold a `tidemark_history` table, compared with `expected`.
    func historyCount(_ prefix: String, is expected: Int) -> Bool {
        do {
            try TestPostgres.execute(
                "DO $tm$ BEGIN IF (SELECT count(*) FROM pg_tables WHERE starts_with(schemaname, '\(prefix)') AND tablename = 'tidemark_history') <> \(expected) THEN RAISE EXCEPTION 'not \(expected)'; END IF; END $tm$"
            )
            return true
        } catch {
            return false
        }
    }

    @Test(
        "500 schemas found by pattern are migrated; a tenant created before the next run is migrated by it, the rest are no-ops"
    )
    func schemasFoundByPatternAndANewTenantJoinsTheNextRun() async throws {
        let prefix = Self.prefix()
        try createTenants(prefix, count: 500)
        let root = try workspace(
            targets: """
                      - discover: { url: \(Self.quoted(url)), schemas: "\(prefix)%" }
                        name: "t-{schema}"
                        tags: [shared]
                """, concurrency: 16)
        defer {
            dropTenants(prefix)
            try? FileManager.default.removeItem(at: root)
        }
        let first = try await CommandRunner.run(["apply", "-i", "inventories/saas.yaml"], in: root)
        #expect(first.status == 0, "\(first)")
        #expect(first.standardOutput.contains("500 targets: 500 succeeded"), "\(first)")
        #expect(migratedCount(prefix, is: 500))

        try createTenants(prefix, count: 1, from: 501)
        let plan = try await CommandRunner.run(["plan", "-i", "inventories/saas.yaml"], in: root)
        #expect(
            plan.standardOutput.contains(
                "tenants: discover (schemas \(prefix)%) at inventories/saas.yaml:8:9 gave 501 targets"), "\(plan)")
        let second = try await CommandRunner.run(["apply", "-i", "inventories/saas.yaml"], in: root)
        #expect(second.status == 0, "\(second)")
        #expect(second.standardOutput.contains("501 targets: 1 succeeded, 500 unchanged"), "\(second)")
        #expect(migratedCount(prefix, is: 501))
        let history = try await CommandRunner.run(
            ["history", "-i", "inventories/saas.yaml", "--target", "t-\(prefix)0501"], in: root)
        #expect(history.status == 0, "\(history)")
        #expect(history.standardOutput.contains("in effect: 1, 2"), "\(history)")
    }

    @Test(
        "A catalog query and a command's JSON lines give targets with their names, schemas and tags, beside a listed target"
    )
    func catalogAndCommandSourcesGiveTargets() async throws {
        let prefix = Self.prefix()
        let catalog = "\(prefix)catalog"
        try TestPostgres.execute(
            """
            CREATE SCHEMA \(catalog); CREATE SCHEMA \(prefix)beta; CREATE SCHEMA \(prefix)gamma; CREATE SCHEMA \(prefix)acme; CREATE SCHEMA \(prefix)own;
            CREATE TABLE \(catalog).tenants (slug text, schema_name text, active boolean, tier text);
            INSERT INTO \(catalog).tenants VALUES ('beta', '\(prefix)beta', true, 'pro'), ('gamma', '\(prefix)gamma', true, 'free'), ('old', '\(prefix)old', false, 'free');
            """)
        let root = try workspace(
            targets: """
                      - { name: own, url: \(Self.quoted(url)), schema: \(prefix)own }
                      - discover:
                          url: \(Self.quoted(url))
                          query: "SELECT slug AS name, schema_name AS schema, ARRAY[tier] AS tags FROM \(catalog).tenants WHERE active"
                      - discover: { command: ["./bin/list-tenants", "--region", "eu"] }
                        tags: [eu]
                """,
            files: [
                "inventories/bin/list-tenants": """
                #!/bin/sh
                # run in the inventory's folder: prove it by reading a file beside the inventory
                test -f saas.yaml || { echo "not in the inventory's folder" >&2; exit 3; }
                echo '{"name": "eu-acme", "url": "'"$TENANT_DB"'", "schema": "\(prefix)acme", "tags": ["'"$2"'"]}'
                """
            ])
        defer {
            dropTenants(prefix)
            try? FileManager.default.removeItem(at: root)
        }
        let validate = try await CommandRunner.run(
            ["validate", "-i", "inventories/saas.yaml"], in: root, environment: ["TENANT_DB": url])
        #expect(validate.status == 0, "\(validate)")
        #expect(validate.standardOutput.contains("4 targets"), "\(validate)")
        #expect(
            validate.standardOutput.contains("tenants: discover (query) at inventories/saas.yaml:9:9 gave 2 targets"),
            "\(validate)")
        #expect(
            validate.standardOutput.contains(
                "tenants: discover (command ./bin/list-tenants) at inventories/saas.yaml:12:9 gave 1 target"),
            "\(validate)")

        let apply = try await CommandRunner.run(
            ["apply", "-i", "inventories/saas.yaml", "--json"], in: root, environment: ["TENANT_DB": url])
        #expect(apply.status == 0, "\(apply)")
        #expect(migratedCount(prefix, is: 4))
        #expect(historyCount(catalog, is: 0), "the catalog's own schema is not a target")
        let status = try await CommandRunner.run(
            ["status", "-i", "inventories/saas.yaml", "--json"], in: root, environment: ["TENANT_DB": url])
        #expect(status.status == 0, "\(status)")
        for name in ["\"own\"", "\"beta\"", "\"gamma\"", "\"eu-acme\""] {
            #expect(status.standardOutput.contains(name), "\(name): \(status)")
        }
        let tagged = try await CommandRunner.run(
            ["status", "-i", "inventories/saas.yaml", "--target", "eu-acme"], in: root, environment: ["TENANT_DB": url])
        #expect(tagged.status == 0, "\(tagged)")
    }

    @Test(
        "A failing source stops apply with exit 2 before any target is touched, and shows the command's standard error")
    func failingSourceLeavesEveryTargetUntouched() async throws {
        let prefix = Self.prefix()
        try createTenants(prefix, count: 20)
        try TestPostgres.execute("CREATE SCHEMA \(prefix)own")
        let root = try workspace(
            targets: """
                      - { name: own, url: \(Self.quoted(url)), schema: \(prefix)own }
                      - discover: { url: \(Self.quoted(url)), schemas: "\(prefix)0%" }
                      - discover: { command: ["./bin/list-tenants"] }
                """,
            files: [
                "inventories/bin/list-tenants":
                    "#!/bin/sh\necho '{\"name\": \"x\", \"url\": \"postgres:///db\"}'\necho 'catalog unreachable: connection refused' >&2\nexit 4\n"
            ])
        defer {
            dropTenants(prefix)
            try? FileManager.default.removeItem(at: root)
        }
        let apply = try await CommandRunner.run(["apply", "-i", "inventories/saas.yaml"], in: root)
        #expect(apply.status == 2, "\(apply)")
        #expect(
            apply.standardError.contains(
                "inventories/saas.yaml:10:9: discover (command ./bin/list-tenants): './bin/list-tenants' exited with status 4; it printed on standard error:"
            ),
            "\(apply)")
        #expect(apply.standardError.contains("    catalog unreachable: connection refused"), "\(apply)")
        #expect(historyCount(prefix, is: 0), "a target was touched")

        // optional: true makes the same failure a warning: the others run.
        let optional = try String(contentsOf: root.appendingPathComponent("inventories/saas.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "[\"./bin/list-tenants\"] }", with: "[\"./bin/list-tenants\"], optional: true }")
        try optional.write(to: root.appendingPathComponent("inventories/saas.yaml"), atomically: true, encoding: .utf8)
        let applied = try await CommandRunner.run(["apply", "-i", "inventories/saas.yaml"], in: root)
        #expect(applied.status == 0, "\(applied)")
        #expect(
            applied.standardError.contains(
                "gave no targets (it is optional): './bin/list-tenants' exited with status 4"), "\(applied)")
        #expect(migratedCount(prefix, is: 21))
    }

    /// One bad source, the words its error must hold.
    struct BadSource: Sendable, CustomTestStringConvertible {
        var label: String
        var entry: @Sendable (_ url: String, _ prefix: String) -> String
        var script: String? = nil
        var expected: @Sendable (_ prefix: String) -> [String]
        var testDescription: String { label }
    }

    static let badSources: [BadSource] = [
        BadSource(
            label: "a query that returns one name twice",
            entry: { url, prefix in
                "      - discover: { url: \(quoted(url)), query: \"SELECT 'a' AS name, '\(prefix)a' AS schema UNION ALL SELECT 'a', '\(prefix)b'\" }"
            },
            expected: { _ in
                [
                    "inventories/saas.yaml:8:9: discover (query), row 2: target 'a' is also given by discover (query) at inventories/saas.yaml:8:9, row 1"
                ]
            }),
        BadSource(
            label: "a query that returns an empty name",
            entry: { url, _ in "      - discover: { url: \(quoted(url)), query: \"SELECT '' AS name\" }" },
            expected: { _ in ["inventories/saas.yaml:8:9: discover (query): row 1 has an empty name"] }),
        BadSource(
            label: "a name the target-name rule refuses",
            entry: { url, _ in
                "      - discover: { url: \(quoted(url)), query: \"SELECT '../etc' AS name, 'x' AS schema\" }"
            },
            expected: { _ in ["inventories/saas.yaml:8:9: discover (query), row 1: target name '../etc'"] }),
        BadSource(
            label: "a name clashing with a listed target",
            entry: { url, prefix in
                "      - { name: own, url: \(quoted(url)), schema: \(prefix)own }\n      - discover: { url: \(quoted(url)), query: \"SELECT 'own' AS name\" }"
            },
            expected: { _ in
                [
                    "inventories/saas.yaml:9:9: discover (query), row 1: target 'own' is also the target listed in environment 'tenants'"
                ]
            }),
        BadSource(
            label: "a schemas source whose URL names no database",
            entry: { url, prefix in
                let host = url.components(separatedBy: "@").last?.components(separatedBy: "/").first ?? "127.0.0.1"
                return "      - discover: { url: \"postgres://\(host)/\", schemas: \"\(prefix)%\" }"
            },
            expected: { _ in
                ["inventories/saas.yaml:8:9: discover (schemas", "names no database; name the one to read"]
            }),
        BadSource(
            label: "a command that prints a line that is not JSON",
            entry: { _, _ in "      - discover: { command: [\"./bin/tenants\"] }" },
            script: "#!/bin/sh\necho '{\"name\": \"a\", \"url\": \"postgres:///db\"}'\necho 'tenant b'\n",
            expected: { _ in
                [
                    "inventories/saas.yaml:8:9: discover (command ./bin/tenants): line 2 of its output is not JSON (tenant b)"
                ]
            }),
        BadSource(
            label: "a command that outlives its timeout",
            entry: { _, _ in "      - discover: { command: [\"./bin/tenants\"], timeout: 1s }" },
            script: "#!/bin/sh\necho 'still counting tenants' >&2\nexec sleep 30\n",
            expected: { _ in
                [
                    "discover (command ./bin/tenants): './bin/tenants' did not finish within 1s and was stopped",
                    "    still counting tenants",
                ]
            }),
    ]

    @Test("Each bad source is named with its line and row, exit 2, and nothing runs", arguments: badSources)
    func badSourceExitsTwoNamingTheSourceAndRow(_ bad: BadSource) async throws {
        let prefix = Self.prefix()
        let root = try workspace(
            targets: bad.entry(url, prefix), files: bad.script.map { ["inventories/bin/tenants": $0] } ?? [:])
        defer { try? FileManager.default.removeItem(at: root) }
        let started = Date()
        let validate = try await CommandRunner.run(["validate", "-i", "inventories/saas.yaml"], in: root)
        #expect(validate.status == 2, "\(validate)")
        for words in bad.expected(prefix) {
            #expect(validate.standardError.contains(words), "\(words): \(validate)")
        }
        #expect(Date().timeIntervalSince(started) < 20, "the timeout was not kept")
    }
}
