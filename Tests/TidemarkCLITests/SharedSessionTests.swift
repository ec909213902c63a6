import Foundation
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// Sessions shared per server (docs/tenants.md#shared-sessions-per-server), seen from the server:
/// however many workers a run has, `per_server` is the most sessions it holds there at once, and
/// every target still gets its own history.
@Suite(
    "Tenant fleets: sessions per server", .serialized,
    .enabled(if: TestPostgres.isAvailable, "\(TestPostgres.skipReason)"))
struct SharedSessionTests {
    /// `url` with `application_name` set, so the run's sessions can be told from every other
    /// session on the shared test server.
    static func tagged(_ url: String, as name: String) -> String {
        url + (url.contains("?") ? "&" : "?") + "application_name=\(name)"
    }

    /// The largest number of sessions named `name` seen while `launched` runs, sampled back to
    /// back from a session of its own (on a thread of its own: libpq blocks).
    static func highestSessionCount(named name: String, while launched: CommandRunner.Launched, url: String)
        async throws -> (max: Int, samples: Int)
    {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let session = try PostgresSession(
                        target: Target(name: "sampler", environment: "test", connection: .url(url)),
                        timeouts: .standard, logger: .silent)
                    var highest = 0
                    var samples = 0
                    while launched.isRunning {
                        let rows = try session.query(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [name])
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
        "300 schemas with concurrency 32 and per_server 4: never more than 4 sessions on the server, and every schema migrated"
    )
    func perServerCapsTheSessionsOneServerGets() async throws {
        let url = try #require(TestPostgres.url)
        let tests = TenantDiscoveryTests()
        let prefix = TenantDiscoveryTests.prefix()
        let name = "tm-\(prefix.dropLast())"
        try tests.createTenants(prefix, count: 300)
        let root = try CommandRunner.temporaryDirectory("tidemark-per-server")
        let inventory = """
            inventory: many
            plan: ../plans/app
            concurrency: 32
            defaults: { per_server: 4 }
            environments:
              tenants:
                tier: dev
                targets:
                  - discover: { url: \(TenantDiscoveryTests.quoted(Self.tagged(url, as: name))), schemas: "\(prefix)%" }
            """
        try TestWorkspace.write(
            TenantDiscoveryTests.plan.merging(["inventories/many.yaml": inventory]) { $1 }, under: root)
        defer {
            tests.dropTenants(prefix)
            try? FileManager.default.removeItem(at: root)
        }

        let launched = try CommandRunner.launch(["apply", "-i", "inventories/many.yaml"], in: root)
        let seen = try await Self.highestSessionCount(named: name, while: launched, url: url)
        let result = await launched.wait()
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains("300 targets: 300 succeeded"), "\(result)")
        #expect(seen.max <= 4, "\(seen.max) sessions at once on the server, in \(seen.samples) samples")
        #expect(seen.max >= 1, "the run was never seen on the server (\(seen.samples) samples)")
        #expect(tests.migratedCount(prefix, is: 300))
        #expect(tests.historyCount(prefix, is: 300), "every target keeps its own history")

        // Reads too: status of the same fleet stays within the cap.
        let status = try CommandRunner.launch(["status", "-i", "inventories/many.yaml"], in: root)
        let read = try await Self.highestSessionCount(named: name, while: status, url: url)
        let statusResult = await status.wait()
        #expect(statusResult.status == 0, "\(statusResult)")
        #expect(read.max <= 4, "\(read.max) sessions at once while reading")
    }
}
