import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// `tidemark rehearse` as a user runs it: on a temporary SQLite file, on a scratch database of a
/// PostgreSQL server, and on the Lemmy corpus (342 real migrations).
@Suite struct RehearseCommandTests {
    /// The rehearsal runs on a temporary SQLite file (false), and on PostgreSQL (true) when there is one.
    static let onPostgresCases = TestPostgres.isAvailable ? [false, true] : [false]

    /// The rehearsal document, as far as these tests read it.
    struct Document: Decodable {
        struct Result: Decodable {
            struct Diff: Decodable {
                var missing: [String]
                var unexpected: [String]
            }
            var version: String
            var verdict: String
            var error: String?
            var diff: Diff?
        }
        var schema: String
        var results: [Result]
        var rebuilds: Int
    }

    /// A plan whose version 2 undo drops the table it created but forgets the index it added.
    func forgetfulPlan(fixed: Bool = false) throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-rehearse")
        let plan = root.appendingPathComponent("plans/shop")
        try FileManager.default.createDirectory(at: plan, withIntermediateDirectories: true)
        let files = [
            "1_accounts.up.sql": "CREATE TABLE accounts (id integer PRIMARY KEY, email text NOT NULL);\n",
            "1_accounts.down.sql": "DROP TABLE accounts;\n",
            "2_orders.up.sql":
                "CREATE TABLE orders (id integer PRIMARY KEY, account_id integer REFERENCES accounts (id));\nCREATE INDEX accounts_email ON accounts (email);\n",
            "2_orders.down.sql": fixed ? "DROP INDEX accounts_email;\nDROP TABLE orders;\n" : "DROP TABLE orders;\n",
        ]
        for (name, text) in files {
            try text.write(to: plan.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return root
    }

    func decode(_ result: CommandRunner.Result) throws -> Document {
        try JSONDecoder().decode(Document.self, from: Data(result.standardOutput.utf8))
    }

    @Test(
        "An undo that forgets an index fails the rehearsal, and the output names the index", arguments: onPostgresCases)
    func forgottenIndexIsFound(onPostgres: Bool) async throws {
        let root = try forgetfulPlan()
        defer { try? FileManager.default.removeItem(at: root) }
        let scratch = onPostgres ? ["--url", TestPostgres.url ?? ""] : []
        let text = try await CommandRunner.run(["rehearse", "--plan", "plans/shop"] + scratch, in: root)
        #expect(text.status == 1, "\(text)")
        #expect(text.standardOutput.contains("1 accounts: ok"), "\(text)")
        #expect(text.standardOutput.contains("2 orders: undo-does-not-restore"), "\(text)")
        #expect(text.standardOutput.contains("+ index accounts.accounts_email"), "\(text)")
        #expect(text.standardOutput.contains("rehearsal FAILED: 2"), "\(text)")
        #expect(
            !FileManager.default.fileExists(atPath: root.appendingPathComponent("plans/shop/fingerprints.json").path))

        let json = try decode(
            try await CommandRunner.run(["rehearse", "--plan", "plans/shop", "--json"] + scratch, in: root))
        #expect(json.schema == "tidemark.rehearsal/v1")
        #expect(json.results.map(\.verdict) == ["ok", "undo-does-not-restore"])
        #expect(json.results.last?.diff?.unexpected.contains { $0.hasPrefix("index accounts.accounts_email:") } == true)

        let recorded = try await CommandRunner.run(
            ["rehearse", "--plan", "plans/shop", "--record"] + scratch, in: root)
        #expect(recorded.status == 1, "\(recorded)")
        let file = try String(contentsOf: root.appendingPathComponent("plans/shop/fingerprints.json"), encoding: .utf8)
        #expect(file.contains(onPostgres ? "\"postgres\"" : "\"sqlite\""))
        #expect(file.contains("accounts_email"))
    }

