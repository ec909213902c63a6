import Foundation
import Logging
import Synchronization
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkPostgres

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// PostgreSQL-specific behaviour on a real server (`scripts/with-postgres swift test`): what the
/// shared conformance suite cannot say about libpq connections, scripts and locks.
@Suite("PostgreSQL backend", .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresBackendTests {
    let fixture: PostgresFixture
    let backend = PostgresBackend()
    let logger = Logger.silent

    init() throws {
        fixture = try #require(PostgresFixture())
    }

    // MARK: Connecting

    @Test func conninfoStringAndURIBothConnect() throws {
        let components = try #require(URLComponents(string: fixture.url))
        let host = try #require(components.host)
        let port = try #require(components.port)
        let user = try #require(components.user)
        let database = String(components.path.dropFirst())
        let conninfo = "host=\(host) port=\(port) dbname=\(database) user=\(user)"

        for location in [fixture.url, conninfo] {
            var target = try fixture.makeTarget(name: "conninfo")
            target.connection = .url(location)
            let connection = try backend.connect(to: target, timeouts: .standard, logger: logger)
            try connection.ensureHistoryTable()
            // The session is Tidemark's: checked from inside it, as a script would see it.
            try connection.run(
                step(
                    "1",
                    """
                    DO $$ BEGIN
                      IF current_setting('application_name') <> 'tidemark' THEN RAISE EXCEPTION 'application_name'; END IF;
                      IF current_setting('client_encoding') <> 'UTF8' THEN RAISE EXCEPTION 'client_encoding'; END IF;
                      IF current_schema() <> '\(try #require(target.schema))' THEN RAISE EXCEPTION 'search_path'; END IF;
                    END $$;
                    """))
            #expect(try connection.readHistory().map(\.version) == ["1"])
            connection.close()
        }
    }

    @Test func sessionTimeoutsComeFromTimeouts() throws {
        let target = try fixture.makeTarget(name: "timeouts")
        let timeouts = Timeouts(
            lockTimeout: .milliseconds(1500), statementTimeout: .seconds(42), connectTimeout: .seconds(3))
        let connection = try backend.connect(to: target, timeouts: timeouts, logger: logger)
        try connection.ensureHistoryTable()
        let check = """
            DO $$ BEGIN
              IF current_setting('statement_timeout') <> '42s' THEN RAISE EXCEPTION 'statement_timeout %', current_setting('statement_timeout'); END IF;
              IF current_setting('lock_timeout') <> '1500ms' THEN RAISE EXCEPTION 'lock_timeout %', current_setting('lock_timeout'); END IF;
            END $$;
            """
        try connection.run(step("1", check))
        // An earlier script's plain SET must not carry over into the next step.
        try connection.run(step("2", "SET statement_timeout = 0; SET lock_timeout = 0;", transactional: false))
        try connection.run(step("3", check))
        try connection.run(step("4", "SET statement_timeout = 0;"))
        try connection.run(step("5", check, transactional: false))
    }

    @Test func unknownDatabaseIsAPermanentFailureNamingTheTarget() throws {
        var target = try fixture.makeTarget(name: "no-such-db")
        target.connection = .url(fixture.url.replacingOccurrences(of: "/tidemark_test", with: "/tidemark_no_such_db"))
        let error = try #require(throws: BackendError.self) {
            try backend.connect(to: target, timeouts: .standard, logger: logger)
        }
        guard case .connectionFailed(let name, let message, let transient) = error else {
            Issue.record("expected connectionFailed, got \(error)")
            return
        }
        #expect(name == "no-such-db")
        #expect(message.contains("tidemark_no_such_db"))
        #expect(!transient)
        #expect(error.description.hasPrefix("no-such-db: cannot connect:"))
    }

    @Test func tooManyConnectionsIsTransient() throws {
        // CONNECTION LIMIT 0 makes the server answer 53300 "too many connections for role".
        let role = "tm_limited_role"
        try fixture.admin { admin in
            if try admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]).isEmpty {
                try admin.execute("CREATE ROLE \(role) LOGIN CONNECTION LIMIT 0")
            }
        }
        let components = try #require(URLComponents(string: fixture.url))
        let url =
            "postgres://\(role)@\(try #require(components.host)):\(try #require(components.port))\(components.path)"
        let error = try #require(throws: BackendError.self) {
            try backend.connect(
                to: Target(name: "limited", environment: "test", connection: .url(url)), timeouts: .standard,
                logger: logger)
        }
        guard case .connectionFailed(_, let message, let transient) = error else {
            Issue.record("expected connectionFailed, got \(error)")
            return
        }
        #expect(message.contains("too many connections"))
        #expect(transient)
    }

    @Test func refusedConnectionIsTransientAndNeverShowsThePassword() throws {
        let port = try closedPort()
        let password = "s3cret-\(UUID().uuidString)"
        let target = Target(
            name: "refused", environment: "test",
            connection: .url("postgres://tidemark:\(password)@127.0.0.1:\(port)/db"),
            schema: "x", passwordEnv: "TM_TEST_PASSWORD")
        let error = try #require(throws: BackendError.self) {
            try PostgresConnection(
                target: target, timeouts: .standard, logger: logger,
                environment: ["TM_TEST_PASSWORD": password + "-env"])
        }
        guard case .connectionFailed(_, _, let transient) = error else {
            Issue.record("expected connectionFailed, got \(error)")
            return
        }
        #expect(transient)
        #expect(!error.description.contains(password))
        #expect(!"\(error)".contains("s3cret"))
    }

    @Test func passwordFromPasswordEnvAuthenticatesAndNeverAppearsInErrors() throws {
        let role = "tm_password_role"
        let password = "pw-\(UUID().uuidString)"
        try requirePasswordAuthentication(for: role, password: password)
        let components = try #require(URLComponents(string: fixture.url))
        let url =
            "postgres://\(role)@\(try #require(components.host)):\(try #require(components.port))\(components.path)"
        let target = Target(
            name: "password", environment: "test", connection: .url(url), schema: role, passwordEnv: "TM_PASSWORD")

        let connection = try PostgresConnection(
            target: target, timeouts: .standard, logger: logger, environment: ["TM_PASSWORD": password])
        try connection.ensureHistoryTable()
        #expect(try connection.readHistory().isEmpty)
        connection.close()

        let wrong = "wrong-\(UUID().uuidString)"
        let error = try #require(throws: BackendError.self) {
            try PostgresConnection(
                target: target, timeouts: .standard, logger: logger, environment: ["TM_PASSWORD": wrong])
        }
        guard case .connectionFailed(_, let message, let transient) = error else {
            Issue.record("expected connectionFailed, got \(error)")
            return
        }
        #expect(!transient, "a wrong password is not worth retrying")
        #expect(message.contains("password authentication failed"))
        #expect(!error.description.contains(wrong))
        #expect(!error.description.contains(password))

        // Through the public API, with the variable missing: the error says which one.
        let missing = try #require(throws: BackendError.self) {
            try backend.connect(
                to: Target(
                    name: "password", environment: "test", connection: .url(url),
                    passwordEnv: "TM_TEST_UNSET_\(UUID().uuidString.prefix(8))"),
                timeouts: .standard, logger: logger)
        }
        #expect(missing.description.contains("password_env TM_TEST_UNSET_"))
    }

    @Test func connectTimeoutEndsWithinTheTimeoutOnASilentServer() throws {
        // A listening socket that never answers: the TCP handshake completes (the kernel queues
        // it), then libpq waits for a reply that never comes.
        let listener = try SilentListener()
        defer { listener.close() }
        let target = Target(
            name: "silent", environment: "test", connection: .url("postgres://tidemark@127.0.0.1:\(listener.port)/db"))
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: BackendError.self) {
            try backend.connect(to: target, timeouts: Timeouts(connectTimeout: .seconds(2)), logger: logger)
        }
        let elapsed = clock.now - start
        guard case .connectionFailed(_, let message, let transient) = error else {
            Issue.record("expected connectionFailed, got \(error)")
            return
        }
        #expect(transient)
        #expect(message.contains("timeout"))
        #expect(elapsed < .seconds(4), "took \(elapsed)")
    }

    // MARK: Scripts

    @Test func sqitchStyleScriptWithItsOwnTransactionRunsAsWritten() throws {
        let target = try fixture.makeTarget(name: "sqitch")
        let connection = try connect(target)
        let script = """
            -- Deploy app:users to pg
            BEGIN;

            CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);
            INSERT INTO users VALUES (1, 'a@example.com');

            COMMIT;
            """
        let entry = try connection.run(step("1", script, transactional: false))
        #expect(entry.success)
        #expect(!entry.transactional)
        #expect(entry.finishedAt != nil)
        #expect(entry.error == nil)
        #expect(try fixture.tableExists("users", in: target))
        #expect(!TargetState(history: try connection.readHistory()).isDirty)
    }

    @Test func createIndexConcurrentlyRunsOutsideATransaction() throws {
        let target = try fixture.makeTarget(name: "concurrently")
        let connection = try connect(target)
        try connection.run(
            step("1", "CREATE TABLE items (id integer); INSERT INTO items SELECT generate_series(1, 100);"))
        let index = "CREATE INDEX CONCURRENTLY items_id ON items (id);\nVACUUM items;"

        // Inside a transaction PostgreSQL refuses it, and nothing is left behind.
        let refused = try #require(throws: BackendError.self) { try connection.run(step("2", index)) }
        guard case .stepFailed(_, _, _, _, let state, let dirty) = refused else {
            Issue.record("expected stepFailed, got \(refused)")
            return
        }
        #expect(state == "25001")
        #expect(!dirty)

        let entry = try connection.run(step("2", index, transactional: false))
        #expect(entry.success)
        #expect(try fixture.tableExists("items_id", in: target))
        let state2 = TargetState(history: try connection.readHistory())
        #expect(state2.isApplied("2"))
        #expect(!state2.isDirty)
    }

    @Test func failingTransactionalStepReportsSQLStateAndScriptLine() throws {
        let target = try fixture.makeTarget(name: "failing")
        let connection = try connect(target)
        let script = """
            CREATE TABLE kept_out (id integer);

            -- the next statement fails
            INSERT INTO missing_table VALUES (1);
            """
        let error = try #require(throws: BackendError.self) {
            try connection.run(step("7", script, path: "V7__fails.sql"))
        }
        guard case .stepFailed(let name, let version, _, let message, let state, let dirty) = error else {
            Issue.record("expected stepFailed, got \(error)")
            return
        }
        #expect(name == target.name)
        #expect(version == "7")
        #expect(state == "42P01")
        #expect(!dirty)
        #expect(message.hasPrefix("V7__fails.sql:4:13: relation \"missing_table\" does not exist"), "\(message)")
        #expect(try !fixture.tableExists("kept_out", in: target), "the transaction rolled back")

        let history = try connection.readHistory()
        let row = try #require(history.last)
        #expect(!row.success)
        #expect(row.transactional)
        #expect(row.error?.contains("SQLSTATE 42P01") == true)
        #expect(row.finishedAt != nil)
        #expect(!TargetState(history: history).isDirty)
    }

    @Test func runTimeErrorsWithoutAPositionNameTheFailingStatementsLine() throws {
        let connection = try connect(try fixture.makeTarget(name: "runtime-error"))
        let script = """
            CREATE TABLE unique_things (id integer PRIMARY KEY);
            INSERT INTO unique_things VALUES (1); -- two statements on one line
            ;;
            /* a comment; with a semicolon */
            INSERT INTO unique_things
              VALUES (1);
            """
        let error = try #require(throws: BackendError.self) {
            try connection.run(step("2", script, path: "V2__dup.sql"))
        }
        guard case .stepFailed(_, _, _, let message, let state, _) = error else {
            Issue.record("expected stepFailed, got \(error)")
            return
        }
        #expect(state == "23505")
        #expect(message.hasPrefix("V2__dup.sql:5: duplicate key value violates unique constraint"), "\(message)")

        let plpgsql = "SELECT 1;\nDO $$\nBEGIN\n  RAISE EXCEPTION 'boom %', 7 USING HINT = 'fix it';\nEND\n$$;"
        let raised = try #require(throws: BackendError.self) {
            try connection.run(step("3", plpgsql, path: "V3__do.sql"))
        }
        #expect(
            raised.description.contains(
                "V3__do.sql:2: boom 7 (hint: fix it; where: PL/pgSQL function inline_code_block line 3 at RAISE)"),
            "\(raised)")
    }

    @Test func errorLinesCountCharactersNotBytes() throws {
        let connection = try connect(try fixture.makeTarget(name: "unicode"))
        let script = "-- café ☕ 日本語\nSELECT 'ünïcödé';\nSELECT * FROM nowhere;"
        let error = try #require(throws: BackendError.self) { try connection.run(step("1", script, path: "V1__u.sql")) }
        #expect(error.description.contains("V1__u.sql:3:15:"), "\(error)")
    }

    @Test func failingStepOutsideATransactionLeavesTheTargetDirty() throws {
        let target = try fixture.makeTarget(name: "dirty")
        let connection = try connect(target)
        let script = """
            CREATE TABLE half_done (id integer);
            CREATE INDEX CONCURRENTLY half_done_id ON half_done (id);
               SELECT nope FROM half_done;
            """
        let error = try #require(throws: BackendError.self) {
            try connection.run(step("3", script, path: "V3__dirty.sql", transactional: false))
        }
        guard case .stepFailed(_, _, _, let message, let state, let dirty) = error else {
            Issue.record("expected stepFailed, got \(error)")
            return
        }
        #expect(dirty)
        #expect(state == "42703")
        #expect(
            message.hasPrefix(
                "stopped at statement 3 of 3, line 3: V3__dirty.sql:3:11: column \"nope\" does not exist"), "\(message)"
        )
        #expect(try fixture.tableExists("half_done", in: target), "statements before the failure stay")

        let history = try connection.readHistory()
        let row = try #require(history.last)
        #expect(!row.success)
        #expect(!row.transactional)
        #expect(row.finishedAt != nil)
        #expect(row.error?.contains("SQLSTATE 42703") == true)
        let state2 = TargetState(history: history)
        #expect(state2.dirty?.id == row.id)
    }

    @Test func failedOwnTransactionIsRolledBackBeforeTheRowIsCompleted() throws {
        let target = try fixture.makeTarget(name: "own-tx-fails")
        let connection = try connect(target)
        let script = "BEGIN;\nCREATE TABLE inside (id integer);\nSELECT 1/0;\nCOMMIT;"
        let error = try #require(throws: BackendError.self) {
            try connection.run(step("1", script, path: "V1__x.sql", transactional: false))
        }
        #expect(error.description.contains("V1__x.sql:3:"), "\(error)")
        #expect(try !fixture.tableExists("inside", in: target))
        // The row update did not join the aborted transaction: it is there, with the error.
        let row = try #require(try connection.readHistory().last)
        #expect(row.error?.contains("22012") == true)
        #expect(row.finishedAt != nil)
        // And the connection is usable for the next step.
        try connection.run(step("2", "CREATE TABLE after (id integer);"))
    }

    @Test func scriptLeavingATransactionOpenFailsAndIsRolledBack() throws {
        let target = try fixture.makeTarget(name: "open-tx")
        let connection = try connect(target)
        let error = try #require(throws: BackendError.self) {
            try connection.run(step("1", "BEGIN;\nCREATE TABLE never (id integer);", transactional: false))
        }
        #expect(error.description.contains("left a transaction open"))
        #expect(try !fixture.tableExists("never", in: target))
        #expect(TargetState(history: try connection.readHistory()).isDirty)
    }

    @Test func transactionalScriptThatCommitsItselfIsRecordedAsRunOutsideATransaction() throws {
        let target = try fixture.makeTarget(name: "self-commit")
        let connection = try connect(target)
        let entry = try connection.run(step("1", "CREATE TABLE committed_early (id integer);\nCOMMIT;"))
        #expect(entry.success)
        #expect(!entry.transactional, "the work committed outside Tidemark's transaction")
        #expect(try fixture.tableExists("committed_early", in: target))
        #expect(try connection.readHistory() == [entry])
    }

    @Test func copyFromStdinFailsTheStepInsteadOfHanging() throws {
        let target = try fixture.makeTarget(name: "copy")
        let connection = try connect(target)
        let error = try #require(throws: BackendError.self) {
            try connection.run(step("1", "CREATE TABLE c (id integer);\nCOPY c FROM STDIN;\n"))
        }
        #expect(error.description.contains("COPY"))
        try connection.run(step("2", "CREATE TABLE d (id integer); COPY (SELECT 1) TO STDOUT;"))
        #expect(try fixture.tableExists("d", in: target))
    }

    @Test func historyRowsRoundTripExactly() throws {
        let connection = try connect(try fixture.makeTarget(name: "roundtrip"))
        var returned: [HistoryEntry] = []
        returned.append(try connection.run(step("1", "CREATE TABLE r (id integer);")))
        returned.append(try connection.run(step("2", "CREATE TABLE s (id integer);", transactional: false)))
        returned.append(
            try connection.run(
                StepRequest(
                    version: "3", description: "baseline", kind: .baseline, scriptPath: "", sql: "", checksum: "c3",
                    transactional: true, runID: "run-1", appliedBy: "ci")))
        let history = try connection.readHistory()
        #expect(history == returned)
        #expect(history.map(\.kind) == [.forward, .forward, .baseline])
        #expect(history[0].startedAt <= history[0].finishedAt ?? .distantPast)
        #expect(abs(history[0].startedAt.timeIntervalSinceNow) < 60)
    }

    // MARK: History table

    @Test func ensureHistoryTableCreatesAQuotedSchema() throws {
        var target = try fixture.makeTarget(name: "quoted")
        target.schema = "Tenant \"42\" \(UUID().uuidString.prefix(8))"
        let connection = try backend.connect(to: target, timeouts: .standard, logger: logger)
        #expect(try connection.readHistory().isEmpty)
        try connection.ensureHistoryTable()
        try connection.ensureHistoryTable()
        try connection.run(step("1", "CREATE TABLE inside_quoted (id integer);"))
        #expect(try fixture.tableExists("inside_quoted", in: target))
        #expect(try fixture.tableExists("tidemark_history", in: target))
    }

    @Test func historyTableHasTheSpecifiedColumns() throws {
        let target = try fixture.makeTarget(name: "columns")
        _ = try connect(target)
        let columns = try fixture.admin { admin in
            try admin.query(
                """
                SELECT column_name, data_type, is_nullable FROM information_schema.columns
                WHERE table_schema = $1 AND table_name = 'tidemark_history' ORDER BY ordinal_position
                """, [target.schema])
        }
        let described = columns.map { $0.compactMap { $0 }.joined(separator: " ") }
        #expect(
            described == [
                "id bigint NO", "version text NO", "description text NO", "kind text NO", "script text NO",
                "checksum text NO", "run_id text NO", "applied_by text NO", "started_at timestamp with time zone NO",
                "finished_at timestamp with time zone YES", "execution_ms bigint NO", "success boolean YES",
                "transactional boolean NO", "error text YES", "attempt integer NO",
                // History table version 2: a batched step in progress has no success yet, and its checkpoint.
                "batch_last_key bigint YES", "batch_rows bigint YES",
            ])
    }

    @Test func concurrentRunsCreateTheHistoryTableOnce() throws {
        var target = try fixture.makeTarget(name: "race")
        target.schema = TestPostgres.uniqueSchemaName(for: "race-new")
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for _ in 0..<6 {
            group.enter()
            Thread.detachNewThread { [backend, logger, target] in
                defer { group.leave() }
                do {
                    let connection = try backend.connect(to: target, timeouts: .standard, logger: logger)
                    try connection.ensureHistoryTable()
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty)
    }

    // MARK: Lock

    @Test func lockIsPerSchemaAndBounded() throws {
        let first = try fixture.makeTarget(name: "lock")
        let sibling = try #require(try fixture.makeSiblingTarget(of: first, name: "lock-sibling"))
        let holder = try connect(first)
        let contender = try connect(first)
        let neighbour = try connect(sibling)

        #expect(try holder.tryLock(timeout: .zero))
        #expect(try holder.tryLock(timeout: .zero), "taking it again while held is fine")
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try !contender.tryLock(timeout: .milliseconds(300)))
        let waited = clock.now - start
        #expect(waited >= .milliseconds(250) && waited < .seconds(3), "waited \(waited)")
        #expect(try neighbour.tryLock(timeout: .zero), "another schema in the same database is another target")

        try holder.unlock()
        try holder.unlock() // a no-op when not held
        #expect(try contender.tryLock(timeout: .seconds(1)))
        holder.close()
        contender.close() // closing ends the session and with it the lock
        let later = try connect(first)
        #expect(try later.tryLock(timeout: .seconds(1)))
    }

    // MARK: Notices, cancel, timeouts

    @Test func noticesGoToTheLoggerNotStandardError() throws {
        let capture = LogCapture()
        var logger = Logger(label: "tidemark.test.notices", factory: { _ in CapturingLogHandler(capture: capture) })
        logger.logLevel = .trace
        let connection = try backend.connect(
            to: try fixture.makeTarget(name: "notices"), timeouts: .standard, logger: logger)
        try connection.ensureHistoryTable()
        try connection.run(
            step("1", "DROP TABLE IF EXISTS missing_for_notice;\nDO $$ BEGIN RAISE WARNING 'careful: %', 42; END $$;"))
        let records = capture.records
        #expect(
            records.contains {
                $0.level == .debug && $0.message.contains("\"missing_for_notice\" does not exist, skipping")
            })
        #expect(records.contains { $0.level == .notice && $0.message == "careful: 42" })
    }

    @Test func cancelStopsARunningStatement() throws {
        let target = try fixture.makeTarget(name: "cancel")
        let canceller = Mutex<(any StatementCanceller)?>(nil)
        let outcome = Mutex<BackendError?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [backend, logger, fixture] in
            defer { done.signal() }
            do {
                let connection = try backend.connect(to: target, timeouts: .standard, logger: logger)
                try connection.ensureHistoryTable()
                canceller.withLock { $0 = connection.canceller }
                try connection.run(
                    StepRequest(
                        version: "1", description: "slow", kind: .forward, scriptPath: "V1__slow.sql",
                        sql: fixture.slowSQL(seconds: 30), checksum: "c", transactional: true, runID: "r",
                        appliedBy: "t"))
            } catch let error as BackendError {
                outcome.withLock { $0 = error }
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        while canceller.withLock({ $0 }) == nil && clock.now - start < .seconds(10) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.5) // let the statement start
        canceller.withLock { $0?.cancel() }
        #expect(done.wait(timeout: .now() + 15) == .success)
        #expect(clock.now - start < .seconds(12))
        let error = try #require(outcome.withLock { $0 })
        guard case .stepFailed(_, _, _, _, let state, let dirty) = error else {
            Issue.record("expected stepFailed, got \(error)")
            return
        }
        #expect(state == "57014")
        #expect(!dirty)
    }

    @Test func statementTimeoutFailsTheStep() throws {
        let target = try fixture.makeTarget(name: "statement-timeout")
        let connection = try backend.connect(
            to: target, timeouts: Timeouts(statementTimeout: .seconds(1)), logger: logger)
        try connection.ensureHistoryTable()
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: BackendError.self) {
            try connection.run(step("1", fixture.slowSQL(seconds: 10)))
        }
        #expect(clock.now - start < .seconds(5))
        guard case .stepFailed(_, _, _, _, let state, _) = error else {
            Issue.record("expected stepFailed, got \(error)")
            return
        }
        #expect(state == "57014")
    }

    @Test func closedConnectionRefusesUse() throws {
        let connection = try connect(try fixture.makeTarget(name: "closed"))
        connection.close()
        connection.canceller.cancel() // a no-op once closed
        #expect(throws: BackendError.closed(target: "closed")) { try connection.readHistory() }
        #expect(throws: BackendError.closed(target: "closed")) { _ = try connection.tryLock(timeout: .zero) }
    }

    // MARK: Helpers

    /// crates.io's version 182: an undo that recreates a function without the `SET search_path
    /// FROM CURRENT` its original had. The fingerprint must see it; the same function in two
    /// schemas must still read alike.
    @Test func functionsAreFingerprintedByTheirWholeDefinition() throws {
        let body = "RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$"
        let original = try connect(try fixture.makeTarget(name: "fn-original"))
        try original.run(
            step("1", "CREATE FUNCTION answer() \(body) STABLE SECURITY DEFINER SET search_path FROM CURRENT;"))
        let twin = try connect(try fixture.makeTarget(name: "fn-twin"))
        try twin.run(
            step("1", "CREATE FUNCTION answer() \(body) STABLE SECURITY DEFINER SET search_path FROM CURRENT;"))
        #expect(
            try twin.fingerprint().compare(to: original.fingerprint()) == .equal, "the schema's own name must not count"
        )

        let recreated = try connect(try fixture.makeTarget(name: "fn-recreated"))
        try recreated.run(step("1", "CREATE FUNCTION answer() \(body) STABLE SECURITY DEFINER;"))
        let diff = try #require(try recreated.fingerprint().compare(to: original.fingerprint()).diff)
        #expect(
            diff.missing.contains { $0.contains("security definer") && $0.contains("set search_path=<schema>") },
            "\(diff.lines)")

        for (name, change) in [
            ("volatility", "VOLATILE SECURITY DEFINER SET search_path FROM CURRENT"),
            ("security", "STABLE SET search_path FROM CURRENT"),
            ("strict", "STABLE STRICT SECURITY DEFINER SET search_path FROM CURRENT"),
            ("parallel", "STABLE PARALLEL SAFE SECURITY DEFINER SET search_path FROM CURRENT"),
        ] {
            let other = try connect(try fixture.makeTarget(name: "fn-\(name)"))
            try other.run(step("1", "CREATE FUNCTION answer() \(body) \(change);"))
            #expect(
                try other.fingerprint().compare(to: original.fingerprint()) != .equal,
                "\(name) must change the fingerprint")
        }
    }

    /// A failed `CREATE UNIQUE INDEX CONCURRENTLY` leaves an INVALID index: the fingerprint says
    /// so, and repair reads it back with the statement that drops it.
    @Test func invalidIndexIsMarkedInTheFingerprint() throws {
        let target = try fixture.makeTarget(name: "invalid-index")
        let connection = try connect(target)
        try connection.run(step("1", "CREATE TABLE codes (code text); INSERT INTO codes VALUES ('a'), ('a');"))
        #expect(throws: BackendError.self) {
            try connection.run(
                step("2", "CREATE UNIQUE INDEX CONCURRENTLY codes_key ON codes (code);", transactional: false))
        }
        let print = try connection.fingerprint()
        #expect(
            print.lines.contains { $0.hasPrefix("index codes.codes_key:") && $0.hasSuffix(" INVALID") },
            "\(print.lines)")
        let invalid = InvalidIndex.found(in: print, schema: target.schema)
        #expect(invalid.map(\.name) == ["codes_key"])
        #expect(
            invalid.first?.dropStatement
                == "DROP INDEX CONCURRENTLY IF EXISTS \"\(target.schema ?? "")\".\"codes_key\";")
    }

    private func connect(_ target: Target) throws -> any BackendConnection {
        let connection = try backend.connect(to: target, timeouts: .standard, logger: logger)
        try connection.ensureHistoryTable()
        return connection
    }

    private func step(_ version: String, _ sql: String, path: String? = nil, transactional: Bool = true) -> StepRequest
    {
        StepRequest(
            version: version, description: "step \(version)", kind: .forward,
            scriptPath: path ?? "V\(version)__step.sql",
            sql: sql, checksum: "checksum-\(version)", transactional: transactional, runID: "run-test",
            appliedBy: "tests")
    }

    /// A loopback port nothing listens on.
    private func closedPort() throws -> Int {
        let listener = try SilentListener()
        let port = listener.port
        listener.close()
        return port
    }

    /// Makes `role` log in with a password over TCP: a role-specific pg_hba.conf line ahead of the
    /// throwaway cluster's `trust` lines (so no other test's connections are affected), reloaded.
    private func requirePasswordAuthentication(for role: String, password: String) throws {
        try fixture.admin { admin in
            let exists = try admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role])
            let quotedRole = PostgresSQL.quoteIdentifier(role)
            if exists.isEmpty { try admin.execute("CREATE ROLE \(quotedRole) LOGIN") }
            let literal = try #require(try admin.query("SELECT quote_literal($1)", [password]).first?.first ?? nil)
            try admin.execute("ALTER ROLE \(quotedRole) PASSWORD \(literal)")
            try admin.execute("CREATE SCHEMA IF NOT EXISTS \(quotedRole) AUTHORIZATION \(quotedRole)")
            let file = try #require(try admin.query("SHOW hba_file").first?.first ?? nil)
            let current = try #require(try admin.query("SELECT pg_read_file($1)", [file]).first?.first ?? nil)
            let marker = "# tidemark tests: \(role)"
            guard !current.contains(marker) else { return }
            let lines =
                "\(marker)\nhost all \(role) 127.0.0.1/32 scram-sha-256\nhost all \(role) ::1/128 scram-sha-256\n"
            // lo_export writes the bytes exactly (COPY would escape them); the server owns the file.
            let oid = try #require(
                try admin.query("SELECT lo_from_bytea(0, convert_to($1, 'UTF8'))", [lines + current]).first?.first
                    ?? nil)
            try admin.query("SELECT lo_export($1::oid, $2)", [oid, file])
            try admin.query("SELECT lo_unlink($1::oid)", [oid])
            try admin.execute("SELECT pg_reload_conf()")
        }
        // The postmaster reloads on SIGHUP, asynchronously: wait until a password is demanded.
        let components = try #require(URLComponents(string: fixture.url))
        let url =
            "postgres://\(role)@\(try #require(components.host)):\(try #require(components.port))\(components.path)"
        let probe = Target(name: "probe", environment: "test", connection: .url(url))
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .seconds(10) {
            do {
                _ = try PostgresConnection(target: probe, timeouts: .standard, logger: logger, environment: [:])
            } catch {
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("pg_hba.conf change for \(role) did not take effect")
    }
}

