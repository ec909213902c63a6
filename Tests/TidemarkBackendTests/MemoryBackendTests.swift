import Dispatch
import Foundation
import Logging
import Synchronization
import Testing
import TidemarkCore
import TidemarkSQLCheck
import TidemarkTestSupport

/// What only the in-memory backend does: its SQL dialect, its test hooks, its speed.
@Suite("In-memory backend")
struct MemoryBackendTests {
    let store = MemoryStore()

    func target(_ name: String = "db", schema: String? = nil) -> Target {
        Target(name: name, environment: "test", connection: .url("memory:\(name)"), schema: schema)
    }

    func connect(_ target: Target, timeouts: Timeouts = BackendConformance.timeouts) throws -> any BackendConnection {
        let connection = try MemoryBackend(store: store).connect(to: target, timeouts: timeouts, logger: Logger.silent)
        try connection.ensureHistoryTable()
        return connection
    }

    /// Runs `sql` as one transactional step; returns the error message, or nil on success.
    @discardableResult
    func run(_ sql: String, on connection: any BackendConnection, transactional: Bool = true) -> String? {
        do {
            try connection.run(BackendConformance.step("1", .forward, sql: sql, transactional: transactional))
            return nil
        } catch {
            guard case .stepFailed(_, _, _, let message, _, _) = error else { return "\(error)" }
            return message
        }
    }

    // MARK: Dialect

