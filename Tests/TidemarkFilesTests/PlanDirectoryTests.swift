import Foundation
import Testing
import TidemarkCore
import TidemarkFiles

/// The problems `PlanDirectory.load` reports for `path`, one rendered line each; fails if it loads.
func planProblems(at path: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String] {
    do {
        let plan = try PlanDirectory.load(at: path)
        Issue.record(
            "expected problems, but \(path) loaded with \(plan.migrations.count) versions",
            sourceLocation: sourceLocation)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

@Suite("Plan formats")
struct PlanFormatTests {
    @Test func flywayPlanLoadsVersionsInNumericOrderWithUndoScripts() throws {
        let path = TestPaths.plan("flyway")
        let plan = try PlanDirectory.load(at: path)
        #expect(plan.format == .flyway)
        #expect(plan.name == "flyway")
        #expect(plan.directory == path)
        #expect(plan.migrations.map(\.version.text) == ["1", "1.2", "1.2.9", "1.2.10", "2"])
        let first = try #require(plan.migrations.first)
        #expect(first.description == "create users")
        #expect(first.forward.path == "V1__create_users.sql")
        #expect(first.forward.sql == "CREATE TABLE users (id integer PRIMARY KEY);\n")
        #expect(first.undo?.path == "U1__create_users.sql")
        #expect(first.forward.isTransactional)
        #expect(plan.migrations.map { $0.undo != nil } == [true, true, false, true, false])
        #expect(plan.quarantine.isEmpty)
    }

    @Test func dottedVersion1_2_10SortsAfter1_2_9() throws {
        let plan = try PlanDirectory.load(at: TestPaths.plan("flyway"))
        let nine = try #require(plan.migrations.firstIndex { $0.version.text == "1.2.9" })
        let ten = try #require(plan.migrations.firstIndex { $0.version.text == "1.2.10" })
        #expect(nine < ten)
        #expect(plan.latestUsableVersion?.text == "2")
    }

    @Test func golangMigratePlanPairsUpAndDownScripts() throws {
        let plan = try PlanDirectory.load(at: TestPaths.plan("golang-migrate"))
        #expect(plan.format == .golangMigrate)
        #expect(plan.migrations.map(\.version.text) == ["0001", "0002", "0010"])
        #expect(plan.migrations.map(\.description) == ["create users", "create posts", "add body"])
        #expect(plan.migrations[0].forward.path == "0001_create_users.up.sql")
        #expect(plan.migrations[0].undo?.path == "0001_create_users.down.sql")
        #expect(plan.migrations[2].undo == nil)
    }

    @Test func dieselPlanOrdersAsDieselDoesAndReadsMetadata() throws {
        let plan = try PlanDirectory.load(at: TestPaths.plan("diesel"))
        #expect(plan.format == .diesel)
        #expect(plan.versionStyle == .diesel)
        // Diesel compares the version with dashes removed, as text: 20190226002946 < 20190301000000.
        #expect(
            plan.migrations.map(\.version.text) == [
                "00000000000000", "2019-02-26-002946", "20190301000000", "2020-01-01-000000",
            ])
        #expect(plan.migrations[1].description == "create users")
        #expect(plan.migrations[1].forward.path == "2019-02-26-002946_create_users/up.sql")
        #expect(plan.migrations[1].undo?.path == "2019-02-26-002946_create_users/down.sql")
        // PL/pgSQL BEGIN … END inside $$ is not a transaction of its own.
        #expect(plan.migrations[0].forward.noTransaction == nil)
        let concurrent = plan.migrations[3]
        #expect(concurrent.forward.noTransaction == .dieselMetadata)
        #expect(concurrent.undo?.noTransaction == .dieselMetadata)
    }

    @Test func flywayUnderscoresInTheVersionAreDots() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write("SELECT 1;\n", to: "V1_1__split_name.sql", in: directory)
        try TestPaths.write("SELECT 1;\n", to: "U1_1__split_name.sql", in: directory)
        try TestPaths.write("SELECT 1;\n", to: "V1__first.sql", in: directory)
        let plan = try PlanDirectory.load(at: directory)
        #expect(plan.migrations.map(\.version.text) == ["1", "1.1"])
        #expect(plan.migrations[1].description == "split name")
        #expect(plan.migrations[1].undo?.path == "U1_1__split_name.sql")
    }

    @Test func planNameComesFromPlanYamlOrTheDirectoryName() throws {
        #expect(try PlanDirectory.load(at: TestPaths.plan("directives")).name == "orders")
        #expect(try PlanDirectory.load(at: TestPaths.plan("golang-migrate")).name == "golang-migrate")
        #expect(try PlanDirectory.load(at: TestPaths.plan("golang-migrate") + "/").name == "golang-migrate")
    }
}

