import Foundation
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet
import TidemarkSQLite
import TidemarkTestSupport

/// `--partition I/N` with the real binary: N processes at once (as a Kubernetes Indexed Job or a
/// CI matrix starts them) cover every target of a SQLite fleet exactly once.
@Suite struct PartitionCommandTests {
    static let targetCount = 24

    func workspace() throws -> TestWorkspace {
        try TestWorkspace(
            prefix: "tidemark-partition",
            scripts: [
                "V1__users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);",
                "U1__users.sql": "DROP TABLE users;",
                "V2__email.sql": "ALTER TABLE users ADD COLUMN email TEXT;",
                "U2__email.sql": "ALTER TABLE users DROP COLUMN email;",
            ],
            inventory: { _ in
                """
                inventory: fleet
                plan: ../plans/app
                concurrency: 2
                environments:
                  dev:
                    tier: dev
                    targets:
                      - { name: "dev-{1..4}", url: "sqlite:../db/dev-{1..4}.db" }
                  prod:
                    tier: prod
                    live: true
                    targets:
                      - { name: "shard-{01..20}", url: "sqlite:../db/shard-{01..20}.db" }
                """
            })
    }

    var allNames: [String] { (1...4).map { "dev-\($0)" } + (1...20).map { String(format: "shard-%02d", $0) } }

    func report(_ json: String) throws -> RunReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601Milliseconds
        return try decoder.decode(RunReport.self, from: Data(json.utf8))
    }

    @Test func concurrentPartitionsCoverEveryTargetExactlyOnce() async throws {
        let workspace = try workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        let locks = workspace.root.appendingPathComponent("locks").path
        let count = 4
        // All four at once on one machine: each partition's run lock is its own.
        let results = try await withThrowingTaskGroup(of: (Int, CommandRunner.Result).self) { group in
            for index in 0..<count {
                group.addTask {
                    (
                        index,
                        try await CommandRunner.run(
                            [
                                "apply", "-i", "inventories/fleet.yaml", "--partition", "\(index)/\(count)", "--yes",
                                "--json",
                            ],
                            in: workspace.root, environment: ["TIDEMARK_LOCK_DIR": locks])
                    )
                }
            }
            var results: [(Int, CommandRunner.Result)] = []
            for try await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        var covered: [String] = []
        for (index, result) in results {
            #expect(result.status == 0, "partition \(index): \(result)")
            let targets = try report(result.standardOutput).targets
            #expect(
                targets.allSatisfy { Partition.slice(of: $0.target, count: count) == index },
                "partition \(index) ran \(targets.map(\.target))")
            #expect(targets.allSatisfy { $0.outcome == .succeeded })
            covered += targets.map(\.target)
        }
        #expect(covered.sorted() == allNames.sorted(), "covered \(covered.sorted())")

        // Every target ran each version once.
        for name in allNames {
            let target = Target(
                name: name, environment: "x", connection: .url("sqlite:\(workspace.root.path)/db/\(name).db"))
            let connection = try SQLiteBackend().connect(
                to: target, access: .readOnly, timeouts: .standard, logger: .silent)
            let rows = try connection.readHistory()
            #expect(
                rows.map(\.version) == ["1", "2"] && rows.allSatisfy { $0.kind == .forward && $0.success },
                "\(name): \(rows)")
        }

        // Cut another way (three slices), the fleet is already there: nothing runs twice.
        for index in 0..<3 {
            let again = try await CommandRunner.run(
                ["apply", "-i", "inventories/fleet.yaml", "--partition", "\(index)/3", "--yes", "--json"],
                in: workspace.root,
                environment: ["TIDEMARK_LOCK_DIR": locks])
            #expect(again.status == 0, "\(again)")
            #expect(try report(again.standardOutput).targets.allSatisfy { $0.outcome == .unchanged })
        }
    }

    @Test func aPartitionWithNoTargetSaysSoAndExitsZero() async throws {
        let workspace = try workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        let count = 64
        let empty = try #require(
            (0..<count).first { index in !allNames.contains { Partition.slice(of: $0, count: count) == index } })
        let result = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--partition", "\(empty)/\(count)", "--yes"], in: workspace.root,
            environment: ["TIDEMARK_LOCK_DIR": workspace.root.appendingPathComponent("locks").path])
        #expect(result.status == 0, "\(result)")
        #expect(
            result.standardOutput.contains("partition \(empty)/\(count) holds none of the selected targets"),
            "\(result)")
        // No run happened: no report, no database.
        #expect(!FileManager.default.fileExists(atPath: workspace.root.appendingPathComponent(".tidemark/runs").path))
    }

    @Test(arguments: [
        (["--partition", "3/3"], "--partition 3/3: I is 0-based"),
        (["--partition", "two/3"], "--partition two/3: write it as I/N"),
    ])
    func badPartitionExitsTwo(arguments: [String], message: String) async throws {
        let workspace = try workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        for command in ["apply", "plan", "status"] {
            let result = try await CommandRunner.run(
                [command, "-i", "inventories/fleet.yaml"] + arguments, in: workspace.root)
            #expect(result.status == 2, "\(command): \(result)")
            #expect(result.standardError.contains(message), "\(command): \(result)")
        }
    }

    @Test func aSavedRolloutRefusesAPartition() async throws {
        let workspace = try workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        let saved = try await CommandRunner.run(
            ["plan", "-i", "inventories/fleet.yaml", "--partition", "0/2", "--out", "p0.json"], in: workspace.root)
        #expect(saved.status == 0, "\(saved)")
        let result = try await CommandRunner.run(["apply", "p0.json", "--partition", "1/2"], in: workspace.root)
        #expect(
            result.status == 2
                && result.standardError.contains("drop --to, --strategy, --env, --target and --partition"), "\(result)")
    }
}
