import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

@testable import TidemarkControl

/// A shared run stores the fleet its first runner discovered; runners that join work on it
/// (docs/tenants.md#a-shared-run-stores-its-fleet). Real `tidemark` processes, real PostgreSQL.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct StoredFleetRunTests {
    /// Two runners: the first creates the run and serves one tenant of four; a tenant schema is
    /// created after it; the second joins, reads no source (the command source counts its reads)
    /// and runs exactly the three stored tenants left; the new tenant is in no runner's part and
    /// untouched. Without the stored fleet the second runner read the sources again.
    @Test func aTenantCreatedBetweenTwoRunnersJoiningDoesNotSplitTheRun() async throws {
        let fleet = try ControlFleet(perWave: 1, stepSeconds: 0)
        defer { fleet.remove() }
        let session = try fleet.session()
        defer { session.close() }
        for index in 1...4 { try session.query("CREATE SCHEMA \(fleet.name)_t_\(index)") }
        let inventories = fleet.directory.appendingPathComponent("inventories")
        // A command source that gives no target and counts how often it was read.
        try "#!/bin/sh\necho read >> reads.log\n".write(
            to: inventories.appendingPathComponent("count-reads"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o755], ofItemAtPath: inventories.appendingPathComponent("count-reads").path)
        try """
        inventory: \(fleet.name)
        plan: ../plans/app
        concurrency: 1
        environments:
          tenants:
            tier: test
            targets:
              - discover: { url: "\(fleet.url)", schemas: "\(fleet.name)_t_%" }
              - discover: { command: ["./count-reads"] }
        """.write(to: inventories.appendingPathComponent("fleet.yaml"), atomically: true, encoding: .utf8)

        // The first runner serves one tenant: it creates the run, runs its tenant and leaves the
        // run open for the others, whatever the machine's load.
        let first = try await CommandRunner.run(
            fleet.apply(["--lease", "1s", "--runner", "first", "--serve", "\(fleet.name)_t_1"]), in: fleet.directory)
        #expect(first.status == 0, "\(first)")
        try session.query("CREATE SCHEMA \(fleet.name)_t_5")
        let second = try await CommandRunner.run(
            fleet.apply(["--lease", "1s", "--runner", "second"]), in: fleet.directory)
        #expect(second.status == 0, "\(second)")
        #expect(second.standardOutput.contains("joined as runner second/"), "\(second)")

        let reads = try String(contentsOf: inventories.appendingPathComponent("reads.log"), encoding: .utf8)
        #expect(reads.split(separator: "\n").count == 1, "the sources were read \(reads) times")
        let runID = try #require(ControlFleet.runID(in: first.standardOutput), "\(first)")
        let stored = try session.query(
            "SELECT target FROM tidemark_control.targets WHERE run_id = $1 ORDER BY position", [runID]
        ).compactMap { $0.first ?? nil }
        #expect(stored == (1...4).map { "\(fleet.name)_t_\($0)" })
        let claimedBySecond = try session.query(
            "SELECT count(*) FROM tidemark_control.targets WHERE run_id = $1 AND runner LIKE 'second/%'", [runID]
        ).first?.first
        #expect(claimedBySecond == "3", "the second runner ran the three tenants left: \(second)")
        let fleetJSON = try #require(
            try session.query("SELECT fleet::text FROM tidemark_control.runs WHERE run_id = $1", [runID]).first?.first
                ?? nil)
        let storedFleet = try #require(ControlStore.decode(StoredFleet.self, fleetJSON))
        #expect(storedFleet.environments.map(\.environment) == ["tenants"])
        #expect(storedFleet.environments.first?.targets.map(\.name) == stored)
        #expect(storedFleet.counts.map(\.targets) == [4, 0])
        for index in 1...4 {
            #expect(
                try fleet.history("\(fleet.name)_t_\(index)", on: session) == [
                    "forward 1", "forward 2", "forward 3", "forward 4",
                ])
        }
        #expect(try fleet.history("\(fleet.name)_t_5", on: session).isEmpty)
    }
}

/// A version-5 control database is upgraded in place (through version 6, the stored fleet, to the
/// newest); a run a version-5 Tidemark opened has no stored fleet, so a runner joining it reads the
/// sources itself.
@Suite(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct ControlSchemaUpgradeTests {
    @Test func aVersionFiveDatabaseIsUpgradedInPlaceKeepingItsRuns() throws {
        let database = try ControlSchemaTests.freshDatabase()
        defer {
            _ = try? database.admin.query("DROP DATABASE IF EXISTS \(TestPostgres.quoted(database.name)) WITH (FORCE)")
        }
        let session = try PostgresSession(
            target: Target(name: "control", environment: "", connection: .url(database.url)), timeouts: .standard,
            logger: .silent)
        defer { session.close() }
        // Version 5 as a version-5 Tidemark left it, with a run of its own.
        try session.execute("CREATE SCHEMA tidemark_control")
        try session.execute(
            "CREATE TABLE tidemark_control.schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL)"
        )
        for version in 1...5 {
            try session.execute(ControlSchema.migrations[version - 1])
            try session.query(
                "INSERT INTO tidemark_control.schema_version (version, applied_by) VALUES ($1, 'v5')", [String(version)]
            )
        }
        try session.query(
            """
            INSERT INTO tidemark_control.runs (run_id, run_key, inventory, plan, selection, strategy, scripts, created_by)
            VALUES ('old', 'k', 'fleet', 'app', 'env=all target=all', 'auto', '{}', 'v5')
            """)

        let store = try ControlStore(database: ControlDatabase(url: database.url), appliedBy: "v6", logger: .silent)
        defer { store.close() }
        #expect(
            try session.query("SELECT max(version) FROM tidemark_control.schema_version").first?.first
                == String(ControlSchema.currentVersion))
        #expect(try store.run("old")?.inventory == "fleet")
        #expect(try store.storedFleet("old") == nil)
    }
}