@Suite("Plan checksums")
struct PlanChecksumTests {
    @Test func checksumIsSHA256HexOfTheBytes() {
        #expect(Checksum.sha256(of: Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            Checksum.sha256(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func crlfAndLfScriptsHaveTheSameChecksum() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write(
            "CREATE TABLE a (id int);\r\nCREATE TABLE b (id int);\r\n", to: "V1__crlf.sql", in: directory)
        try TestPaths.write("CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n", to: "V2__lf.sql", in: directory)
        let plan = try PlanDirectory.load(at: directory)
        #expect(plan.migrations[0].forward.checksum == plan.migrations[1].forward.checksum)
        #expect(
            plan.migrations[1].forward.checksum
                == Checksum.sha256(of: Data("CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n".utf8)))
        // A lone CR is content, not a line ending.
        #expect(Checksum.sha256(of: Data("a\rb".utf8)) != Checksum.sha256(of: Data("ab".utf8)))
        #expect(Checksum.sha256(of: Data("a\r".utf8)) != Checksum.sha256(of: Data("a".utf8)))
    }

    /// Acknowledging a risk in a script some targets already ran must not change its checksum
    /// for them; directives that change how a script runs do change it.
    @Test func acknowledgementLinesAreLeftOutOfTheChecksumAndTheWholeFileFormIsKept() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        let body = "ALTER TABLE orders DROP COLUMN total;\n"
        let acknowledged =
            "-- tidemark:lock-ok orders is tiny\r\n-- a note\n-- tidemark:data-loss-ok unused since 2023\n"
        try TestPaths.write(body, to: "V1__plain.sql", in: directory)
        try TestPaths.write(acknowledged + body, to: "V2__acknowledged.sql", in: directory)
        try TestPaths.write("-- tidemark:no-transaction\n" + body, to: "V3__no_transaction.sql", in: directory)
        try TestPaths.write("-- a note\n" + body, to: "V4__noted.sql", in: directory)
        let plan = try PlanDirectory.load(at: directory)
        let (plain, withAcknowledgements, noTransaction, noted) = (
            plan.migrations[0].forward, plan.migrations[1].forward, plan.migrations[2].forward,
            plan.migrations[3].forward
        )
        #expect(plain.wholeFileChecksum == nil)
        #expect(withAcknowledgements.checksum == noted.checksum, "only the two acknowledgement lines are left out")
        #expect(withAcknowledgements.checksum != plain.checksum, "the ordinary comment stays in")
        #expect(withAcknowledgements.wholeFileChecksum == Checksum.sha256(of: Data((acknowledged + body).utf8)))
        #expect(withAcknowledgements.matches(recordedChecksum: noted.checksum))
        #expect(withAcknowledgements.matches(recordedChecksum: Checksum.sha256(of: Data((acknowledged + body).utf8))))
        #expect(!withAcknowledgements.matches(recordedChecksum: plain.checksum))
        #expect(noTransaction.checksum != plain.checksum, "no-transaction changes how the script runs")
        #expect(noTransaction.wholeFileChecksum == nil)
    }
}

