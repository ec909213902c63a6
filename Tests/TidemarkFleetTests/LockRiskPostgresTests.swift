import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkPostgres
import TidemarkTestSupport

@testable import TidemarkFleet

/// Lock risk (docs/live-production.md#lint-and-lock-risk-in-the-plan) on a real PostgreSQL: the
/// same non-concurrent CREATE INDEX is blocked on a live prod target whose table holds 200,000 rows
/// and planned forward on a dev target with 10, from each target's catalog estimate; once the
/// script says `-- tidemark:lock-ok`, it runs on both.
@Suite(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)), .serialized)
struct LockRiskPostgresTests {
    struct Fleet {
        let root: URL
        let prodSchema: String
        let devSchema: String
        var inventory: String { root.appendingPathComponent("inventories/fleet.yaml").path }
        var script: URL { root.appendingPathComponent("plans/app/V1__orders_status_index.sql") }
        let registry = BackendRegistry([PostgresBackend()])

        init() throws {
            let url = try #require(TestPostgres.url)
            root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "tidemark-lock-risk-\(UUID().uuidString)")
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("plans/app"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
            prodSchema = try TestPostgres.createSchema(for: "lockrisk_prod")
            devSchema = try TestPostgres.createSchema(for: "lockrisk_dev")
            for (schema, rows) in [(prodSchema, 200_000), (devSchema, 10)] {
                let table = TestPostgres.quoted(schema) + ".orders"
                try TestPostgres.execute(
                    """
                    CREATE TABLE \(table) (id bigint PRIMARY KEY, status text);
                    INSERT INTO \(table) SELECT n, CASE WHEN n % 3 = 0 THEN 'paid' ELSE 'new' END FROM generate_series(1, \(rows)) AS n;
                    ANALYZE \(table);
                    """)
            }
            try """
            inventory: fleet
            plan: ../plans/app
            order: [dev, prod]
            environments:
              dev: { tier: dev, targets: [ { name: dev-1, url: "\(url)", schema: \(devSchema) } ] }
              prod: { tier: prod, live: true, targets: [ { name: prod-1, url: "\(url)", schema: \(prodSchema) } ] }
            """.write(toFile: inventory, atomically: true, encoding: .utf8)
            try writeScript(acknowledged: false)
        }

        func writeScript(acknowledged: Bool) throws {
            let directive =
                acknowledged
                ? "-- tidemark:lock-ok orders is written by one batch job, paused for this deployment\n" : ""
            try (directive + "CREATE INDEX orders_status ON orders (status);\n").write(
                to: script, atomically: true, encoding: .utf8)
        }

        func rollout() async throws -> Rollout {
            try await FleetSnapshot.load(inventoryFile: inventory, selection: .all, registry: registry, logger: .silent)
                .rollout()
        }

        func cleanUp() {
            try? TestPostgres.dropSchema(prodSchema)
            try? TestPostgres.dropSchema(devSchema)
            try? FileManager.default.removeItem(at: root)
        }
    }

    @Test func aNonConcurrentIndexIsBlockedOnTheBigLiveTableAndRunsOnDevThenEverywhereOnceAcknowledged() async throws {
        let fleet = try Fleet()
        defer { fleet.cleanUp() }

        let rollout = try await fleet.rollout()
        let dev = try #require(rollout.targets.first { $0.target == "dev-1" })
        let prod = try #require(rollout.targets.first { $0.target == "prod-1" })

        #expect(dev.action == .forward)
        let devRisk = try #require(dev.steps.first?.lockRisks.first)
        #expect(devRisk.rule == .requireConcurrentIndexCreation && devRisk.relations == ["orders"])
        #expect((devRisk.estimatedRows ?? -1) >= 5 && (devRisk.estimatedRows ?? .infinity) <= 20)

        #expect(prod.action == .blocked)
        guard case .lockRisk(let version, let script, let risk, let threshold)? = prod.blocked else {
            Issue.record("prod-1 is not blocked for lock risk: \(prod.reason)")
            return
        }
        #expect(version.text == "1" && script == "V1__orders_status_index.sql" && threshold == 100_000)
        #expect(risk.rule == .requireConcurrentIndexCreation && risk.relations == ["orders"] && risk.line == 1)
        let rows = try #require(risk.estimatedRows)
        #expect(rows >= 190_000 && rows <= 210_000, "estimate \(rows)")
        #expect(prod.reason.contains(LockRisk.rowCount(rows)), "\(prod.reason)")

        // Acknowledged: forward on both, and apply builds the index on both.
        try fleet.writeScript(acknowledged: true)
        let acknowledged = try await fleet.rollout()
        #expect(acknowledged.targets.map(\.action) == [.forward, .forward])
        #expect(acknowledged.targets.allSatisfy { $0.steps.first?.lockAcknowledged != nil })
        var request = ApplyRequest(
            source: .inventory(fleet.inventory), confirmation: .given,
            runID: "lock-risk-\(UUID().uuidString.prefix(8))",
            appliedBy: "test@host", environment: [:])
        request.stateDirectory = StateDirectory(root: fleet.root.appendingPathComponent(".tidemark"))
        let result = try await ApplyRun(registry: fleet.registry, logger: .silent).run(request)
        #expect(result.status == .succeeded)
        for schema in [fleet.prodSchema, fleet.devSchema] {
            #expect(try TestPostgres.tableExists("orders_status", inSchema: schema))
        }
    }
}