    @Test func createTableRecordsColumnsInOrderAndRefusesDuplicates() throws {
        let t = target()
        let c = try connect(t)
        #expect(
            run(
                "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, CONSTRAINT u UNIQUE (email), created numeric(10, 2))",
                on: c) == nil)
        #expect(store.columns(of: "users", in: t) == ["id", "email", "created"])
        #expect(run("CREATE TABLE users (id int)", on: c) == "line 1: relation \"users\" already exists")
        #expect(run("CREATE TABLE IF NOT EXISTS users (id int)", on: c) == nil)
        #expect(run("CREATE TABLE dup (a int, a int)", on: c)?.contains("specified more than once") == true)
        #expect(store.tables(of: t) == ["users"])
    }

    @Test func dialectReadsCoreLexerTokensNestedCommentsQuotedNamesAndDollarBodies() throws {
        let t = target()
        let c = try connect(t)
        // Nested block comment, doubled quotes in a name, a tagged dollar body holding a `;`,
        // and a decimal pg_sleep: each read the way Core's SQLLexer reads it.
        #expect(
            run(
                """
                CREATE TABLE b /* outer /* inner */ still comment */ (id int, "Odd""Name" text, note text DEFAULT 'a;b');
                CREATE FUNCTION f() RETURNS int AS $body$ BEGIN DROP TABLE b; RETURN 1; END $body$ LANGUAGE plpgsql;
                SELECT pg_sleep(0.01);
                """, on: c) == nil)
        #expect(store.columns(of: "b", in: t) == ["id", "Odd\"Name", "note"])
    }

    @Test func dropTableAndIndexFailWhenMissingUnlessIfExists() throws {
        let t = target()
        let c = try connect(t)
        #expect(run("DROP TABLE gone", on: c) == "line 1: table \"gone\" does not exist")
        #expect(run("DROP TABLE IF EXISTS gone", on: c) == nil)
        #expect(run("DROP INDEX gone_idx", on: c) == "line 1: index \"gone_idx\" does not exist")
        #expect(run("DROP INDEX CONCURRENTLY IF EXISTS gone_idx", on: c, transactional: false) == nil)
        #expect(run("CREATE TABLE a (id int); CREATE TABLE b (id int); CREATE INDEX a_idx ON a (id)", on: c) == nil)
        #expect(run("DROP TABLE a, b CASCADE", on: c) == nil)
        #expect(store.schema(of: t) == MemorySchema())
    }

    @Test func alterTableAddsDropsAndRenames() throws {
        let t = target()
        let c = try connect(t)
        #expect(run("CREATE TABLE t (id int, name text)", on: c) == nil)
        #expect(run("ALTER TABLE t ADD COLUMN email text, ADD age int", on: c) == nil)
        #expect(store.columns(of: "t", in: t) == ["id", "name", "email", "age"])
        #expect(
            run("ALTER TABLE t ADD COLUMN email text", on: c)
                == "line 1: column \"email\" of relation \"t\" already exists")
        #expect(run("ALTER TABLE t ADD COLUMN IF NOT EXISTS email text", on: c) == nil)
        #expect(run("ALTER TABLE t DROP COLUMN name", on: c) == nil)
        #expect(
            run("ALTER TABLE t DROP COLUMN name", on: c) == "line 1: column \"name\" of relation \"t\" does not exist")
        #expect(run("ALTER TABLE t DROP IF EXISTS name", on: c) == nil)
        // Re-adding a dropped column puts it last, as real databases do.
        #expect(run("ALTER TABLE t ADD name text", on: c) == nil)
        #expect(store.columns(of: "t", in: t) == ["id", "email", "age", "name"])
        #expect(run("ALTER TABLE t RENAME COLUMN age TO years", on: c) == nil)
        #expect(run("CREATE INDEX t_email ON t (email)", on: c) == nil)
        #expect(run("ALTER TABLE t RENAME TO people", on: c) == nil)
        #expect(store.columns(of: "people", in: t) == ["id", "email", "years", "name"])
        #expect(store.schema(of: t)?.indexes["t_email"]?.table == "people")
        #expect(run("ALTER TABLE t ADD x int", on: c) == "line 1: relation \"t\" does not exist")
        #expect(run("ALTER TABLE IF EXISTS t ADD x int", on: c) == nil)
        #expect(run("ALTER TABLE people ADD CONSTRAINT pk PRIMARY KEY (id)", on: c) == nil)
        #expect(store.columns(of: "people", in: t)?.count == 4)
    }

    @Test func indexesNeedTheirTableAndAUniqueName() throws {
        let t = target()
        let c = try connect(t)
        #expect(run("CREATE INDEX i ON missing (id)", on: c) == "line 1: relation \"missing\" does not exist")
        #expect(run("CREATE TABLE t (id int)", on: c) == nil)
        #expect(
            run(
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_id ON ONLY public.t (id)", on: c, transactional: false
            ) == nil)
        #expect(run("CREATE INDEX t_id ON t (id)", on: c) == "line 1: relation \"t_id\" already exists")
        #expect(run("CREATE INDEX ON t (id)", on: c) == nil)
        #expect(run("CREATE INDEX ON t (id)", on: c) == nil)
        let indexes = store.schema(of: t)?.indexes ?? [:]
        #expect(Set(indexes.keys) == ["t_id", "t_idx", "t_idx1"])
        #expect(indexes["t_id"]?.isUnique == true)
    }

    @Test func readsAndWritesNeedTheirTable() throws {
        let c = try connect(target())
        for sql in [
            "INSERT INTO orders VALUES (1)", "SELECT id, total FROM orders WHERE id = 1", "UPDATE orders SET total = 0",
            "DELETE FROM orders", "TRUNCATE TABLE orders",
        ] {
            #expect(run(sql, on: c) == "line 1: relation \"orders\" does not exist", "\(sql)")
        }
        #expect(run("CREATE TABLE orders (id int, total int)", on: c) == nil)
        for sql in [
            "INSERT INTO orders (id) VALUES (1)", "SELECT * FROM (SELECT 1) AS s", "SELECT count(*) FROM orders",
            "SELECT * FROM generate_series(1, 3)", "SELECT 1", "UPDATE ONLY orders SET total = 1",
        ] {
            #expect(run(sql, on: c) == nil, "\(sql)")
        }
    }

    @Test func namesFoldLikePostgreSQL() throws {
        let t = target()
        let c = try connect(t)
        #expect(run(#"CREATE TABLE app."Users" ("Id" int, Name text); CREATE TABLE App.ORDERS (ID int)"#, on: c) == nil)
        #expect(store.tables(of: t) == ["Users", "orders"])
        #expect(store.columns(of: "Users", in: t) == ["Id", "name"])
        #expect(run("DROP TABLE users", on: c) == "line 1: table \"users\" does not exist")
    }

    @Test func everythingElseIsAcceptedAsANoOp() throws {
        let t = target()
        let c = try connect(t)
        let script = """
            -- tidemark:no-transaction
            CREATE EXTENSION IF NOT EXISTS pgcrypto;
            CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;
            VACUUM ANALYZE;
            COMMENT ON SCHEMA public IS 'x';
            """
        #expect(run(script, on: c, transactional: false) == nil)
        #expect(store.tables(of: t).isEmpty)
    }

    @Test func failureNamesTheLineOfTheFailingStatement() throws {
        let c = try connect(target())
        #expect(
            run("CREATE TABLE a (id int);\n\n-- next\nDROP TABLE nope;", on: c)
                == "line 4: table \"nope\" does not exist")
    }

    @Test func transactionalFailureRestoresTheSchemaAndNoTransactionKeepsEarlierStatements() throws {
        let t = target()
        let c = try connect(t)
        #expect(run("CREATE TABLE keep (id int)", on: c) == nil)
        #expect(run("ALTER TABLE keep ADD a int; CREATE TABLE x (id int); DROP TABLE nope", on: c) != nil)
        #expect(store.tables(of: t) == ["keep"])
        #expect(store.columns(of: "keep", in: t) == ["id"])
        #expect(
            run("ALTER TABLE keep ADD a int; DROP TABLE nope; CREATE TABLE y (id int)", on: c, transactional: false)
                != nil)
        #expect(store.columns(of: "keep", in: t) == ["id", "a"])
        #expect(store.tables(of: t) == ["keep"])
        // A script's own transaction is honoured outside Tidemark's: ROLLBACK undoes its part.
        #expect(
            run("BEGIN; CREATE TABLE z (id int); ROLLBACK; CREATE TABLE w (id int);", on: c, transactional: false)
                == nil)
        #expect(store.tables(of: t) == ["keep", "w"])
    }

    // MARK: Hooks

    @Test func injectedConnectionFailuresHappenExactlyNTimes() throws {
        let t = target("flaky")
        try store.failNextConnections(to: t, count: 2)
        for _ in 0..<2 {
            let error = #expect(throws: BackendError.self) { try connect(t) }
            guard case .connectionFailed(let name, _, true)? = error else {
                Issue.record("expected a transient .connectionFailed, got \(String(describing: error))")
                return
            }
            #expect(name == "flaky")
        }
        #expect(store.pendingConnectionFailures(for: t) == 0)
        _ = try connect(t)

        try store.failNextConnections(to: t, count: 1, transient: false)
        let error = #expect(throws: BackendError.self) { try connect(t) }
        guard case .connectionFailed(_, _, false)? = error else {
            Issue.record("expected a permanent .connectionFailed, got \(String(describing: error))")
            return
        }
    }

    @Test func stepLatencyIsServerTimeUnderTheStatementTimeout() throws {
        let t = target("slow")
        try store.setStepLatency(.milliseconds(60), for: t)
        let c = try connect(t)
        let entry = try c.run(BackendConformance.step("1", .forward, sql: "CREATE TABLE a (id int)"))
        #expect(entry.executionMS >= 50)

        var short = BackendConformance.timeouts
        short.statementTimeout = .milliseconds(20)
        let hurried = try connect(t, timeouts: short)
        let message = run("CREATE TABLE b (id int)", on: hurried)
        #expect(message?.contains("statement timeout (20 ms)") == true, "\(message ?? "no error")")
        #expect(store.tables(of: t) == ["a"])

        // Skip and baseline rows never wait: nothing runs.
        let started = ContinuousClock.now
        try c.run(BackendConformance.step("2", .skip, sql: "", scriptPath: ""))
        #expect(started.duration(to: .now) < .milliseconds(50))

        try store.setStepLatency(nil, for: t)
        store.setDefaultStepLatency(.milliseconds(30))
        let other = try connect(target("other"))
        #expect(try other.run(BackendConformance.step("1", .forward, sql: "")).executionMS >= 25)
    }

    @Test func zeroStatementTimeoutMeansNoLimit() throws {
        let timeouts = Timeouts(lockTimeout: .zero, statementTimeout: .zero, connectTimeout: .zero)
        let c = try connect(target("unlimited"), timeouts: timeouts)
        #expect(run("SELECT pg_sleep(0.05)", on: c) == nil)
    }

    @Test func seededHistoryAndSchemaReadBackAsState() throws {
        let t = target("seeded")
        let rows = (1...3).map { number in
            HistoryEntry(
                id: Int64(number), version: "\(number)", description: "v\(number)", kind: .forward,
                script: "V\(number)__x.sql", checksum: "c\(number)", runID: "old", appliedBy: "seed", startedAt: Date(),
                finishedAt: Date(), executionMS: 1, success: true, transactional: true)
        }
        try store.seed(t, schema: MemorySchema(tables: ["a": MemoryTable(name: "a", columns: ["id"])]), history: rows)
        let c = try MemoryBackend(store: store).connect(to: t, timeouts: .standard, logger: Logger.silent)
        #expect(try c.readHistory() == rows)
        #expect(TargetState(history: rows).applied.map(\.version) == ["1", "2", "3"])
        let next = try c.run(BackendConformance.step("4", .forward, sql: "DROP TABLE a"))
        #expect(next.id == 4)
        #expect(store.tables(of: t).isEmpty)
        #expect(store.history(of: t).count == 4)
    }

    @Test func storesAreIndependentAndLocksAreVisible() throws {
        let t = target("shared-name")
        let other = MemoryStore()
        let mine = try connect(t)
        #expect(try mine.tryLock(timeout: .zero))
        #expect(store.isLocked(t))
        let theirs = try MemoryBackend(store: other).connect(to: t, timeouts: .standard, logger: Logger.silent)
        #expect(try theirs.tryLock(timeout: .zero), "a lock in one store blocked another store")
        mine.close()
        #expect(!store.isLocked(t))
        store.removeDatabase(of: t)
        #expect(store.databaseNames.isEmpty)
        #expect(other.databaseNames == ["shared-name"])
    }

    @Test func schemaIsPartOfTheDatabaseName() throws {
        #expect(try MemoryStore.databaseName(of: target("a")) == "a")
        #expect(try MemoryStore.databaseName(of: target("a", schema: "tenant_1")) == "a/tenant_1")
        let service = Target(name: "svc", environment: "test", connection: .service("billing"))
        #expect(throws: BackendError.self) { try MemoryStore.databaseName(of: service) }
        let empty = Target(name: "empty", environment: "test", connection: .url("memory:"))
        #expect(throws: BackendError.self) { try MemoryStore.databaseName(of: empty) }
    }

    @Test func runBeforeTheHistoryTableExistsFails() throws {
        let c = try MemoryBackend(store: store).connect(
            to: target("no-history"), timeouts: .standard, logger: Logger.silent)
        #expect(throws: BackendError.self) { try c.run(BackendConformance.step("1", .forward, sql: "")) }
    }

    // MARK: Scale

    /// The executor's fleet tests drive 10,000 targets; the backend must be a small part of
    /// their two-second budget.
    @Test func tenThousandTargetsMigrateQuickly() throws {
        let count = 10_000
        let workers = 8
        let backend = MemoryBackend(store: store)
        let steps = [
            BackendConformance.step("1", .forward, sql: "CREATE TABLE users (id bigint, email text);"),
            BackendConformance.step(
                "2", .forward, sql: "CREATE INDEX CONCURRENTLY users_email ON users (email);", transactional: false),
            BackendConformance.step("3", .forward, sql: "ALTER TABLE users ADD COLUMN name text;"),
        ]
        let failures = Atomic<Int>(0)
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for index in stride(from: worker, to: count, by: workers) {
                do {
                    let target = Target(
                        name: "shard-\(index)", environment: "prod", connection: .url("memory:shard-\(index)"))
                    let connection = try backend.connect(to: target, timeouts: .standard, logger: Logger.silent)
                    guard try connection.tryLock(timeout: .zero) else { throw BackendError.closed(target: target.name) }
                    try connection.ensureHistoryTable()
                    _ = TargetState(history: try connection.readHistory())
                    for step in steps { try connection.run(step) }
                    try connection.unlock()
                    connection.close()
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        let elapsed = started.duration(to: .now)
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(store.databaseNames.count == count)
        #expect(
            store.columns(
                of: "users", in: Target(name: "x", environment: "prod", connection: .url("memory:shard-9999"))) == [
                    "id", "email", "name",
                ])
        // Alone on two cores in a debug build this takes well under a second; the bound leaves
        // room for the rest of the test run sharing those cores, and still catches anything
        // quadratic or a lock held across a whole step.
        #expect(elapsed < .seconds(4), "10,000 targets × 3 steps took \(elapsed)")
    }
}
