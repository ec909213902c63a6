import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet
import TidemarkPlanner
import TidemarkTestSupport

/// One process, no control database: the fleet read, planned and executed as `tidemark apply`
/// does (`FleetSnapshot`, `Planner`, `RolloutExecutor`), each phase timed.
enum SingleProcessBench {
    static func run(_ settings: BenchSettings) async -> Int32 {
        let clock = ContinuousClock()
        let startRSS = memoryKB("VmRSS")
        let total = clock.now
        let inventory = BenchFleet.inventory(
            targets: settings.targets, environments: settings.environments, concurrency: settings.concurrency)
        let plan = BenchFleet.plan(versions: settings.versions)
        let registry = BackendRegistry([MemoryBackend(store: MemoryStore())])

        // Read every target's state as `tidemark apply` does before planning.
        var started = clock.now
        var snapshot = await FleetSnapshot.read(
            inventory: inventory, plan: plan, targets: inventory.allTargets, registry: registry, logger: .silent)
        let readTime = clock.now - started

        started = clock.now
        let rollout: Rollout
        do {
            rollout = try snapshot.rollout()
        } catch {
            FileHandle.standardError.write(Data("tidemark-bench: \(error.description)\n".utf8))
            return 1
        }
        let planTime = clock.now - started
        // As `tidemark apply` does: the states are not needed once planned.
        snapshot.states = [:]

        started = clock.now
        let executor = RolloutExecutor(
            inventory: inventory, plan: plan, registry: registry, runID: "bench", appliedBy: "tidemark-bench",
            logger: .silent)
        let outcomes = await executor.execute(rollout)
        let executeTime = clock.now - started
        let totalTime = clock.now - total

        let succeeded = outcomes.count { $0.outcome == .succeeded }
        let steps = outcomes.reduce(0) { $0 + $1.steps.count }
        print(
            """
            \(row("in-memory fleet", "\(settings.targets) targets, \(settings.environments) environments, \(settings.versions) versions, concurrency \(settings.concurrency)"))
            \(row("read states (FleetSnapshot)", seconds(readTime)))
            \(row("plan (Planner)", seconds(planTime)))
            \(row("execute (RolloutExecutor)", seconds(executeTime)))
            \(row("total wall time", seconds(totalTime)))
            \(row("steps run", "\(steps) (\(succeeded) of \(outcomes.count) targets succeeded)"))
            \(row("peak memory (VmHWM)", megabytes(memoryKB("VmHWM"))))
            \(row("memory at start (VmRSS)", megabytes(startRSS)))
            """)
        guard snapshot.unreachable.isEmpty, succeeded == settings.targets, steps == settings.targets * settings.versions
        else {
            let failures = outcomes.lazy.filter { $0.outcome != .succeeded }.prefix(3).map {
                "\($0.target): \($0.outcome.rawValue) \($0.error ?? $0.reason)"
            }
            FileHandle.standardError.write(
                Data(
                    "tidemark-bench: expected every target to succeed (\(snapshot.unreachable.count) unreadable); \(failures.joined(separator: "; "))\n"
                        .utf8))
            return 1
        }
        return 0
    }
}
