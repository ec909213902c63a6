import Testing
import TidemarkCore

/// `ForeignHistory`: what another tool's history table says is in effect (docs/adopting.md).
@Suite struct ForeignHistoryTests {
    let plan = ["1", "2", "3", "4", "5"].compactMap { Version(numeric: $0) }

    func versions(_ history: ForeignHistory) -> [String] {
        history.inEffect.map { "\($0.version) \($0.evidence.rawValue)" }
    }

    /// A Flyway row: installed_rank, version, description, type, script, checksum, success.
    func flyway(
        _ rank: Int, _ version: String?, _ type: String, _ script: String, _ checksum: Int32? = nil,
        success: String = "t"
    ) -> [String?] {
        [String(rank), version, script, type, script, checksum.map(String.init), success]
    }

    @Test func golangMigrateLatestVersionPutsEveryEarlierPlanVersionInEffect() {
        let history = ForeignHistory.read(.golangMigrate, rows: [["3", "f"]], planVersions: plan)
        #expect(history.problem == nil)
        #expect(versions(history) == ["1 below-latest", "2 below-latest", "3 recorded"])
    }

    @Test func golangMigrateDirtyIsAProblemOnBothDatabases() {
        #expect(
            ForeignHistory.read(.golangMigrate, rows: [["4", "t"]], planVersions: plan).problem == .dirty(version: "4"))
        // SQLite's golang-migrate driver stores the bool as 1.
        #expect(
            ForeignHistory.read(.golangMigrate, rows: [["4", "1"]], planVersions: plan).problem == .dirty(version: "4"))
        #expect(ForeignHistory.read(.golangMigrate, rows: [], planVersions: plan).inEffect.isEmpty)
    }

    @Test func dieselRowsAreTheVersionsInEffect() {
        let history = ForeignHistory.read(
            .diesel, rows: [["20190227170003", "2019-02-27 17:00:03"], ["00000000000000", nil]], planVersions: [])
        #expect(versions(history) == ["00000000000000 recorded", "20190227170003 recorded"])
        #expect(ForeignHistory.read(.diesel, rows: [[nil, nil]], planVersions: []).problem != nil)
    }

    @Test func flywayFoldsUndoDeleteBaselineAndRepeatableRows() {
        let rows = [
            flyway(1, "2", "BASELINE", "<< Flyway Baseline >>"),
            flyway(2, "3", "SQL", "V3__three.sql", -722_651_034),
            flyway(3, nil, "SQL", "R__views.sql", 17),
            flyway(4, "4", "SQL", "V4__four.sql", 4),
            flyway(5, "4", "UNDO_SQL", "U4__four.sql", 5),
            flyway(6, "5", "JDBC", "db.migration.V5__five", nil),
        ]
        let history = ForeignHistory.read(.flyway, rows: rows.reversed(), planVersions: plan)
        #expect(history.problem == nil)
        #expect(history.baseline == "2")
        #expect(versions(history) == ["1 below-baseline", "2 below-baseline", "3 recorded", "5 recorded"])
        #expect(history.inEffect.first { $0.version == "3" }?.checksum == -722_651_034)
        #expect(history.inEffect.first { $0.version == "5" }?.checksum == nil)
        #expect(history.notes.count == 3)
        #expect(history.notes.contains { $0.contains("R__views.sql") })
    }

    @Test func flywayFailedRowIsAProblem() {
        let rows = [flyway(1, "1", "SQL", "V1__one.sql", 1), flyway(2, "2", "SQL", "V2__two.sql", 2, success: "f")]
        #expect(
            ForeignHistory.read(.flyway, rows: rows, planVersions: plan).problem
                == .failed(version: "2", script: "V2__two.sql"))
    }

    @Test func fingerprintWithoutAForeignTableDropsItsLines() {
        var builder = SchemaFingerprintBuilder()
        builder.table("person", columns: [(name: "id", definition: "integer")])
        builder.table(
            "schema_migrations",
            columns: [(name: "version", definition: "bigint"), (name: "dirty", definition: "boolean")])
        builder.add("constraint", "schema_migrations.schema_migrations_pkey", "PRIMARY KEY (version)")
        builder.add("index", "schema_migrations_extra.x", "")
        var expected = SchemaFingerprintBuilder()
        expected.table("person", columns: [(name: "id", definition: "integer")])
        expected.add("index", "schema_migrations_extra.x", "")
        #expect(builder.fingerprint.excludingTable("schema_migrations") == expected.fingerprint)
    }
}

/// Sqitch's registry `changes`, as `sqitch deploy` filled it (rows read from a real registry).
@Suite struct SqitchRegistryTests {
    @Test func changesAreInEffectInDeployOrderWithTheirHashes() {
        let rows: [[String?]] = [
            ["9c3f", "flips", "flipr", "2026-11-29 19:56:13.100", "aa11"],
            [
                "e350b6d59f0f07f9462c4eb5ec4ce615a87ac4f0", "users", "flipr", "2026-11-29 19:56:12.897",
                "b5c0b2f29554b2a5e7d53b9fd63010d89e03777b",
            ],
        ]
        let history = ForeignHistory.read(.sqitch, rows: rows, planVersions: [])
        #expect(history.problem == nil)
        #expect(history.inEffect.map(\.script) == ["users", "flips"])
        #expect(history.inEffect.first?.scriptHash == "b5c0b2f29554b2a5e7d53b9fd63010d89e03777b")
        #expect(history.inEffect.allSatisfy { $0.project == "flipr" })
        #expect(ForeignHistory.read(.sqitch, rows: [[nil, "x", "p", nil, nil]], planVersions: []).problem != nil)
    }
}
