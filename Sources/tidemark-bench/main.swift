// tidemark-bench: plans and executes a large fleet on the in-memory backend and prints wall times
// and peak memory. `scripts/bench` runs it (release build) after the PostgreSQL benchmark; it is a
// measurement, not a test, so it asserts only that every target succeeded.
//
//   tidemark-bench [--targets N] [--environments E] [--versions V] [--concurrency C]
import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkPlanner
import TidemarkTestSupport

/// Command-line settings, with the issue's defaults: 10,000 targets in 4 environments.
struct BenchSettings {
    var targets = 10_000
    var environments = 4
    var versions = 5
    var concurrency = 8

    static let usage = "usage: tidemark-bench [--targets N] [--environments E] [--versions 1...5] [--concurrency C]"

    init(arguments: [String]) throws(BenchFailure) {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let text = rest.popFirst(), let value = Int(text), value > 0 else {
                throw BenchFailure("\(flag) needs a positive number; \(Self.usage)")
            }
            switch flag {
            case "--targets": targets = value
            case "--environments": environments = value
            case "--versions": versions = min(value, BenchFleet.scripts.count)
            case "--concurrency": concurrency = value
            default: throw BenchFailure("unknown option \(flag); \(Self.usage)")
            }
        }
        environments = min(environments, targets)
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The benchmark's inventory and plan: `memory:` targets spread over environments of every tier.
enum BenchFleet {
    /// Forward scripts in the in-memory backend's dialect: real DDL, so every step changes a schema.
    static let scripts = [
        "CREATE TABLE account (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
        "ALTER TABLE account ADD COLUMN email TEXT;\nCREATE UNIQUE INDEX account_email_key ON account (email);",
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL, total_cents BIGINT);",
        "CREATE INDEX orders_account_idx ON orders (account_id);\nINSERT INTO orders (id, account_id) VALUES (1, 1);",
        "ALTER TABLE orders ADD COLUMN shipped_at TIMESTAMPTZ;\nALTER TABLE account ADD COLUMN last_seen TIMESTAMPTZ;",
    ]

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
        let tiers: [Tier] = [.dev, .test, .staging, .prod]
        let run = UUID().uuidString.prefix(8)
        var made: [Environment] = []
        var first = 0
        for index in 0..<environments {
            // Spread the remainder so the counts add up to `targets` exactly.
            let count = targets / environments + (index < targets % environments ? 1 : 0)
            let tier = tiers[min(index, tiers.count - 1)]
            let name = environments <= tiers.count ? tier.rawValue : "\(tier.rawValue)-\(index + 1)"
            let members = (first..<first + count).map { number in
                Target(name: "\(name)-\(number + 1)", environment: name, connection: .url("memory:bench-\(run)-\(number + 1)"))
            }
            first += count
            made.append(Environment(name: name, tier: tier, canary: tier == .prod ? members.first?.name : nil, targets: members))
        }
        return Inventory(
            name: "bench", file: "bench.yaml", planDirectory: "plans/bench", concurrency: concurrency,
            order: made.map(\.name), environments: made)
    }
}

/// Peak and current resident memory from /proc/self/status (Linux); nil elsewhere.
func memoryKB(_ field: String) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
    }
    return nil
}

func megabytes(_ kilobytes: Int?) -> String {
    kilobytes.map { String(format: "%.1f MB", Double($0) / 1024) } ?? "n/a"
}

func seconds(_ duration: Duration) -> String {
    let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    return String(format: "%.3f s", value)
}

func row(_ label: String, _ value: String) -> String {
    label.padding(toLength: 34, withPad: " ", startingAt: 0) + value
}

let settings: BenchSettings
do {
    settings = try BenchSettings(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("tidemark-bench: \(error.description)\n".utf8))
    exit(2)
}

let logger = Logger.silent
let clock = ContinuousClock()
let startRSS = memoryKB("VmRSS")
let total = clock.now

let inventory = BenchFleet.inventory(targets: settings.targets, environments: settings.environments, concurrency: settings.concurrency)
let plan = BenchFleet.plan(versions: settings.versions)
let store = MemoryStore()
let registry = BackendRegistry([MemoryBackend(store: store)])

// Read every target's state as `tidemark apply` does before planning.
var started = clock.now
let pool = DispatchWorkers(count: settings.concurrency, label: "tidemark-bench-read")
let read = await FleetReader(registry: registry, logger: logger).readStates(of: inventory.allTargets, inventory: inventory, pool: pool, missingDatabases: .readAsEmpty)
let readTime = clock.now - started
var states: [String: TargetState] = [:]
var unreadable = 0
for (name, result) in read {
    switch result {
    case .success(let state): states[name] = state
    case .failure: unreadable += 1
    }
}

started = clock.now
let rollout = Planner(inventory: inventory, plan: plan).plan(states: states)
let planTime = clock.now - started

started = clock.now
let executor = RolloutExecutor(
    inventory: inventory, plan: plan, registry: registry, runID: "bench", appliedBy: "tidemark-bench", logger: logger)
let outcomes = await executor.execute(rollout)
let executeTime = clock.now - started
let totalTime = clock.now - total

let succeeded = outcomes.filter { $0.outcome == .succeeded }.count
let steps = outcomes.reduce(0) { $0 + $1.steps.count }
print(
    """
    \(row("in-memory fleet", "\(settings.targets) targets, \(settings.environments) environments, \(settings.versions) versions, concurrency \(settings.concurrency)"))
    \(row("read states (FleetReader)", seconds(readTime)))
    \(row("plan (Planner)", seconds(planTime)))
    \(row("execute (RolloutExecutor)", seconds(executeTime)))
    \(row("total wall time", seconds(totalTime)))
    \(row("steps run", "\(steps) (\(succeeded) of \(outcomes.count) targets succeeded)"))
    \(row("peak memory (VmHWM)", megabytes(memoryKB("VmHWM"))))
    \(row("memory at start (VmRSS)", megabytes(startRSS)))
    """)
if unreadable > 0 || succeeded != settings.targets || steps != settings.targets * settings.versions {
    let failures = outcomes.filter { $0.outcome != .succeeded }.prefix(3).map { "\($0.target): \($0.outcome.rawValue) \($0.error ?? $0.reason)" }
    FileHandle.standardError.write(
        Data("tidemark-bench: expected every target to succeed (\(unreadable) unreadable); \(failures.joined(separator: "; "))\n".utf8))
    exit(1)
}
