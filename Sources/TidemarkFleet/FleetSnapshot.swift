import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkPlanner
import TidemarkSQLCheck

/// An inventory, its plan, the selected targets and their live state: what status, plan and
/// apply start from. Thread-safe value.
package struct FleetSnapshot: Sendable {
    package var inventory: Inventory
    package var plan: Plan
    package var targets: [Target]
    package var states: [String: TargetState]
    /// Targets whose state could not be read, with the reason.
    package var unreachable: [String: BackendError]

    package init(
        inventory: Inventory, plan: Plan, targets: [Target], states: [String: TargetState],
        unreachable: [String: BackendError]
    ) {
        self.inventory = inventory
        self.plan = plan
        self.targets = targets
        self.states = states
        self.unreachable = unreachable
    }

    /// Reads the inventory at `inventoryFile` and its plan, then every selected target's state.
    /// Reading never creates a database; `missingDatabases` says whether a target whose
    /// database does not exist yet is unreachable (`status`) or empty (`plan`, `apply`).
    package static func load(
        inventoryFile: String, selection: TargetSelection,
        missingDatabases: FleetReader.MissingDatabases = .readAsEmpty,
        registry: BackendRegistry, logger: Logger
    ) async throws(FleetError) -> FleetSnapshot {
        let inventory = try await FleetInputs.fleet(at: inventoryFile, registry: registry, logger: logger)
        let plan = try FleetInputs.plan(at: inventory.planDirectory)
        let targets = try selection.select(from: inventory)
        let lagProblems = MaxLagCheck.problems(plan: plan, targets: targets, inventoryFile: inventoryFile)
        if !lagProblems.isEmpty { throw .maxLagNeedsReplicas(lagProblems) }
        return await read(
            inventory: inventory, plan: plan, targets: targets,
            missingDatabases: missingDatabases,
            registry: registry, logger: logger)
    }

    /// Reads the state of `targets`, at most the inventory's concurrency (up to 16) at a time.
    package static func read(
        inventory: Inventory, plan: Plan, targets: [Target],
        missingDatabases: FleetReader.MissingDatabases = .readAsEmpty,
        registry: BackendRegistry, logger: Logger
    ) async -> FleetSnapshot {
        let workers = DispatchWorkers(count: WavePolicy.readWorkers(inventory), label: "tidemark-read")
        let results = await FleetReader(registry: registry, logger: logger).readStates(
            of: targets, inventory: inventory, pool: workers, missingDatabases: missingDatabases,
            relations: Array(Set(plan.lockRiskRelations + plan.batchedTables)).sorted(), batches: plan.batchSpecs)
        var states: [String: TargetState] = [:]
        var unreachable: [String: BackendError] = [:]
        for (name, result) in results {
            switch result {
            case .success(let state): states[name] = state
            case .failure(let error): unreachable[name] = error
            }
        }
        return FleetSnapshot(
            inventory: inventory, plan: plan, targets: targets, states: states, unreachable: unreachable)
    }

    /// The rollout for the targets whose state could be read.
    package func rollout(to desiredVersion: String? = nil, strategy: Strategy = .auto) throws(FleetError) -> Rollout {
        let options = PlannerOptions(
            desiredVersion: try FleetInputs.desiredVersion(desiredVersion, in: plan), strategy: strategy,
            targets: Set(targets.map(\.name).filter { states[$0] != nil }))
        return Planner(inventory: inventory, plan: plan).plan(states: states, options: options)
    }

    /// The targets that could not be read, as `failed` outcomes for a run report.
    package var unreachableOutcomes: [TargetOutcome] {
        unreachable.sorted { $0.key < $1.key }.map { name, error in
            TargetOutcome(
                target: name, environment: inventory.target(named: name)?.environment ?? "", action: .none,
                outcome: .failed,
                reason: "its state could not be read", fromVersion: nil, toVersion: nil, error: error.description)
        }
    }
}
