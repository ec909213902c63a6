import Foundation
import TidemarkCore

/// The benchmark's fleet: `memory:` targets spread over environments of every tier, and a plan
/// of real DDL in the in-memory backend's dialect, so every step changes a schema.
enum BenchFleet {
    static let scripts = [
        "CREATE TABLE account (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
        "ALTER TABLE account ADD COLUMN email TEXT;\nCREATE UNIQUE INDEX account_email_key ON account (email);",
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL, total_cents BIGINT);",
        "CREATE INDEX orders_account_idx ON orders (account_id);\nINSERT INTO orders (id, account_id) VALUES (1, 1);",
        "ALTER TABLE orders ADD COLUMN shipped_at TIMESTAMPTZ;\nALTER TABLE account ADD COLUMN last_seen TIMESTAMPTZ;",
    ]

    static let tiers: [Tier] = [.dev, .test, .staging, .prod]

    /// The environments' names and how many targets each gets: `targets` spread evenly (the
    /// remainder to the first), the last environment `prod` (with a canary).
    static func environments(targets: Int, environments: Int) -> [(name: String, tier: Tier, count: Int)] {
        (0..<environments).map { index in
            let tier = tiers[min(index, tiers.count - 1)]
            let name = environments <= tiers.count ? tier.rawValue : "\(tier.rawValue)-\(index + 1)"
            return (name, tier, targets / environments + (index < targets % environments ? 1 : 0))
        }
    }

    static func plan(versions: Int) -> Plan {
        let migrations = scripts.prefix(versions).enumerated().compactMap { index, sql -> Migration? in
            guard let version = Version(numeric: String(index + 1)) else { return nil }
            return Migration(
                version: version, description: "bench \(index + 1)",
                forward: Script(path: "V\(index + 1)__bench.sql", sql: sql, checksum: "bench-\(index + 1)"), undo: nil)
        }
        return Plan(name: "bench", directory: "plans/bench", format: .flyway, migrations: migrations)
    }

    static func inventory(targets: Int, environments: Int, concurrency: Int) -> Inventory {
        let run = UUID().uuidString.prefix(8)
        var made: [Environment] = []
        var first = 0
        for (name, tier, count) in self.environments(targets: targets, environments: environments) {
            let members = (first..<first + count).map { number in
                Target(
                    name: "\(name)-\(number + 1)", environment: name,
                    connection: .url("memory:bench-\(run)-\(number + 1)"))
            }
            first += count
            made.append(
                Environment(name: name, tier: tier, canary: tier == .prod ? members.first?.name : nil, targets: members)
            )
        }
        return Inventory(
            name: "bench", file: "bench.yaml", planDirectory: "plans/bench", concurrency: concurrency,
            order: made.map(\.name), environments: made)
    }

    /// The same fleet as files a runner reads, in `directory`: `plan/V<n>__bench.sql` and
    /// `bench.yaml` (one brace range per environment, so 100,000 targets are a few lines).
    /// Returns the inventory's path.
    static func write(
        into directory: URL, name: String, targets: Int, environments: Int, versions: Int, concurrency: Int
    ) throws -> String {
        let planDirectory = directory.appendingPathComponent("plan")
        try FileManager.default.createDirectory(at: planDirectory, withIntermediateDirectories: true)
        for (index, sql) in scripts.prefix(versions).enumerated() {
            try Data((sql + "\n").utf8).write(to: planDirectory.appendingPathComponent("V\(index + 1)__bench.sql"))
        }
        var yaml = "inventory: \(name)\nplan: plan\nconcurrency: \(concurrency)\nenvironments:\n"
        var first = 1
        for (environment, tier, count) in self.environments(targets: targets, environments: environments)
        where count > 0 {
            let range = count == 1 ? "\(first)" : "{\(first)..\(first + count - 1)}"
            yaml += "  \(environment):\n    tier: \(tier.rawValue)\n"
            if tier == .prod { yaml += "    canary: \(environment)-\(first)\n    max_failures: 0\n" }
            yaml += "    targets:\n      - { name: \"\(environment)-\(range)\", url: \"memory:\(name)-\(range)\" }\n"
            first += count
        }
        let file = directory.appendingPathComponent("bench.yaml")
        try Data(yaml.utf8).write(to: file)
        return file.path
    }
}