/// Files saved with Windows line endings read as the same lines (found while profiling the
/// plan fuzz target: Swift reads `\r\n` as one `Character`, so splitting at "\n" made a CRLF
/// file one long line).
@Suite("Windows line endings")
struct WindowsLineEndingTests {
    @Test func crlfScriptKeepsItsDirectives() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write(
            "-- tidemark:no-transaction\r\n-- tidemark:data-loss-ok the column was never read\r\nALTER TABLE t DROP COLUMN c;\r\n",
            to: "V1__drop_c.sql", in: directory)
        let script = try PlanDirectory.load(at: directory).migrations[0].forward
        #expect(script.noTransaction == .directive)
        #expect(script.dataLossAcknowledged == "the column was never read")
    }

    @Test func crlfScriptReportsADirectiveErrorOnItsOwnLine() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write(
            "-- a comment\r\n-- tidemark:no-transaction now\r\nSELECT 1;\r\n", to: "V1__a.sql", in: directory)
        #expect(
            planProblems(at: directory) == [
                "\(directory)/V1__a.sql:2:4: tidemark:no-transaction takes no arguments; remove 'now'."
            ])
    }

    @Test func crlfDieselMetadataReadsEveryLine() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        let migration = "2019-02-26-002946_add_index"
        try TestPaths.write("CREATE INDEX CONCURRENTLY i ON t (a);\r\n", to: "\(migration)/up.sql", in: directory)
        try TestPaths.write("DROP INDEX CONCURRENTLY i;\r\n", to: "\(migration)/down.sql", in: directory)
        try TestPaths.write(
            "# CONCURRENTLY cannot run in a transaction\r\nrun_in_transaction = false\r\n",
            to: "\(migration)/metadata.toml", in: directory)
        let forward = try PlanDirectory.load(at: directory).migrations[0].forward
        #expect(forward.noTransaction == .dieselMetadata)
    }

    @Test func crlfDieselMetadataErrorNamesItsLineAndColumn() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        let migration = "2019-02-26-002946_add_index"
        try TestPaths.write("SELECT 1;\r\n", to: "\(migration)/up.sql", in: directory)
        try TestPaths.write(
            "# a comment\r\nrun_in_transaction = maybe\r\n", to: "\(migration)/metadata.toml", in: directory)
        #expect(
            planProblems(at: directory) == [
                "\(directory)/\(migration)/metadata.toml:2:22: run_in_transaction must be true or false, not 'maybe'."
            ])
    }
}

@Suite("Plan directives")
struct PlanDirectiveTests {
    let plan: Plan

    init() throws {
        plan = try PlanDirectory.load(at: TestPaths.plan("directives"))
    }

    @Test func noTransactionDirectiveInTheLeadingCommentBlock() {
        #expect(plan.migrations[1].forward.noTransaction == .directive)
        #expect(!plan.migrations[1].forward.isTransactional)
    }

    @Test func irreversibleDirectiveInAnUndoScriptKeepsItsReason() {
        #expect(plan.migrations[1].undo?.irreversible == "PostgreSQL cannot drop an enum value; restore from backup")
    }

    @Test func dataLossOkDirectiveKeepsItsReasonInForwardAndUndoScripts() {
        #expect(plan.migrations[0].undo?.dataLossAcknowledged == "orders are re-imported from the ledger")
        #expect(plan.migrations[2].forward.dataLossAcknowledged == "status is unused since 2023")
    }

    @Test func compensatesDirectiveNamesTheEarlierVersion() {
        #expect(plan.migrations[3].compensates?.text == "3")
        #expect(plan.migrations[3].forward.compensates == Version(numeric: "3"))
    }

    @Test func directiveBelowTheFirstStatementIsIgnored() {
        #expect(plan.migrations[3].forward.noTransaction == nil)
    }

    @Test func quarantineListIsReadFromPlanYaml() throws {
        #expect(
            plan.quarantine == [
                QuarantineEntry(
                    version: try #require(Version(numeric: "3")),
                    reason: "drops the status column that billing still reads", at: "2025-03-01T09:30:00Z")
            ])
        #expect(plan.isQuarantined(plan.migrations[2].version))
        #expect(plan.latestUsableVersion?.text == "4")
    }

    @Test func noticesListUndoGapsTransactionsDirectivesAndQuarantine() throws {
        let golang = try PlanDirectory.load(at: TestPaths.plan("golang-migrate"))
        #expect(
            PlanDirectory.notices(for: golang) == [
                "version 0010 (0010_add_body.up.sql) has no undo script; rolling it back will be blocked."
            ])
        #expect(
            PlanDirectory.notices(for: plan) == [
                "U1__create_orders.sql loses data (acknowledged: orders are re-imported from the ledger).",
                "V2__add_status_value.sql runs outside a transaction: marked -- tidemark:no-transaction.",
                "version 2 is irreversible (PostgreSQL cannot drop an enum value; restore from backup); rolling it back needs a restore from backup.",
                "V3__drop_status.sql loses data (acknowledged: status is unused since 2023).",
                "version 4 compensates version 3 (rolls it forward).",
                "version 3 is quarantined since 2025-03-01T09:30:00Z: drops the status column that billing still reads.",
            ])
    }
}

