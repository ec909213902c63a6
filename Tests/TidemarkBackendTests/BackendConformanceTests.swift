import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// The backends the conformance suite runs against.
enum ConformanceFixtures {
    /// Every backend under test. Adding a backend is one line here.
    static let all: [any BackendFixture] = {
        var fixtures: [any BackendFixture] = [SQLiteFixture(), MemoryFixture()]
        // ▶ One line per backend. PostgreSQL joins only when TestPostgres.url is set.
        if let postgres = PostgresFixture() {
            fixtures.append(postgres)
        } else {
            // Said once per test process: the static is initialised once.
            FileHandle.standardError.write(Data((postgresSkippedMessage + "\n").utf8))
        }
        // MariaDB joins when TestMariaDB.url is set; under TIDEMARK_REQUIRE_MARIADB its absence
        // fails `mariadbRunsConformance` below.
        if let mariadb = MariaDBFixture() {
            fixtures.append(mariadb)
        } else {
            FileHandle.standardError.write(Data((TestMariaDB.skipReason + "\n").utf8))
        }
        return fixtures
    }()

    static let postgresSkippedMessage =
        "warning: TIDEMARK_TEST_POSTGRES_URL not set: PostgreSQL conformance skipped; run scripts/with-postgres swift test"

    /// Every backend crossed with every check, one test case each.
    static let cases: [ConformanceCase] = all.flatMap { fixture in
        BackendConformance.allChecks.map { ConformanceCase(fixture: fixture, check: $0) }
    }
}

/// One backend and one check: the test case name says both (`sqlite: lockIsExclusiveAcrossConnections`).
struct ConformanceCase: Sendable, CustomTestStringConvertible {
    let fixture: any BackendFixture
    let check: ConformanceCheck

    var testDescription: String { "\(fixture.description): \(check.name)" }
}

@Suite("Backend conformance")
struct BackendConformanceTests {
    @Test("Every backend passes every conformance check", arguments: ConformanceFixtures.cases)
    func backendPassesCheck(_ conformanceCase: ConformanceCase) throws {
        try conformanceCase.check.run(conformanceCase.fixture)
    }

    // Without TIDEMARK_TEST_POSTGRES_URL this test is skipped (and the warning above printed).
    // With it, PostgreSQL must be among the backends of `backendPassesCheck`, every check with it,
    // and its fixture must reach the server: otherwise this fails.
    @Test(
        "PostgreSQL backend runs the conformance suite",
        .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func postgresRunsConformance() throws {
        let postgres = try #require(
            ConformanceFixtures.all.first { $0.backend.kind == .postgres },
            "TIDEMARK_TEST_POSTGRES_URL is set but no PostgreSQL fixture runs the conformance checks")
        let checks = ConformanceFixtures.cases.filter { $0.fixture.backend.kind == .postgres }.map(\.check.name)
        #expect(checks == BackendConformance.allChecks.map(\.name))
        let target = try postgres.makeTarget(name: "registered")
        #expect(try !postgres.tableExists("tidemark_history", in: target), "a fresh target's schema is empty")
    }

    // Skipped without a MariaDB server unless scripts/test requires one (then its absence fails).
    @Test(
        "MariaDB backend runs the conformance suite",
        .enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
    func mariadbRunsConformance() throws {
        _ = try TestMariaDB.requireURL()
        let mariadb = try #require(
            ConformanceFixtures.all.first { $0.backend.kind == .mysql },
            "TIDEMARK_TEST_MARIADB_URL is set but no MariaDB fixture runs the conformance checks")
        let checks = ConformanceFixtures.cases.filter { $0.fixture.backend.kind == .mysql }.map(\.check.name)
        #expect(checks == BackendConformance.allChecks.map(\.name))
        let target = try mariadb.makeTarget(name: "registered")
        #expect(try !mariadb.tableExists("tidemark_history", in: target), "a fresh target's database is empty")
    }

    @Test("Every check is listed once in allChecks")
    func checksAreUnique() {
        let names = BackendConformance.allChecks.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.count >= 15)
    }
}
