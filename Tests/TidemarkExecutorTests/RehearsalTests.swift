import Logging
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkTestSupport

/// `Rehearsal` on the in-memory backend: every verdict, rebuilds after a failure, stop or go on.
@Suite struct RehearsalTests {

    /// A plan from (forward, undo) pairs; versions 1, 2, ….
    static func plan(_ scripts: [(String, String?)]) -> Plan {
        Plan(
            name: "fixture", directory: "plans/fixture", format: .golangMigrate,
            migrations: scripts.enumerated().compactMap { index, pair in
                guard let version = Version(numeric: String(index + 1)) else { return nil }
                return Migration(
                    version: version, description: "v\(index + 1)",
                    forward: Script(path: "\(index + 1)_v.up.sql", sql: pair.0, checksum: "f\(index + 1)"),
                    undo: pair.1.map { Script(path: "\(index + 1)_v.down.sql", sql: $0, checksum: "u\(index + 1)") })
            })
    }

    static func rehearse(_ plan: Plan, keepGoing: Bool = false) throws -> RehearsalReport {
        try Rehearsal(plan: plan, scratch: MemoryScratchProvider(), logger: .silent, keepGoing: keepGoing).run()
    }

    @Test func undoThatForgetsAnIndexIsCaughtAndNamed() throws {
        let report = try Self.rehearse(
            Self.plan([
                ("CREATE TABLE accounts (id integer, email text)", "DROP TABLE accounts"),
                ("CREATE INDEX accounts_email ON accounts (email)", "SELECT 1"),
            ]))
        #expect(report.results.map(\.verdict) == [.ok, .undoDoesNotRestore])
        let diff = try #require(report.results.last?.diff)
        #expect(diff.unexpected.contains { $0.contains("accounts_email") }, "\(diff.lines)")
        #expect(diff.missing.isEmpty)
        #expect(!report.passed)
    }

    @Test func undoThatReaddsAColumnLastIsColumnOrder() throws {
        let report = try Self.rehearse(
            Self.plan([
                ("CREATE TABLE orders (id integer, total integer, note text)", "DROP TABLE orders"),
                ("ALTER TABLE orders DROP COLUMN total", "ALTER TABLE orders ADD COLUMN total integer"),
            ]))
        #expect(report.results.map(\.verdict) == [.ok, .columnOrder])
        #expect(report.passed)
        #expect(report.fingerprints.count == 2)
    }

    @Test func failedVersionStopsTheRehearsalUnlessKeepGoing() throws {
        let plan = Self.plan([
            ("CREATE TABLE a (id integer)", "SELECT 1"),
            ("CREATE TABLE b (id integer)", "DROP TABLE b"),
        ])
        let stopped = try Self.rehearse(plan)
        #expect(stopped.results.map(\.verdict) == [.undoDoesNotRestore, .notRun])
        #expect(stopped.rebuilds == 0)

        // Going on: version 2 starts from a rebuilt database holding exactly version 1, so the
        // undo of 1 that left table a behind does not make version 2 fail too.
        let goingOn = try Self.rehearse(plan, keepGoing: true)
        #expect(goingOn.results.map(\.verdict) == [.undoDoesNotRestore, .ok])
        #expect(goingOn.rebuilds == 1)
    }

    @Test func undoThatFailsAndForwardThatFailsAreReported() throws {
        let report = try Self.rehearse(
            Self.plan([
                ("CREATE TABLE a (id integer)", "DROP TABLE missing"),
                ("CREATE TABLE b (id integer)", "DROP TABLE b"),
                ("CREATE TABLE a (id integer)", "DROP TABLE a"),
                ("CREATE TABLE c (id integer)", "DROP TABLE c"),
            ]), keepGoing: true)
        #expect(report.results.map(\.verdict) == [.undoFails, .ok, .forwardFails, .notRun])
        #expect(report.results[0].error?.contains("missing") == true)
        #expect(report.results[3].error?.contains("version 3 failed forward") == true)
    }

    @Test func undoThatLeavesATableBehindIsReportedBeforeTheReapplyFails() throws {
        // The forward's CREATE would fail on the leftover table: the undo is reported, as that
        // is the defect, and the failing re-apply is not attempted.
        let leavesTable = try Self.rehearse(Self.plan([("CREATE TABLE a (id integer)", "SELECT 1")]))
        #expect(leavesTable.results.map(\.verdict) == [.undoDoesNotRestore])

        let report = try Self.rehearse(
            Self.plan([
                ("CREATE TABLE a (id integer)", "DROP TABLE a"),
                ("CREATE TABLE marker (id integer); DROP TABLE marker; SELECT * FROM b", "SELECT 1"),
            ]))
        #expect(report.results.map(\.verdict) == [.ok, .forwardFails])
    }

    @Test func missingAndIrreversibleUndoAreSaidButDoNotFail() throws {
        var plan = Self.plan([
            ("CREATE TABLE a (id integer)", nil),
            ("CREATE TABLE b (id integer)", "DROP TABLE b"),
        ])
        plan.migrations[1].undo?.irreversible = "data is gone"
        let report = try Self.rehearse(plan)
        #expect(report.results.map(\.verdict) == [.noUndo, .irreversible])
        #expect(report.results[1].error == "data is gone")
        #expect(report.passed)
    }

    @Test func fingerprintDiffNamesMissingAndUnexpectedLines() {
        let expected = SchemaFingerprint(lines: ["table t", "column t.a: int", "column-order t: a"])
        let found = SchemaFingerprint(lines: ["table t", "column t.b: int", "column-order t: b"])
        guard case .different(let diff) = found.compare(to: expected) else {
            Issue.record("expected a structural difference")
            return
        }
        #expect(diff.lines == ["- column t.a: int", "+ column t.b: int"])
        #expect(diff.summary(limit: 1) == "- column t.a: int; … 1 more")
    }

    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256Hex.digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Hex.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256Hex.digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256Hex.digest(String(repeating: "a", count: 1_000)).count == 64)
    }
}