@Suite("Transaction detection")
struct TransactionDetectionTests {
    let plan: Plan

    init() throws {
        plan = try PlanDirectory.load(at: TestPaths.plan("detection"))
    }

    func reason(_ version: String) -> NoTransactionReason? {
        plan.migrations.first { $0.version.text == version }?.forward.noTransaction
    }

    @Test func sqitchStyleBeginCommitManagesItsOwnTransaction() {
        #expect(reason("1") == .managesOwnTransaction(statement: "BEGIN at line 3"))
        #expect(reason("5") == .managesOwnTransaction(statement: "START TRANSACTION at line 1"))
    }

    @Test func createIndexConcurrentlyIsRefusedInATransaction() {
        #expect(reason("2") == .refusedInTransaction(statement: "CREATE INDEX CONCURRENTLY at line 3"))
        #expect(reason("4") == .refusedInTransaction(statement: "CREATE UNIQUE INDEX CONCURRENTLY at line 1"))
        #expect(reason("6") == .refusedInTransaction(statement: "VACUUM at line 2"))
        #expect(reason("8") == .refusedInTransaction(statement: "ALTER DATABASE SET TABLESPACE at line 1"))
    }

    @Test func plpgsqlBodiesDoBlocksAndBeginAtomicAreNotDetected() {
        #expect(reason("3") == nil)
    }

    @Test func explicitDirectiveWinsOverDetection() {
        #expect(reason("7") == .directive)
    }

    @Test func noticesExplainWhyEachScriptRunsAsWritten() {
        let notices = PlanDirectory.notices(for: plan)
        #expect(
            notices.contains(
                "V1__sqitch_style.sql runs outside a transaction: manages its own transaction (BEGIN at line 3); runs as written."
            ))
        #expect(
            notices.contains(
                "V2__concurrent_index.sql runs outside a transaction: holds CREATE INDEX CONCURRENTLY at line 3, which PostgreSQL refuses inside a transaction block; runs as written."
            ))
    }

    @Test func otherStatementsPostgresRefusesInATransactionBlock() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        let cases: [(String, String?)] = [
            ("DROP INDEX CONCURRENTLY IF EXISTS a;", "refused:DROP INDEX CONCURRENTLY at line 1"),
            ("REINDEX (VERBOSE) TABLE CONCURRENTLY a;", "refused:REINDEX CONCURRENTLY at line 1"),
            ("REINDEX SCHEMA app;", "refused:REINDEX SCHEMA at line 1"),
            ("REINDEX TABLE a;", nil),
            ("REINDEX TABLE database.a;", nil),
            ("REINDEX (VERBOSE) DATABASE app;", "refused:REINDEX DATABASE at line 1"),
            ("CREATE DATABASE x;", "refused:CREATE DATABASE at line 1"),
            ("DROP DATABASE x;", "refused:DROP DATABASE at line 1"),
            ("CREATE TABLESPACE t LOCATION '/x';", "refused:CREATE TABLESPACE at line 1"),
            ("DROP TABLESPACE t;", "refused:DROP TABLESPACE at line 1"),
            ("ALTER SYSTEM SET work_mem = '64MB';", "refused:ALTER SYSTEM at line 1"),
            ("ALTER DATABASE app SET work_mem = '64MB';", nil),
            ("CREATE SUBSCRIPTION s CONNECTION 'host=a' PUBLICATION p;", "refused:CREATE SUBSCRIPTION at line 1"),
            ("CREATE SUBSCRIPTION s CONNECTION 'host=a' PUBLICATION p WITH (create_slot = false);", nil),
            ("DROP SUBSCRIPTION s;", "refused:DROP SUBSCRIPTION at line 1"),
            (
                "ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY;",
                "refused:ALTER TABLE DETACH PARTITION CONCURRENTLY at line 1"
            ),
            ("ALTER TABLE m DETACH PARTITION m_2020;", nil),
            ("SELECT 1;\nROLLBACK;", "own:ROLLBACK at line 2"),
            ("ABORT;", "own:ABORT at line 1"),
            ("SELECT 1;\ncommit;", "own:COMMIT at line 2"),
            ("CREATE INDEX concurrently_named ON a (b);", nil),
            ("SELECT 'VACUUM';", nil),
            ("/* BEGIN; */ SELECT 1;", nil),
        ]
        for (index, (sql, _)) in cases.enumerated() {
            try TestPaths.write(sql + "\n", to: "V\(index + 1)__case.sql", in: directory)
        }
        let plan = try PlanDirectory.load(at: directory)
        for (index, (sql, expected)) in cases.enumerated() {
            let actual: String? =
                switch plan.migrations[index].forward.noTransaction {
                case .managesOwnTransaction(let statement): "own:" + statement
                case .refusedInTransaction(let statement): "refused:" + statement
                case .directive: "directive"
                case .dieselMetadata: "diesel"
                case nil: nil
                }
            #expect(actual == expected, "\(sql)")
        }
    }
}

