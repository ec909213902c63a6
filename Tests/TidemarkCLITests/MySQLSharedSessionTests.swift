import Foundation
import Testing
import TidemarkCore
import TidemarkMySQL
import TidemarkTestSupport

/// Sessions shared per server on MariaDB (docs/tenants.md#on-mysql-and-mariadb), seen from the
/// server: however many workers a run has, `per_server` is the most sessions it holds there at
/// once; every database keeps its own history, and a session that breaks fails only its target.
@Suite(
    "Tenant fleets on MariaDB: sessions per server", .serialized,
    .enabled(if: TestMariaDB.isEnabled, "\(TestMariaDB.skipReason)"))
struct MySQLSharedSessionTests {
    /// The largest number of sessions of `user` in `information_schema.PROCESSLIST` while
    /// `launched` runs, sampled back to back from a session of its own (on a thread of its own:
    /// Connector/C blocks).
    static func highestSessionCount(of user: String, while launched: CommandRunner.Launched, url: String)
        async throws -> (max: Int, samples: Int)
    {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let opened = try MySQLBackend().connect(
                        to: Target(
                            name: "sampler", environment: "test", connection: .url(url), schema: "tidemark_test_admin"),
                        timeouts: .standard, logger: .silent)
                    defer { opened.close() }
                    guard let session = opened as? MySQLConnection else {
                        throw TestMariaDBError.noServer("the MySQL backend returned a \(type(of: opened))")
                    }
                    var highest = 0
                    var samples = 0
                    while launched.isRunning {
                        // A sample the server could not answer is skipped, not a failure:
                        // `samples` says how many were taken.
                        guard
                            let rows = try? session.catalogRows(
                                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = \(TestMariaDB.literal(user))"
                            )
                        else { continue }
                        highest = max(highest, Int(rows.first?.first.flatMap { $0 } ?? "0") ?? 0)
                        samples += 1
                    }
                    continuation.resume(returning: (highest, samples))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    @Test(
        "100 databases with concurrency 16 and per_server 4: never more than 4 sessions on the server, every database migrated, and a killed session fails only its target"
    )
    func perServerCapsTheSessionsOneServerGets() async throws {
        let url = try TestMariaDB.requireURL()
        let prefix = MySQLTenantTests.prefix()
        // A user of its own, so the run's sessions can be told from every other on the server.
        let user = String(prefix.dropLast())
        try TestMariaDB.execute(
            """
            CREATE USER '\(user)'@'%' IDENTIFIED BY 'tenant-pw';
            GRANT ALL ON *.* TO '\(user)'@'%';
            """)
        try MySQLTenantTests.createTenants(prefix, count: 100)
        let victim = "\(prefix)0042"
        let tenantURL = url.replacingOccurrences(of: "://root@", with: "://\(user)@")
        let root = try MySQLTenantTests.workspace(
            targets: """
                      - discover: { url: \(MySQLTenantTests.quoted(tenantURL)), databases: "\(prefix)%", password_env: TENANT_PW }
                """, concurrency: 16, defaults: "\ndefaults: { per_server: 4 }",
            // One database's step kills its own session: the pool must drop that session, and
            // the other targets go on.
            extra: [
                "plans/app/V3__maybe_kill.sql":
                    "SET @victim = IF(DATABASE() = '\(victim)', CONNECTION_ID(), 0);\nEXECUTE IMMEDIATE IF(@victim > 0, CONCAT('KILL ', @victim), 'DO 0');\n",
                "plans/app/U3__maybe_kill.sql": "DO 0;\n",
            ])
        defer {
            MySQLTenantTests.dropTenants(prefix)
            try? TestMariaDB.execute("DROP USER IF EXISTS '\(user)'@'%'")
            try? FileManager.default.removeItem(at: root)
        }
        let environment = ["TENANT_PW": "tenant-pw"]
        let launched = try CommandRunner.launch(
            ["apply", "-i", "inventories/saas.yaml"], in: root, environment: environment)
        let seen = try await Self.highestSessionCount(of: user, while: launched, url: url)
        let result = await launched.wait()
        #expect(result.status != 0, "the killed target must fail the run: \(result)")
        #expect(result.standardOutput.contains("100 targets: 99 succeeded, 1 failed"), "\(result)")
        #expect(result.standardOutput.contains("failed      \(victim)"), "\(result)")
        #expect(seen.max <= 4, "\(seen.max) sessions at once on the server, in \(seen.samples) samples")
        #expect(seen.max >= 1, "the run was never seen on the server (\(seen.samples) samples)")
        #expect(try MySQLTenantTests.count(prefix, table: "accounts", column: "plan") == 100)
        #expect(try MySQLTenantTests.count(prefix, table: "tidemark_history") == 100, "each keeps its own history")

        // Reads too: status of the same fleet stays within the cap.
        let status = try CommandRunner.launch(
            ["status", "-i", "inventories/saas.yaml"], in: root, environment: environment)
        let read = try await Self.highestSessionCount(of: user, while: status, url: url)
        let statusResult = await status.wait()
        #expect(statusResult.standardOutput.contains(victim), "\(statusResult)")
        #expect(read.max <= 4, "\(read.max) sessions at once while reading")
    }
}
