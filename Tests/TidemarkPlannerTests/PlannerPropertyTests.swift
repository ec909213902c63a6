import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkPlanner
import TidemarkTestSupport

/// Deterministic random numbers (SplitMix64), so a failing case can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One generated world: a plan that grew over time, a fleet, and targets whose history was made
/// by really executing earlier rollouts on the in-memory backend.
struct GeneratedCase: CustomStringConvertible {
    var seed: UInt64
    var inventory: Inventory
    var plan: Plan
    var options: PlannerOptions
    var store: MemoryStore

    var description: String {
        let migrations = plan.migrations.map { migration in
            "\(migration.version)\(migration.compensates.map { "(comp \($0))" } ?? "")\(migration.undo == nil ? "(no undo)" : "")"
        }
        let environments = inventory.environments.map {
            "\($0.name):\($0.tier.rawValue)\($0.live ? ",live" : "")\($0.audit ? ",audit" : "")"
        }
        return
            "seed \(seed): plan [\(migrations.joined(separator: " "))], quarantine \(plan.quarantine.map(\.version.text)), envs \(environments), to \(options.desiredVersion), strategy \(options.strategy)"
    }
}

@Suite struct PlannerPropertyTests {
    static let cases = 1_000

    static func v(_ number: Int) -> Version { Version(numeric: String(number)) ?? Version(numeric: "0")! }

    static func base(_ number: Int, undo: Bool) -> Migration {
        let create = "CREATE TABLE t\(number) (id int);"
        return Migration(
            version: v(number), description: "create t\(number)",
            forward: Script(path: "V\(number)__t.sql", sql: create, checksum: "f\(number)"),
            undo: undo ? Script(path: "U\(number)__t.sql", sql: "DROP TABLE t\(number);", checksum: "u\(number)") : nil)
    }

    static func compensation(_ number: Int, of reversed: Int) -> Migration {
        Migration(
            version: v(number), description: "revert t\(reversed)",
            forward: Script(
                path: "V\(number)__revert.sql", sql: "DROP TABLE t\(reversed);", checksum: "f\(number)",
                compensates: v(reversed)),
            undo: Script(
                path: "U\(number)__revert.sql", sql: "CREATE TABLE t\(reversed) (id int);", checksum: "u\(number)"))
    }

    /// Runs a rollout on the memory backend; returns the outcomes.
    static func execute(_ rollout: Rollout, inventory: Inventory, plan: Plan, store: MemoryStore) async
        -> [TargetOutcome]
    {
        let executor = RolloutExecutor(
            inventory: inventory, plan: plan, registry: BackendRegistry([MemoryBackend(store: store)]), runID: "prop",
            appliedBy: "property@test", logger: .silent)
        return await executor.execute(rollout)
    }

    static func states(_ inventory: Inventory, store: MemoryStore) -> [String: TargetState] {
        Dictionary(
            uniqueKeysWithValues: inventory.allTargets.map { ($0.name, TargetState(history: store.history(of: $0))) })
    }

    /// A plan that grew, a fleet that followed it part of the way, then quarantines and compensations.
    static func generate(seed: UInt64) async -> GeneratedCase {
        var random = SeededGenerator(seed: seed)
        let store = MemoryStore()
        let baseCount = Int.random(in: 2...6, using: &random)
        var migrations = (1...baseCount).map { base($0, undo: Double.random(in: 0..<1, using: &random) > 0.1) }

        var environments: [Environment] = []
        for index in 0..<Int.random(in: 2...5, using: &random) {
            let tier = Tier.allCases.randomElement(using: &random) ?? .dev
            let name = "env\(index)"
            let targets = (0..<Int.random(in: 1...3, using: &random)).map { number in
                Target(
                    name: "\(name)-t\(number)", environment: name, connection: .url("memory:\(seed)-\(name)-\(number)"))
            }
            environments.append(
                Environment(
                    name: name, tier: tier, live: tier == .prod ? Bool.random(using: &random) : false,
                    audit: Double.random(in: 0..<1, using: &random) < 0.15, maxFailures: Int.max, targets: targets))
        }
        let inventory = Inventory(
            name: "prop", file: "prop.yaml", planDirectory: "plans/prop", environments: environments)

        // History: each target was brought to a random version of the early plan, for real.
        let early = Plan(name: "prop", directory: "plans/prop", format: .flyway, migrations: migrations)
        for target in inventory.allTargets {
            let reached = Int.random(in: 0...baseCount, using: &random)
            guard reached > 0 else { continue }
            let rollout = Planner(inventory: inventory, plan: early).plan(
                states: [:], options: PlannerOptions(desiredVersion: .version(v(reached)), targets: [target.name]))
            _ = await execute(rollout, inventory: inventory, plan: early, store: store)
        }

        // Then some versions turn out bad; some get a compensating version; new versions arrive.
        var next = baseCount + 1
        var quarantine: [QuarantineEntry] = []
        for number in 1...baseCount where Double.random(in: 0..<1, using: &random) < 0.3 {
            quarantine.append(QuarantineEntry(version: v(number), reason: "bad \(number)", at: "2026-11-24T00:00:00Z"))
            if Double.random(in: 0..<1, using: &random) < 0.7 {
                migrations.append(compensation(next, of: number))
                next += 1
            }
        }
        for _ in 0..<Int.random(in: 0...2, using: &random) {
            migrations.append(base(next, undo: true))
            next += 1
        }
        let plan = Plan(
            name: "prop", directory: "plans/prop", format: .flyway, migrations: migrations, quarantine: quarantine)

        let strategy: Strategy =
            Double.random(in: 0..<1, using: &random) < 0.6
            ? .auto : (Bool.random(using: &random) ? .rollback : .rollforward)
        // Mostly the latest; sometimes a version of the plan; sometimes no version at all (`--to 0`).
        let roll = Double.random(in: 0..<1, using: &random)
        let desired: DesiredVersion =
            if roll < 0.15, let version = plan.migrations.randomElement(using: &random)?.version {
                .version(version)
            } else if roll < 0.2 { .empty } else { .latest }
        return GeneratedCase(
            seed: seed, inventory: inventory, plan: plan,
            options: PlannerOptions(desiredVersion: desired, strategy: strategy), store: store)
    }