@Suite("Plan errors")
struct PlanErrorTests {
    @Test func missingDirectoryIsReported() {
        let path = TestPaths.plan("does-not-exist")
        #expect(
            planProblems(at: path) == [
                "\(path): plan directory not found; pass --plan DIR or fix `plan:` in the inventory."
            ])
    }

    @Test func directoryWithoutScriptsHasNoMigrations() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write("name: empty\n", to: "plan.yaml", in: directory)
        try TestPaths.write("notes\n", to: "README.md", in: directory)
        #expect(
            planProblems(at: directory) == [
                "\(directory): no migration scripts found; expected V1__name.sql, 0001_name.up.sql or <version>_<name>/up.sql."
            ])
    }

    @Test func duplicateVersionByValueNamesBothFiles() {
        let path = TestPaths.plan("errors/duplicate-version")
        #expect(
            planProblems(at: path) == [
                "\(path)/V1.2__first.sql: version 1.2 already has a forward script (V1.02__second.sql); give one of them another version."
            ])
    }

    @Test func mixedFormatsNameOneFileOfEach() {
        let path = TestPaths.plan("errors/mixed-formats")
        #expect(
            planProblems(at: path) == [
                "\(path): mixed plan formats: 0002_golang.up.sql is golang-migrate but V1__flyway.sql is flyway; rename the scripts to one format."
            ])
    }

    @Test func undoWithoutForwardIsReported() {
        let path = TestPaths.plan("errors/undo-without-forward")
        #expect(
            planProblems(at: path) == [
                "\(path)/U2__b.sql: undo script for version 2 has no forward script; add it or remove the undo."
            ])
    }

    @Test func unparsableNamesListTheExpectedForms() {
        let path = TestPaths.plan("errors/unparsable-name")
        let expected =
            "V<version>__<description>.sql or U<version>__<description>.sql (Flyway), <version>_<description>.up.sql or .down.sql (golang-migrate), or a <version>_<name>/ directory holding up.sql (Diesel)"
        #expect(
            planProblems(at: path) == [
                "\(path)/R__views.sql: cannot read a version from this name; expected \(expected).",
                "\(path)/create_users.sql: cannot read a version from this name; expected \(expected).",
            ])
    }

    @Test func unknownDirectivePointsAtTidemarkColon() {
        let path = TestPaths.plan("errors/unknown-directive")
        #expect(
            planProblems(at: path) == [
                "\(path)/V1__a.sql:2:6: unknown directive 'tidemark:no-transactoin'; known: no-transaction, compensates <version>, data-loss-ok <reason>, lock-ok <reason>, irreversible <reason>."
            ])
    }

    @Test func badCompensatesSelfMissingLaterUndoAndNotAVersion() {
        let path = TestPaths.plan("errors/bad-compensates")
        #expect(
            planProblems(at: path) == [
                "\(path)/U5__e.sql:1:4: tidemark:compensates belongs in a forward script, not an undo script; move it to the forward script of the version that rolls forward.",
                "\(path)/V6__f.sql:1:4: tidemark:compensates 'one' is not a version of this plan; write one version, e.g. -- tidemark:compensates 4.",
                "\(path)/V2__self.sql:1:4: version 2 cannot compensate itself; name the earlier version this migration rolls forward.",
                "\(path)/V3__missing.sql:1:4: tidemark:compensates 9: version 9 is not in this plan; name the earlier version this migration rolls forward.",
                "\(path)/V4__later.sql:1:4: version 4 cannot compensate version 5, which comes after it; a compensating migration needs a version above the one it rolls forward.",
            ])
    }

    @Test func irreversibleInAForwardScriptIsAnError() {
        let path = TestPaths.plan("errors/irreversible-in-forward")
        #expect(
            planProblems(at: path) == [
                "\(path)/V1__drop_orders.sql:2:4: tidemark:irreversible belongs in an undo script (it says the undo cannot restore what the forward script changed); move it to this version's undo script."
            ])
    }

    @Test func directivesWithMissingOrExtraArgumentsAndRepeatsAreErrors() {
        let path = TestPaths.plan("errors/bad-directives")
        #expect(
            planProblems(at: path) == [
                "\(path)/V1__a.sql:1:4: tidemark:no-transaction takes no arguments; remove 'now'.",
                "\(path)/V1__a.sql:2:4: tidemark:data-loss-ok needs a reason, e.g. -- tidemark:data-loss-ok the column has been unused since 2023.",
                "\(path)/V1__a.sql:3:4: tidemark:no-transaction appears twice (first at line 1); keep one.",
                "\(path)/V1__a.sql:4:4: tidemark:lock-ok needs a reason, e.g. -- tidemark:lock-ok orders is written only by the nightly batch.",
                "\(path)/U1__a.sql:1:4: tidemark:irreversible needs a reason, e.g. -- tidemark:irreversible ALTER TYPE ... ADD VALUE cannot be undone; restore from a backup.",
            ])
    }

    @Test func badMetadataTomlReportsEachLineWithItsColumn() {
        let path = TestPaths.plan("errors/bad-metadata")
        let file = "\(path)/2019-02-26-002946_create_users/metadata.toml"
        #expect(
            planProblems(at: path) == [
                "\(file):2:1: cannot read this line; metadata.toml holds `key = value` lines, e.g. run_in_transaction = false.",
                "\(file):3:3: unknown key 'run_in_transacton' in metadata.toml; Diesel knows only run_in_transaction; did you mean 'run_in_transaction'?",
                "\(file):4:22: run_in_transaction must be true or false, not 'maybe'.",
            ])
    }

    @Test func unknownPlanYamlKeysArePointedAt() {
        let path = TestPaths.plan("errors/unknown-plan-key")
        #expect(
            planProblems(at: path) == [
                "\(path)/plan.yaml:5:5: unknown key 'when' in quarantine entry; known keys: version, reason, at.",
                "\(path)/plan.yaml:6:1: unknown key 'owner' in plan.yaml; known keys: name, quarantine.",
                "\(path)/plan.yaml:7:1: unknown key 'quarantine_note' in plan.yaml; known keys: name, quarantine.",
            ])
    }

    @Test func quarantinedVersionMustBeInThePlan() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write("SELECT 1;\n", to: "V1__a.sql", in: directory)
        try TestPaths.write(
            "quarantine:\n  - { version: 7, reason: broke it, at: 2025-01-01 }\n", to: "plan.yaml", in: directory)
        #expect(
            planProblems(at: directory) == [
                "\(directory)/plan.yaml:2:16: quarantined version 7 is not in this plan; remove it from plan.yaml or restore its scripts."
            ])
    }

    /// The inventory fuzzer's end-of-text finding, in plan.yaml: an empty value on the last
    /// line without a line break stays on that line.
    @Test func emptyPlanYamlValueAtTheVeryEndIsReportedOnTheLastLine() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write("SELECT 1;\n", to: "V1__a.sql", in: directory)
        try TestPaths.write("quarantine: []\n? name", to: "plan.yaml", in: directory)
        let problems = planProblems(at: directory)
        #expect(
            problems.count == 1 && problems.allSatisfy { $0.hasPrefix("\(directory)/plan.yaml:2:7: ") }, "\(problems)")
    }

    @Test func dieselDirectoryWithoutANumericVersionIsUnparsable() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write("SELECT 1;\n", to: "2019-02-26-002946_users/up.sql", in: directory)
        try TestPaths.write("SELECT 1;\n", to: "initial_setup/up.sql", in: directory)
        try TestPaths.write("SELECT 1;\n", to: "scratch/notes.sql", in: directory)
        #expect(
            planProblems(at: directory) == [
                "\(directory)/initial_setup: cannot read a version from this name; expected a <version>_<name>/ directory whose version is digits and dashes, e.g. 2019-02-26-002946_add_users/."
            ])
    }

    @Test func scriptThatIsNotUTF8IsReportedAtItsFirstBadByte() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try Data([0x53, 0x45, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: directory + "/V1__latin1.sql"))
        #expect(
            planProblems(at: directory) == [
                "\(directory)/V1__latin1.sql:1:3: this file is not UTF-8 text here; save it as UTF-8."
            ])
    }

    @Test func everyProblemIsCollectedNotJustTheFirst() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write("SELECT 1;\n", to: "V1__a.sql", in: directory)
        try TestPaths.write("SELECT 1;\n", to: "V01__b.sql", in: directory)
        try TestPaths.write("SELECT 1;\n", to: "U3__c.sql", in: directory)
        try TestPaths.write("SELECT 1;\n", to: "notes.sql", in: directory)
        try TestPaths.write("-- tidemark:bogus\nSELECT 1;\n", to: "V2__d.sql", in: directory)
        try TestPaths.write("name: [\n", to: "plan.yaml", in: directory)
        let problems = planProblems(at: directory)
        #expect(problems.count == 5, "\(problems)")
        let error = PlanProblems(errors: [.noMigrations(path: "a"), .directoryNotFound(path: "b")])
        #expect(error.description.split(separator: "\n").count == 2)
    }
}