/// Pure parts of the backend: no server needed.
@Suite("PostgreSQL backend helpers")
struct PostgresHelperTests {
    @Test func lockKeyIsAStableFNV1aHashOfTheSchema() {
        #expect(
            PostgresSQL.advisoryLockKey(schema: "public") == Int64(bitPattern: StableHash.fnv1a64("tidemark:public")))
        #expect(PostgresSQL.advisoryLockKey(schema: "a") != PostgresSQL.advisoryLockKey(schema: "b"))
    }

    @Test func identifiersAreQuotedWithEmbeddedQuotesDoubled() {
        #expect(PostgresSQL.quoteIdentifier("tenant_42") == "\"tenant_42\"")
        #expect(PostgresSQL.quoteIdentifier("a\"b") == "\"a\"\"b\"")
        #expect(PostgresSQL.historyTable(in: "x y") == "\"x y\".tidemark_history")
    }

    @Test func positionsMapToLinesAndColumns() {
        let script = "a\nbc\r\nd☕e"
        #expect(PostgresSQL.lineAndColumn(in: script, scalarOffset: 0) == (1, 1))
        #expect(PostgresSQL.lineAndColumn(in: script, scalarOffset: 3) == (2, 2))
        #expect(PostgresSQL.lineAndColumn(in: script, scalarOffset: 8) == (3, 3))
        let statements = ["SELECT 1", "SELECT 2"]
        #expect(PostgresSQL.scalarOffsets(of: statements, in: "SELECT 1;\n  SELECT 2;") == [0, 12])
    }

    /// The URL is read once, by libpq's parser: its keywords stand between Tidemark's defaults
    /// (which it may override) and the inventory's settings (which override it).
    @Test func connectParametersPutTidemarksSettingsAroundTheURL() {
        let target = Target(
            name: "t", environment: "e", connection: .url("postgres://app:inurl@db/app?sslmode=require"),
            passwordEnv: "PW")
        let parameters = ConnectParameters(
            target: target, timeouts: Timeouts(connectTimeout: .milliseconds(500)), environment: ["PW": "fromenv"])
        #expect(
            parameters.pairs.map { "\($0.keyword)=\($0.value)" } == [
                "application_name=tidemark", "user=app", "password=inurl", "dbname=app", "host=db", "sslmode=require",
                "connect_timeout=2", "client_encoding=UTF8", "password=fromenv",
            ])
        #expect(parameters.redact("failed for fromenv and inurl") == "failed for *** and ***")
        #expect(parameters.missingPasswordEnv == nil)

        let service = ConnectParameters(
            target: Target(name: "s", environment: "e", connection: .service("billing"), passwordEnv: "NOPE"),
            timeouts: Timeouts(connectTimeout: .milliseconds(10_500)), environment: [:])
        #expect(service.pairs.map(\.keyword) == ["application_name", "service", "connect_timeout", "client_encoding"])
        #expect(service.pairs[1].value == "billing")
        #expect(service.pairs[2].value == "11")
        #expect(service.missingPasswordEnv == "NOPE")
    }

    @Test func passwordsAreFoundInURIsAndConninfoStrings() {
        #expect(Set(ConnectParameters.passwords(in: "postgres://u:p%40ss@h/db")) == ["p%40ss", "p@ss"])
        #expect(ConnectParameters.passwords(in: "host=h password = 'a b\\'c' user=u") == ["a b'c"])
        #expect(ConnectParameters.passwords(in: "postgres://u@h/db?password=x1&sslmode=disable") == ["x1"])
        #expect(ConnectParameters.passwords(in: "host=h user=u").isEmpty)
    }

    @Test(arguments: [
        ("connection to server at \"10.0.0.1\", port 5432 failed: Connection refused Is the server running?", true),
        ("connection to server at \"h\", port 5432 failed: timeout expired", true),
        ("connection to server at \"h\", port 5432 failed: FATAL:  the database system is starting up", true),
        ("connection to server at \"h\", port 5432 failed: FATAL:  sorry, too many clients already", true),
        ("server closed the connection unexpectedly", true),
        ("could not translate host name \"db\" to address: Temporary failure in name resolution", true),
        (
            "connection to server at \"h\", port 5432 failed: FATAL:  password authentication failed for user \"app\"",
            false
        ),
        ("connection to server at \"h\", port 5432 failed: FATAL:  database \"nope\" does not exist", false),
        ("connection to server at \"h\", port 5432 failed: FATAL:  no pg_hba.conf entry for host", false),
        ("could not translate host name \"dbx\" to address: Name or service not known", false),
        ("definition of service \"billing\" not found", false),
        ("invalid connection option \"foo\"", false),
    ])
    func connectionFailuresAreClassified(message: String, transient: Bool) {
        #expect(ConnectionFailure.isTransient(message) == transient)
    }
}

/// Log records captured by `CapturingLogHandler`. Thread-safe (a mutex around the list).
final class LogCapture: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
    }

    private let storage = Mutex<[Record]>([])

    var records: [Record] { storage.withLock { $0 } }

    func append(_ record: Record) { storage.withLock { $0.append(record) } }
}

/// A log handler that keeps what it is given, for asserting on log output. Thread-safe value.
struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        capture.append(LogCapture.Record(level: event.level, message: "\(event.message)"))
    }
}

/// A loopback TCP socket that listens but never accepts or answers. Not thread-safe.
final class SilentListener {
    let port: Int
    private var descriptor: Int32

    init() throws {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ListenerError.failed("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            closeDescriptor(fd)
            throw ListenerError.failed("bind/listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            closeDescriptor(fd)
            throw ListenerError.failed("getsockname")
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        if descriptor >= 0 {
            closeDescriptor(descriptor)
            descriptor = -1
        }
    }

    deinit { close() }

    enum ListenerError: Error { case failed(String) }
}

private func closeDescriptor(_ descriptor: Int32) {
    #if canImport(Glibc)
        _ = Glibc.close(descriptor)
    #else
        _ = Darwin.close(descriptor)
    #endif
}
