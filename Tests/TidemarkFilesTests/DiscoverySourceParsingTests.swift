import Testing
import TidemarkCore
import TidemarkFiles

/// `discover:` entries in an environment's targets (docs/tenants.md#discovered-targets): what they
/// parse into, and the mistakes reported at their line before anything is read.
@Suite("Inventory discovery sources")
struct DiscoverySourceParsingTests {
    @Test func sourcesParseWithTheirSettingsAndKeepTheirPlaceAmongListedTargets() throws {
        let parsed = try inventory(
            environments: """
                  tenants:
                    tier: prod
                    targets:
                      - { name: internal, url: "postgres://app@db-1/app", schema: internal }
                      - discover: { url: "postgres://app@db-1/app", schemas: "tenant_%", password_env: TENANTS_PASSWORD }
                        name: "tenant-{schema}"
                        tags: [shared]
                      - discover: { url: "postgres://app@catalog/app", query: "SELECT name, schema FROM tenants", optional: true }
                      - discover: { command: ["./bin/list-tenants", "--region", "eu"], timeout: 5s }
                """)
        let environment = try #require(parsed.environment(named: "tenants"))
        #expect(environment.targets.map(\.name) == ["internal"])
        #expect(
            environment.discover == [
                DiscoverySource(
                    kind: .schemas(pattern: "tenant_%"), url: "postgres://app@db-1/app",
                    passwordEnv: "TENANTS_PASSWORD", nameTemplate: "tenant-{schema}",
                    tags: ["shared"], environment: "tenants",
                    location: SourceLocation(file: inventoryFile, line: 7, column: 9), position: 1),
                DiscoverySource(
                    kind: .query(sql: "SELECT name, schema FROM tenants"), url: "postgres://app@catalog/app",
                    optional: true, environment: "tenants",
                    location: SourceLocation(file: inventoryFile, line: 10, column: 9), position: 1),
                DiscoverySource(
                    kind: .command(arguments: ["./bin/list-tenants", "--region", "eu"], timeout: .seconds(5)),
                    environment: "tenants",
                    location: SourceLocation(file: inventoryFile, line: 11, column: 9), position: 1),
            ])
    }

    @Test func aCanaryMayNameATargetOnlyASourceGives() throws {
        let parsed = try inventory(
            environments: """
                  tenants:
                    tier: prod
                    canary: tenant_001
                    targets:
                      - discover: { url: "postgres://app@db-1/app", schemas: "tenant_%" }
                """)
        #expect(parsed.environment(named: "tenants")?.canary == "tenant_001")
    }

    @Test func mistakesInASourceAreReportedAtTheirLine() {
        let problems = inventoryProblems(
            """
            plan: ../plans/demo
            environments:
              tenants:
                tier: prod
                targets:
                  - discover: { url: "postgres://app@db-1/app", schemas: "tenant_%", query: "SELECT 1" }
                  - discover: { schemas: "tenant_%" }
                  - discover: { url: "postgres://app@db-1/app", schemas: "t_%", timeout: 5s }
                  - discover: { command: [] }
                  - discover: { command: ["./x"], timeout: soon }
                  - discover: { url: "postgres://app@db-1/app", schemas: "t_%", optinal: true }
                  - discover: "postgres://app@db-1/app"
                  - discover: { url: "mysql://app@db-2/", databases: "tenant_%" }
                  - discover: { url: "mysql://app@db-2/app", schemas: "tenant_%" }
                  - discover: { url: "postgres://app@db-1/app", databases: "tenant_%" }
                  - discover: { databases: "tenant_%" }
            """)
        #expect(
            problems == [
                "inventories/test.yaml:6:74: discover has schemas and query; give one source per entry.",
                "inventories/test.yaml:7:19: discover with schemas needs the url of the database to read, e.g. - discover: { url: \"postgres://app@db-1/app\", schemas: \"tenant_%\" }.",
                "inventories/test.yaml:8:69: timeout applies to a command source only; a schemas source waits connect_timeout and statement_timeout.",
                "inventories/test.yaml:9:30: command is empty; give the program and its arguments, e.g. command: [\"./bin/list-tenants\"].",
                "inventories/test.yaml:10:48: bad duration 'soon' for timeout; write a number and a unit, e.g. \(DurationText.examples).",
                "inventories/test.yaml:11:69: unknown key 'optinal' in discover; did you mean 'optional'?",
                "inventories/test.yaml:12:19: discover must be a mapping naming one source, e.g. - discover: { url: \"postgres://app@db-1/app\", schemas: \"tenant_%\" }.",
                "inventories/test.yaml:14:50: on a MySQL or MariaDB server a tenant is a database: write databases: instead of schemas:, e.g. - discover: { url: \"mysql://app@db-2/\", databases: \"tenant_%\" }.",
                "inventories/test.yaml:15:26: discover with databases reads a MySQL or MariaDB server; use a mysql:// or mariadb:// URL (on PostgreSQL, schemas: finds tenant schemas), e.g. - discover: { url: \"mysql://app@db-2/\", databases: \"tenant_%\" }.",
                "inventories/test.yaml:16:19: discover with databases needs the url of the MySQL server to read, e.g. - discover: { url: \"mysql://app@db-2/\", databases: \"tenant_%\" }.",
            ])
    }
}
