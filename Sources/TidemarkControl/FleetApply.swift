import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet

/// How one `tidemark apply` ended: in this process, or as one runner of a shared run.
/// Thread-safe value.
package enum ApplyOutcome: Sendable {
    case local(ApplyResult)
    case shared(ControlledApplyResult)

    /// This process's part: the rollout, its report.
    package var apply: ApplyResult {
        switch self {
        case .local(let result): return result
        case .shared(let result): return result.apply
        }
    }

    /// How it ended, for the exit code (a runner's: every target it serves).
    package var status: RunStatus {
        switch self {
        case .local(let result): return result.status
        case .shared(let result): return result.status
        }
    }
}

/// The `tidemark apply` use case: the choice between a run in this process (`ApplyRun`) and
/// this runner's part of a run shared through a control database (`ControlledApplyRun`), made
/// in one place. A dry run and a saved rollout run here; `--control`, `--run-id`, `--serve` or
/// `--lease`, or `control:` in the inventory, share the run. Thread-safe value.
package struct FleetApply: Sendable {
    package var registry: BackendRegistry
    package var logger: Logger

    package init(registry: BackendRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// `sharingAsked`: a control database or runner option was given on the command line.
    package func run(
        _ request: ControlledApplyRequest, sharingAsked: Bool, observer: some ApplyObserver = SilentApplyObserver()
    ) async throws(ControlError) -> ApplyOutcome {
        if try shares(request, sharingAsked: sharingAsked) {
            return .shared(
                try await ControlledApplyRun(registry: registry, logger: logger).run(request, observer: observer))
        }
        do {
            return .local(try await ApplyRun(registry: registry, logger: logger).run(request.apply, observer: observer))
        } catch {
            throw .fleet(error)
        }
    }

    /// Whether the run is shared through a control database.
    func shares(_ request: ControlledApplyRequest, sharingAsked: Bool) throws(ControlError) -> Bool {
        guard !request.apply.dryRun, case .inventory(let inventoryFile, _, _, _) = request.apply.source else {
            return false
        }
        if sharingAsked || request.database != nil { return true }
        do {
            return try FleetInputs.inventory(at: inventoryFile).control != nil
        } catch {
            throw .fleet(error)
        }
    }
}
