import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkPostgres
import TidemarkTestSupport

/// Many schemas' histories read together on one session (docs/tenants.md#shared-sessions-per-server)
/// read exactly what each schema's own connection reads: rows, the table an older Tidemark
/// wrote, a schema without the table; a row that cannot be read fails only its schema.
@Suite(
    "PostgreSQL: many schemas' histories at once",
    .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresHistoriesTests {
    @Test func historiesReadTogetherEqualEachSchemasOwnRead() throws {
        let url = try #require(TestPostgres.url)
        let backend = PostgresBackend()
        let prefix = "tmh" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10) + "_"
        let targets = (1...120).map {
            Target(name: "h-\($0)", environment: "test", connection: .url(url), schema: "\(prefix)\($0)")
        }
        defer {
            try? TestPostgres.execute(
                "DO $tm$ DECLARE s text; BEGIN FOR s IN SELECT nspname FROM pg_namespace WHERE starts_with(nspname, '\(prefix)') LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END $tm$"
            )
        }
        // Schemas 1…100 get 1…3 versions; 101…119 exist without a history table; 120 does not exist.
        for (index, target) in targets.enumerated() where index < 100 {
            let connection = try backend.connect(to: target, timeouts: .standard, logger: .silent)
            defer { connection.close() }
            try connection.ensureHistoryTable()
            for version in 1...(index % 3 + 1) {
                try connection.run(
                    StepRequest(
                        version: "\(version)", description: "v\(version)", kind: .forward,
                        scriptPath: "V\(version).sql", sql: "SELECT 1",
                        checksum: "c\(version)", transactional: true, runID: "r", appliedBy: "test"))
            }
        }
        try TestPostgres.execute(
            (100..<119).map { "CREATE SCHEMA \(TestPostgres.quoted("\(prefix)\($0 + 1)"))" }.joined(separator: "; ")
                // Schema 2 as an older Tidemark wrote it (no attempt column); schema 3 with a row nobody can read.
                + "; ALTER TABLE \(TestPostgres.quoted("\(prefix)2")).tidemark_history DROP COLUMN attempt, DROP COLUMN batch_last_key, DROP COLUMN batch_rows"
                // Schema 4 at history table version 1 (attempt, no batch columns).
                + "; ALTER TABLE \(TestPostgres.quoted("\(prefix)4")).tidemark_history DROP COLUMN batch_last_key, DROP COLUMN batch_rows"
                + "; UPDATE \(TestPostgres.quoted("\(prefix)3")).tidemark_history SET kind = 'sideways' WHERE id = 1")

        var timeouts = Timeouts.standard
        timeouts.sessionsPerServer = 2
        let together = try backend.readHistories(of: targets, timeouts: timeouts, logger: .silent)
        #expect(together.count == targets.count)
        for target in targets {
            let alone: Result<[HistoryEntry], BackendError>
            do {
                let connection = try backend.connect(
                    to: target, access: .readOnly, timeouts: .standard, logger: .silent)
                defer { connection.close() }
                alone = .success(try connection.readHistory())
            } catch {
                alone = .failure(error)
            }
            switch (together[target.name], alone) {
            case (.success(let a)?, .success(let b)): #expect(a == b, "\(target.name)")
            case (.failure?, .failure): break
            default:
                Issue.record("\(target.name): together \(String(describing: together[target.name])), alone \(alone)")
            }
        }
        #expect(together["h-1"].flatMap { try? $0.get().count } == 1)
        #expect(together["h-2"].flatMap { try? $0.get().map(\.attempt) } == [1, 1])
        #expect(together["h-110"].flatMap { try? $0.get() } == [])
        #expect(together["h-120"].flatMap { try? $0.get() } == [])
        if case .failure(let error)? = together["h-3"] {
            #expect(error.description.contains("h-3"), "\(error)")
        } else {
            Issue.record("the unreadable row of h-3 was read: \(String(describing: together["h-3"]))")
        }
    }
}
