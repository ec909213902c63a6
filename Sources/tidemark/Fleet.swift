import ArgumentParser
import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkPlanner

/// `--env E`… `--target T`…: which targets a fleet command acts on (default: all).
struct SelectionOptions: ParsableArguments {
    @Option(name: .customLong("env"), help: "Only targets of this environment (repeatable).")
    var environments: [String] = []
    @Option(name: .customLong("target"), help: "Only this target (repeatable).")
    var targets: [String] = []

    /// The selected targets in inventory order; unknown names are a usage error (exit 2).
    func select(from inventory: Inventory) throws -> [Target] {
        for name in environments where inventory.environment(named: name) == nil {
            let known = inventory.environments.map(\.name)
            let hint = Suggestion.closest(to: name, among: known).map { "did you mean '\($0)'?" } ?? "environments: \(known.joined(separator: ", "))"
            throw CommandFailure(.invalidInput, "\(inventory.file): no environment named '\(name)'; \(hint)")
        }
        for name in targets { _ = try inventory.requireTarget(name) }
        return inventory.allTargets.filter { target in
            (environments.isEmpty || environments.contains(target.environment)) && (targets.isEmpty || targets.contains(target.name))
        }
    }
}

/// `--to V` and `--strategy S`.
struct PlanningOptions: ParsableArguments {
    @Option(name: .customLong("to"), help: "The desired version (default: the latest that is not quarantined).")
    var desiredVersion: String?
    @Option(help: "auto (follow the rules), rollback, or rollforward.")
    var strategy: Strategy = .auto

    func version(in plan: Plan) throws -> Version? {
        guard let text = desiredVersion else { return nil }
        guard let version = Version(text, style: plan.versionStyle), plan.migration(version) != nil else {
            let known = plan.migrations.map(\.version.text)
            throw CommandFailure(
                .invalidInput,
                "--to \(text): plan \(plan.name) has no version \(text); versions: \(known.prefix(3).joined(separator: ", "))\(known.count > 3 ? " … \(known.last ?? "")" : "")")
        }
        return version
    }
}

extension Strategy: ExpressibleByArgument {}

/// An inventory, its plan, the selected targets and their live state: what status, plan and apply share.
struct FleetSnapshot {
    var inventory: Inventory
    var plan: Plan
    var targets: [Target]
    var states: [String: TargetState]
    /// Targets whose state could not be read, with the reason.
    var unreachable: [String: BackendError]

    /// Loads and reads everything; input problems exit 2.
    static func load(
        inventory option: InventoryOption, selection: SelectionOptions, missingDatabases: FleetReader.MissingDatabases = .readAsEmpty, logger: Logger
    ) async throws -> FleetSnapshot {
        let inventory = try option.load()
        let plan = try loadPlan(at: inventory.planDirectory)
        let targets = try selection.select(from: inventory)
        let pool = WorkerPool(threadCount: min(max(inventory.concurrency, 1), 16), name: "tidemark-read")
        defer { pool.shutdown() }
        let results = await FleetReader(registry: Backends.standard, logger: logger).readStates(of: targets, inventory: inventory, pool: pool, missingDatabases: missingDatabases)
        var states: [String: TargetState] = [:]
        var unreachable: [String: BackendError] = [:]
        for (name, result) in results {
            switch result {
            case .success(let state): states[name] = state
            case .failure(let error): unreachable[name] = error
            }
        }
        return FleetSnapshot(inventory: inventory, plan: plan, targets: targets, states: states, unreachable: unreachable)
    }

    /// The rollout for the targets that could be read.
    func rollout(_ planning: PlanningOptions) throws -> Rollout {
        let options = PlannerOptions(
            desiredVersion: try planning.version(in: plan), strategy: planning.strategy,
            targets: Set(targets.map(\.name).filter { states[$0] != nil }))
        return Planner(inventory: inventory, plan: plan).plan(states: states, options: options)
    }
}

/// Loads a plan directory, or fails with every problem (exit 2).
func loadPlan(at directory: String) throws -> Plan {
    do {
        return try PlanDirectory.load(at: directory)
    } catch {
        throw CommandFailure(.invalidInput, error.description)
    }
}

/// `user@host`, recorded as `applied_by` in every history row.
func currentOperator() -> String {
    let environment = ProcessInfo.processInfo.environment
    let user = environment["TIDEMARK_APPLIED_BY"] ?? environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
    return user.contains("@") ? user : "\(user)@\(ProcessInfo.processInfo.hostName)"
}

/// A run id that sorts by time: `20261124T230512Z-3fa9c1`.
func makeRunID(now: Date = Date()) -> String {
    let stamp = now.formatted(.iso8601.year().month().day().dateSeparator(.omitted).time(includingFractionalSeconds: false).timeSeparator(.omitted))
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    return "\(stamp)-\(String(repeating: "0", count: max(0, 8 - suffix.count)))\(suffix)"
}
