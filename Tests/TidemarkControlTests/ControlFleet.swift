import Foundation
import Testing
import TidemarkControl
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// A fleet of PostgreSQL schema targets in two waves (`first`, `second`), a plan of four slow
/// versions, and an inventory in a fresh folder; the control database is the test cluster's.
/// The inventory's name is unique, so runs of other tests never share its run key.
struct ControlFleet {
    let directory: URL
    let name: String
    let url: String
    /// Target name → schema, in inventory order.
    let targets: [(name: String, schema: String)]

    /// `perWave` targets in each wave; every step sleeps `stepSeconds`; `notifyURL` adds a webhook sink.
    /// `firstMaxFailures`: the first wave's `max_failures` (nil: none, the default);
    /// `firstConcurrency`: its `concurrency`.
    init(
        perWave: Int, stepSeconds: Double, maxFailures: Int? = 0, firstConcurrency: Int? = nil,
        notifyURL: String? = nil, secondApproval: Bool = false, secondWindows: String? = nil,
        notifySinks: [String] = []
    ) throws {
        guard let clusterURL = TestPostgres.url else {
            throw BackendError.unsupported(target: "test", message: TestPostgres.skipReason)
        }
        directory = try CommandRunner.temporaryDirectory("tidemark-control")
        name = "ctl" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        // A database of its own for the targets and the control schema: these steps hold
        // transactions open for a while (pg_sleep), and PostgreSQL makes a CREATE INDEX
        // CONCURRENTLY in another test wait for every older transaction of the same database.
        let admin = try PostgresSession(
            target: Target(name: "test", environment: "", connection: .url(clusterURL)), timeouts: .standard,
            logger: .silent)
        defer { admin.close() }
        try admin.query("CREATE DATABASE \(TestPostgres.quoted(name))")
        url = try Self.url(of: name, in: clusterURL)
        let plan = directory.appendingPathComponent("plans/app")
        try FileManager.default.createDirectory(at: plan, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        for version in 1...4 {
            try "CREATE TABLE t\(version) (id int);\nSELECT pg_sleep(\(stepSeconds));\n".write(
                to: plan.appendingPathComponent("V\(version)__t\(version).sql"), atomically: true, encoding: .utf8)
            try "DROP TABLE t\(version);\n".write(
                to: plan.appendingPathComponent("U\(version)__t\(version).sql"), atomically: true, encoding: .utf8)
        }
        let last = String(format: "%02d", perWave)
        var targets: [(String, String)] = []
        for wave in ["a", "b"] {
            for index in 1...perWave {
                targets.append(
                    ("\(wave)-\(String(format: "%02d", index))", "\(name)_\(wave)_\(String(format: "%02d", index))"))
            }
        }
        self.targets = targets
        let sinks = (notifyURL.map { ["{ name: hook, type: webhook, url: \"\($0)\" }"] } ?? []) + notifySinks
        let notify = sinks.isEmpty ? "" : "notify:\n" + sinks.map { "  - \($0)\n" }.joined()
        let inventory = """
            inventory: \(name)
            plan: ../plans/app
            concurrency: 2
            order: [first, second]
            environments:
              first:
                tier: test
            \(maxFailures.map { "    max_failures: \($0)\n" } ?? "")\(firstConcurrency.map { "    concurrency: \($0)\n" } ?? "")\
                targets:
                  - { name: "a-{01..\(last)}", url: "\(url)", schema: "\(name)_a_{01..\(last)}" }
              second:
                tier: test
            \(secondApproval ? "    approval: required\n" : "")\(secondWindows.map { "    windows: \($0)\n" } ?? "")\
                targets:
                  - { name: "b-{01..\(last)}", url: "\(url)", schema: "\(name)_b_{01..\(last)}", tags: [late] }
            \(notify)
            """
        try inventory.write(
            to: directory.appendingPathComponent("inventories/fleet.yaml"), atomically: true, encoding: .utf8)
    }

    /// `apply -i inventories/fleet.yaml --control URL --yes` and `extra`.
    func apply(_ extra: [String] = [], control: String? = nil) -> [String] {
        ["apply", "-i", "inventories/fleet.yaml", "--control", control ?? url, "--yes"] + extra
    }

    /// For each target, from its history rows: when its first step started and its last finished.
    func spans(on session: PostgresSession) throws -> [(target: String, start: Double, end: Double)] {
        try targets.compactMap { target in
            let exists = try session.query(
                "SELECT to_regclass($1) IS NOT NULL", [TestPostgres.quoted(target.schema) + ".tidemark_history"]
            ).first?.first
            guard exists == "t" else { return nil }
            let row = try session.query(
                """
                SELECT extract(epoch FROM min(started_at))::float8, extract(epoch FROM max(finished_at))::float8
                FROM \(TestPostgres.quoted(target.schema)).tidemark_history
                """
            ).first
            guard let start = row?[0].flatMap(Double.init), let end = row?[1].flatMap(Double.init) else { return nil }
            return (target.name, start, end)
        }
    }

    /// The most targets of `prefix` whose spans overlapped at one moment.
    static func mostAtOnce(_ spans: [(target: String, start: Double, end: Double)], prefix: String) -> Int {
        let chosen = spans.filter { $0.target.hasPrefix(prefix) }
        return chosen.map { span in chosen.filter { $0.start <= span.start && span.start < $0.end }.count }.max() ?? 0
    }

    /// A session on the test database, for reading history and the control tables.
    func session() throws -> PostgresSession {
        try PostgresSession(
            target: Target(name: "test", environment: "", connection: .url(url)), timeouts: .standard, logger: .silent)
    }

    /// The successful steps in `schema`'s history, as `kind version`, in order; failed rows as `failed kind version`.
    func history(_ schema: String, on session: PostgresSession) throws -> [String] {
        let exists = try session.query(
            "SELECT to_regclass($1) IS NOT NULL", [TestPostgres.quoted(schema) + ".tidemark_history"]
        ).first?.first
        guard exists == "t" else { return [] }
        return try session.query(
            "SELECT kind, version, success FROM \(TestPostgres.quoted(schema)).tidemark_history ORDER BY id"
        ).map { row in
            (row[2] == "t" ? "" : "failed ") + "\(row[0] ?? "") \(row[1] ?? "")"
        }
    }

    /// The run id a runner printed (`run ID: created as runner …` / `joined`).
    static func runID(in output: String) -> String? {
        for line in output.split(separator: "\n")
        where line.hasPrefix("run ") && (line.contains(": created as runner") || line.contains(": joined as runner")) {
            return line.dropFirst(4).split(separator: ":").first.map(String.init)
        }
        return nil
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
        guard let clusterURL = TestPostgres.url,
            let admin = try? PostgresSession(
                target: Target(name: "test", environment: "", connection: .url(clusterURL)), timeouts: .standard,
                logger: .silent)
        else { return }
        _ = try? admin.query("DROP DATABASE IF EXISTS \(TestPostgres.quoted(name)) WITH (FORCE)")
        admin.close()
    }

    /// `clusterURL` with its database replaced by `database`.
    static func url(of database: String, in clusterURL: String) throws -> String {
        guard var components = URLComponents(string: clusterURL) else {
            throw BackendError.unsupported(target: "test", message: "cannot read \(TestPostgres.variable) as a URL")
        }
        components.path = "/" + database
        guard let url = components.string else {
            throw BackendError.unsupported(target: "test", message: "cannot build a URL for \(database)")
        }
        return url
    }

    /// Waits (up to `timeout`), on a thread of its own, until one of the runners `pids` holds a
    /// claim in this fleet's run, and returns that runner's process id (nil: none did). A test
    /// kills or interrupts a runner mid-work this way, not after a fixed delay, which a loaded
    /// machine lands before it started or after it finished; polling on a thread of its own
    /// because the test pool's few threads may all be blocked by other suites.
    /// Waits (bounded) until no runner of this fleet's runs is live: a killed runner's lease has
    /// run out on the control database's clock. Instead of sleeping a lease and hoping.
    func waitUntilNoLiveRunner(timeout: Duration = .seconds(60)) async throws {
        let session = try self.session()
        defer { session.close() }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let live = try session.query(
                """
                SELECT count(*) FROM tidemark_control.runners r JOIN tidemark_control.runs USING (run_id)
                WHERE runs.inventory = $1 AND \(ControlStore.isLive("r"))
                """, [name]
            ).first?.first
            if live == "0" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("a runner was still live after \(timeout)")
    }

    func claimingRunner(among pids: [Int32], timeout: Duration = .seconds(60)) async throws -> Int32? {
        let url = self.url
        let name = self.name
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32?, any Error>) in
            let thread = Thread {
                do {
                    let session = try PostgresSession(
                        target: Target(name: "test", environment: "", connection: .url(url)), timeouts: .standard,
                        logger: .silent)
                    defer { session.close() }
                    let deadline = ContinuousClock.now + timeout
                    while ContinuousClock.now < deadline {
                        // The first runner creates the control schema: until then, nothing to read.
                        if try session.query("SELECT to_regclass('tidemark_control.targets') IS NOT NULL").first?.first
                            == "t"
                        {
                            let rows = try session.query(
                                """
                                SELECT t.runner FROM tidemark_control.targets t JOIN tidemark_control.runs r USING (run_id)
                                WHERE r.inventory = $1 AND t.state = 'claimed' AND t.runner IS NOT NULL
                                """, [name])
                            for row in rows {
                                guard let runner = row.first ?? nil else { continue }
                                if let pid = pids.first(where: { runner.contains("/\($0)-") }) {
                                    continuation.resume(returning: pid)
                                    return
                                }
                            }
                        }
                        Thread.sleep(forTimeInterval: 0.01)
                    }
                    continuation.resume(returning: nil)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "tidemark-test-claims"
            thread.start()
        }
    }
}