@Suite("Plan manifest")
struct PlanManifestTests {
    @Test func savedManifestLoadsBackWithNameAndQuarantine() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write("SELECT 1;\n", to: "V1__a.sql", in: directory)
        try TestPaths.write("SELECT 2;\n", to: "V1.10__b.sql", in: directory)
        let entries = [
            QuarantineEntry(
                version: try #require(Version(numeric: "1.10")), reason: "drops \"orders\": see #42\nsecond line",
                at: "2025-03-01T09:30:00Z")
        ]
        try PlanDirectory.saveManifest(name: "billing: core", quarantine: entries, to: directory)
        let plan = try PlanDirectory.load(at: directory)
        #expect(plan.name == "billing: core")
        #expect(plan.quarantine == entries)
        #expect(plan.quarantine.first?.version.text == "1.10")

        try PlanDirectory.saveManifest(name: nil, quarantine: [], to: directory)
        let reloaded = try PlanDirectory.load(at: directory)
        #expect(reloaded.name == PathTextForTests.lastComponent(directory))
        #expect(reloaded.quarantine.isEmpty)
    }

    @Test func savingIntoAMissingDirectoryFailsWithThePath() {
        #expect(throws: PlanManifestWriteError.self) {
            try PlanDirectory.saveManifest(name: nil, quarantine: [], to: "/nonexistent/tidemark/plan")
        }
    }
}