    @Test func invariantsHoldOverGeneratedFleetsAndPlans() async throws {
        var blockedTotal = 0
        var actionsSeen: Set<Action> = []
        for seed in 1...UInt64(Self.cases) {
            let world = await Self.generate(seed: seed)
            let planner = Planner(inventory: world.inventory, plan: world.plan)
            let before = Self.states(world.inventory, store: world.store)
            let rollout = planner.plan(states: before, options: world.options)

            // Deterministic: the same inputs give the same rollout.
            #expect(planner.plan(states: before, options: world.options) == rollout, "\(world)")

            for target in rollout.targets {
                actionsSeen.insert(target.action)
                // The typed decision and the action agree; a blocked target says why, as a value.
                #expect(target.decision?.action == target.action, "\(world): \(target.target)")
                #expect((target.blocked != nil) == (target.action == .blocked), "\(world): \(target.target)")
                // Never a quarantined forward step.
                let quarantinedRuns = target.steps.filter {
                    ($0.kind == .forward || $0.kind == .compensate) && world.plan.isQuarantined($0.version)
                }
                #expect(
                    quarantinedRuns.isEmpty,
                    "\(world): \(target.target) runs quarantined \(quarantinedRuns.map(\.version))")
                // Live prod and audited targets never get an undo step.
                // (The rule restated here, not asked of RuleTable, so a broken table cannot vouch for itself.)
                if let environment = world.inventory.environment(named: target.environment),
                    environment.audit || (environment.tier == .prod && environment.live)
                {
                    #expect(
                        !target.steps.contains { $0.kind == .undo },
                        "\(world): \(target.target) (\(environment.name)) gets an undo step")
                }
            }

            // Execute for real on the in-memory backend: every step the planner chose must run.
            let outcomes = await Self.execute(rollout, inventory: world.inventory, plan: world.plan, store: world.store)
            for outcome in outcomes {
                #expect(outcome.outcome != .failed, "\(world): \(outcome.target) failed: \(outcome.error ?? "")")
            }

            // Re-planning gives none for every target that was not blocked.
            let replanned = planner.plan(
                states: Self.states(world.inventory, store: world.store), options: world.options)
            let blocked = Set(rollout.targets.filter { $0.action == .blocked }.map(\.target))
            blockedTotal += blocked.count
            for target in replanned.targets where !blocked.contains(target.target) {
                #expect(
                    target.action == .none, "\(world): \(target.target) re-planned \(target.action): \(target.reason)")
            }

            // Every converged target has the same schema effect, whatever path it took.
            let expected = planner.desiredBaseVersions(upTo: rollout.desiredVersion).map { "t\($0)" }.sorted()
            for target in world.inventory.allTargets where !blocked.contains(target.name) {
                #expect(
                    world.store.tables(of: target).sorted() == expected,
                    "\(world): \(target.name) has \(world.store.tables(of: target).sorted()), expected \(expected)")
            }
        }
        // The generator must reach every kind of decision, or the properties prove little.
        #expect(actionsSeen == Set(Action.allCases), "actions seen: \(actionsSeen)")
        #expect(blockedTotal > 0)
    }
}
