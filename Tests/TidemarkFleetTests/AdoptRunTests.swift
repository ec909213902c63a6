import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkFleet
import TidemarkTestSupport

/// `AdoptRun`'s decisions with the in-memory backend: two tools on one target, a held lock, a
/// Flyway fold, the fold into `TargetState`, and where the report goes. The real tools' tables
/// on real databases are in the CLI's AdoptCommandTests.
@Suite struct AdoptRunTests {
    let files: TestWorkspace
    let store = MemoryStore()
    var registry: BackendRegistry { BackendRegistry([MemoryBackend(store: store)]) }
    var state: StateDirectory { StateDirectory(root: files.root.appendingPathComponent(".tidemark")) }

    init() throws {
        files = try TestWorkspace(
            prefix: "tidemark-adopt-run",
            scripts: [
                "V1__users.sql": "CREATE TABLE users (id INTEGER)", "U1__users.sql": "DROP TABLE users",
                "V2__orders.sql": "CREATE TABLE orders (id INTEGER)", "U2__orders.sql": "DROP TABLE orders",
                "V3__items.sql": "CREATE TABLE items (id INTEGER)", "U3__items.sql": "DROP TABLE items",
            ]
        ) { id in
            """
            inventory: fleet
            plan: ../plans/app
            concurrency: 4
            environments:
              dev: { tier: dev, targets: [ { name: "dev-{1..4}", url: "memory:\(id)-dev-{1..4}" } ] }
              prod: { tier: prod, targets: [ { name: prod-1, url: "memory:\(id)-prod-1" } ] }
            """
        }
    }

    func target(_ name: String) -> Target {
        Target(
            name: name, environment: name.hasPrefix("dev") ? "dev" : "prod",
            connection: .url("memory:\(files.id)-\(name)"))
    }

    func request(_ targets: [String], source: AdoptRequest.Source = .auto, dryRun: Bool = false) -> AdoptRequest {
        var request = AdoptRequest(
            inventoryFile: files.inventory, selection: TargetSelection(targets: targets), source: source,
            dryRun: dryRun,
            confirmation: .unavailable, runID: "adopt-run-test", appliedBy: "test@host")
        request.stateDirectory = state
        request.lockWait = .milliseconds(50)
        return request
    }

    func flywayRow(_ rank: Int, _ version: String, _ script: String) throws -> [String?] {
        let checksum = try FlywayChecksumOracle.checksum(of: files.planDirectory.appendingPathComponent(script))
        return [String(rank), version, script, "SQL", script, String(checksum), "true"]
    }

    static let flywayColumns = ForeignTool.flyway.historyTable.columns

    @Test func twoToolsOnOneTargetAreRefusedNamingBoth() async throws {
        try store.seed(
            target("dev-1"), schema: MemorySchema(tables: ["users": MemoryTable(name: "users", columns: ["id"])]))
        try store.setForeignTable(
            "schema_migrations", columns: ["version", "dirty"], rows: [["1", "f"]], for: target("dev-1"))
        try store.setForeignTable(
            "flyway_schema_history", columns: Self.flywayColumns, rows: [try flywayRow(1, "1", "V1__users.sql")],
            for: target("dev-1"))
        let report = try await AdoptRun(registry: registry, logger: .silent).run(request(["dev-1"]))
        #expect(report.targets.map(\.outcome) == [.refused])
        #expect(report.targets.first?.refusal == "two-tools")
        #expect(
            report.targets.first?.reason?.contains(
                "flyway (flyway_schema_history) and golang-migrate (schema_migrations)") == true)
        #expect(report.status == .refused)
        // --from chooses one.
        let chosen = try await AdoptRun(registry: registry, logger: .silent).run(
            request(["dev-1"], source: .tool(.golangMigrate)))
        #expect(chosen.targets.first?.outcome == .adopted && chosen.targets.first?.source == "golang-migrate")
        #expect(store.foreignRows(of: "schema_migrations", in: target("dev-1")) == [["1", "f"]])
    }

    @Test func adoptedVersionsFoldIntoTheTargetStateAsApplied() async throws {
        try store.setForeignTable(
            "flyway_schema_history", columns: Self.flywayColumns,
            rows: [try flywayRow(1, "1", "V1__users.sql"), try flywayRow(2, "2", "V2__orders.sql")],
            for: target("dev-2"))
        let report = try await AdoptRun(registry: registry, logger: .silent).run(request(["dev-2"]))
        #expect(report.status == .succeeded)
        #expect(report.targets.first?.versions.map(\.version) == ["1", "2"])
        let state = TargetState(history: store.history(of: target("dev-2")))
        #expect(state.applied.map { "\($0.kind.rawValue) \($0.version)" } == ["baseline 1", "baseline 2"])
        #expect(
            store.history(of: target("dev-2")).allSatisfy {
                $0.description == "adopted from flyway" && $0.appliedBy == "test@host"
            })
        let path = try #require(report.reportPath)
        let written =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        #expect(written?["schema"] as? String == "tidemark.adopt/v1")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aTargetWhoseLockIsHeldIsLeftAlone() async throws {
        try store.setForeignTable(
            "schema_migrations", columns: ["version", "dirty"], rows: [["2", "f"]], for: target("dev-3"))
        let holder = try MemoryBackend(store: store).connect(to: target("dev-3"), timeouts: .standard, logger: .silent)
        defer { holder.close() }
        #expect(try holder.tryLock(timeout: .seconds(1)))
        let report = try await AdoptRun(registry: registry, logger: .silent).run(request(["dev-3"]))
        #expect(report.targets.first?.outcome == .locked)
        #expect(report.status == .locked)
        #expect(store.history(of: target("dev-3")).isEmpty)
    }

    @Test func dryRunAndProdConfirmationWriteNothing() async throws {
        try store.setForeignTable(
            "schema_migrations", columns: ["version", "dirty"], rows: [["3", "f"]], for: target("prod-1"))
        let dry = try await AdoptRun(registry: registry, logger: .silent).run(request(["prod-1"], dryRun: true))
        #expect(dry.targets.first?.outcome == .wouldAdopt && dry.reportPath == nil)
        await #expect(throws: FleetError.self) {
            _ = try await AdoptRun(registry: registry, logger: .silent).run(request(["prod-1"]))
        }
        #expect(store.history(of: target("prod-1")).isEmpty)
    }

    @Test func aBaselineThePlanLacksIsAnInputError() async throws {
        var above = request(["dev-4"])
        above.baseline = "4"
        await #expect(throws: FleetError.self) {
            _ = try await AdoptRun(registry: registry, logger: .silent).run(above)
        }
        let missing = try await AdoptRun(registry: registry, logger: .silent).run(request(["dev-4"]))
        #expect(missing.targets.first?.refusal == "database-missing")
        try store.seed(
            target("dev-4"), schema: MemorySchema(tables: ["users": MemoryTable(name: "users", columns: ["id"])]))
        var known = request(["dev-4"])
        known.baseline = "2"
        let report = try await AdoptRun(registry: registry, logger: .silent).run(known)
        #expect(report.targets.first?.versions.map(\.evidence) == ["baseline", "baseline"])
        #expect(
            store.history(of: target("dev-4")).map(\.description) == ["baseline --baseline 2", "baseline --baseline 2"])
    }
}

/// Flyway's checksum of a plan file (TidemarkFiles' implementation, checked against Flyway's
/// own output in FlywayChecksumTests).
enum FlywayChecksumOracle {
    static func checksum(of file: URL) throws -> Int32 {
        try FlywayChecksum.ofFile(atPath: file.path)
    }
}