enum PathTextForTests {
    static func lastComponent(_ path: String) -> String {
        URL(fileURLWithPath: path).lastPathComponent
    }
}

@Suite("Lemmy corpus")
struct LemmyCorpusTests {
    @Test(
        .enabled(
            if: TestPaths.lemmyIsPresent,
            "the lemmy corpus is not at ../shared/corpora/lemmy next to the repository; this test reads it in place"))
    func lemmyCorpusLoadsAll342VersionsAndNoneRunsOutsideATransaction() throws {
        let plan = try PlanDirectory.load(at: TestPaths.lemmy)
        #expect(plan.format == .golangMigrate)
        #expect(plan.migrations.count == 342)
        #expect(plan.migrations.first?.version.text == "0001")
        #expect(plan.migrations.last?.version.text == "0342")
        #expect(plan.migrations.allSatisfy { $0.undo != nil })
        let scripts = plan.migrations.flatMap { [$0.forward] + ($0.undo.map { [$0] } ?? []) }
        #expect(scripts.count == 684)
        // 77 scripts hold PL/pgSQL or DO bodies with a line reading just `BEGIN` inside $$ … $$.
        let plpgsql = scripts.filter { script in
            script.sql.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces) == "BEGIN" }
        }
        #expect(plpgsql.count == 77)
        // Checked by hand: the 5,027 top-level statements of the 684 scripts start with ALTER,
        // CREATE, DROP, INSERT, UPDATE, DELETE, SELECT, WITH, DO, SET, ANALYZE or REINDEX TABLE
        // (12, none CONCURRENTLY); none is BEGIN/COMMIT/END or refused in a transaction block,
        // and the corpus README says none is marked to run outside a transaction. So: zero.
        let outside = scripts.filter { $0.noTransaction != nil }.map {
            "\($0.path): \($0.noTransaction.map(\.explanation) ?? "")"
        }
        #expect(outside == [])
        #expect(PlanDirectory.notices(for: plan).isEmpty)
    }
}