    @Test(
        "Without CREATEDB the scratch is a temporary schema, dropped afterwards",
        .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func roleWithoutCreateDatabaseRehearsesInASchema() async throws {
        let url = TestPostgres.url ?? ""
        let database = String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
        try TestPostgres.execute(
            """
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tidemark_rehearser') THEN
                CREATE ROLE tidemark_rehearser LOGIN NOCREATEDB;
              END IF;
            END $$;
            GRANT CREATE ON DATABASE "\(database)" TO tidemark_rehearser;
            """)
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else {
            Issue.record("unexpected TIDEMARK_TEST_POSTGRES_URL shape")
            return
        }
        let limitedURL = String(url[..<scheme.upperBound]) + "tidemark_rehearser" + String(url[at...])
        let root = try forgetfulPlan()
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try await CommandRunner.run(["rehearse", "--plan", "plans/shop", "--url", limitedURL], in: root)
        #expect(result.status == 1, "\(result)")
        #expect(result.standardOutput.contains("+ index accounts.accounts_email"), "\(result)")
        // Nothing left behind: no scratch schema remains (this raises if one does).
        try TestPostgres.execute(
            """
            DO $$ BEGIN
              IF EXISTS (SELECT 1 FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
                         WHERE n.nspname LIKE 'tidemark_rehearse_%' AND r.rolname = 'tidemark_rehearser') THEN
                RAISE EXCEPTION 'a scratch schema was left behind';
              END IF;
            END $$
            """)
    }

    @Test func passingRehearsalRecordsFingerprints() async throws {
        let root = try forgetfulPlan(fixed: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try await CommandRunner.run(["rehearse", "--plan", "plans/shop"], in: root)
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains("2 versions: 2 ok"), "\(result)")
        #expect(result.standardOutput.contains("rehearsal passed"), "\(result)")
        let file = try String(contentsOf: root.appendingPathComponent("plans/shop/fingerprints.json"), encoding: .utf8)
        #expect(file.contains("\"tidemark.fingerprints/v1\""))
        #expect(file.contains("\"sqlite\""))
    }

    @Test func unknownVersionIsAUsageError() async throws {
        let root = try forgetfulPlan()
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try await CommandRunner.run(["rehearse", "--plan", "plans/shop", "--to", "9"], in: root)
        #expect(result.status == 2, "\(result)")
        #expect(result.standardError.contains("--to 9"), "\(result)")
    }

    /// The Lemmy corpus on PostgreSQL: what its undo scripts really do (../shared/corpora/lemmy).
    /// Versions 1–247 apply on PostgreSQL 15 and 248 fails forward (it needs PostgreSQL 16), so
    /// the rehearsal covers 1–248 and reports 249–342 as not run.
    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func lemmyCorpusFindings() async throws {
        // Beside the repository, as ../shared/corpora/README.md lays it out; TIDEMARK_LEMMY_CORPUS overrides.
        let corpus =
            ProcessInfo.processInfo.environment["TIDEMARK_LEMMY_CORPUS"].map { URL(fileURLWithPath: $0) }
            ?? CommandRunner.repositoryRoot.appendingPathComponent("../shared/corpora/lemmy").standardizedFileURL
        try #require(
            FileManager.default.fileExists(atPath: corpus.path), "the Lemmy corpus is missing at \(corpus.path)")
        // A copy: the rehearsal must not write into the shared corpus, and fingerprints.json
        // would be written only if every version passed.
        let root = try CommandRunner.temporaryDirectory("tidemark-lemmy")
        defer { try? FileManager.default.removeItem(at: root) }
        let plan = root.appendingPathComponent("lemmy")
        try FileManager.default.copyItem(at: corpus, to: plan)

        // About a minute and a half: waited for on a thread of its own, not one of the Swift
        // concurrency pool's few threads, which the other tests running alongside need.
        let arguments = ["rehearse", "--plan", plan.path, "--url", TestPostgres.url ?? "", "--keep-going", "--json"]
        let run = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<CommandRunner.Result, any Error>) in
            Thread.detachNewThread {
                continuation.resume(with: Result { try CommandRunner.run(arguments, in: root) as CommandRunner.Result })
            }
        }
        #expect(run.status == 1, "\(run.standardError)")
        let document = try decode(run)
        #expect(document.results.count == 342)
        let verdicts = Dictionary(uniqueKeysWithValues: document.results.map { ($0.version, $0.verdict) })
        let failures = document.results.filter { !["ok", "column-order", "not-run"].contains($0.verdict) }
        #expect(
            Dictionary(uniqueKeysWithValues: failures.map { ($0.version, $0.verdict) }) == Self.expectedLemmyFailures,
            "\(failures.map { "\($0.version) \($0.verdict)" })")
        #expect(document.results.filter { $0.verdict == "column-order" }.count == 27)
        #expect(document.results.filter { $0.verdict == "ok" }.count == 208)
        #expect(document.results.filter { $0.verdict == "not-run" }.count == 94)
        #expect(verdicts["0249"] == "not-run")

        func result(_ version: String) -> Document.Result? { document.results.first { $0.version == version } }
        // Cross-checked by reading the SQL:
        // 0213's undo uses `ADD CONSTRAINT … NOT NULL col`, PostgreSQL 18 syntax.
        #expect(result("0213")?.error?.contains("syntax error at or near \"NOT\"") == true)
        // 0244's undo renames a named NOT NULL constraint, which exists only from PostgreSQL 18.
        #expect(
            result("0244")?.error?.contains(
                "constraint \"person_shared_inbox_url_not_null\" for table \"person\" does not exist") == true)
        // 0052's undo puts back refresh_post()/refresh_comment() bodies older than 0048's (no hot_rank_active).
        let fastTriggers = result("0052")?.diff
        #expect(fastTriggers?.missing.contains { $0.hasPrefix("function refresh_post()") } == true)
        #expect(fastTriggers?.unexpected.contains { $0.hasPrefix("function refresh_post()") } == true)
        // 0065's undo is a comment saying there is no way back: the fast tables stay dropped.
        #expect(result("0065")?.diff?.missing.contains { $0.hasPrefix("table comment_aggregates_fast") } == true)
        #expect(result("0065")?.diff?.unexpected.isEmpty == true)
        // 0248 needs PostgreSQL 16 (a subquery in FROM without an alias).
        #expect(result("0248")?.error?.contains("subquery in FROM must have an alias") == true)
    }

    static let expectedLemmyFailures: [String: String] = [
        "0036": "re-apply-differs", "0037": "undo-does-not-restore", "0041": "undo-does-not-restore",
        "0044": "undo-does-not-restore", "0045": "undo-does-not-restore", "0048": "undo-does-not-restore",
        "0052": "undo-does-not-restore", "0065": "undo-does-not-restore", "0076": "undo-does-not-restore",
        "0118": "undo-does-not-restore", "0213": "undo-fails", "0244": "undo-fails", "0248": "forward-fails",
    ]
}
