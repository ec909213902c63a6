import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFiles
import TidemarkFleet
import TidemarkPlanner

extension Tidemark {
    /// `tidemark plan`: what apply would do, per target, and why.
    struct PlanCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show, per target, whether apply would apply, roll back, roll forward, or stop and why.",
            discussion:
                "Exits 0 when every target can reach the desired state, 3 when some are blocked, 5 when some wait for a change window, 1 when some cannot be read."
        )

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var selection: SelectionOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var lockOk: LockOkOptions
        @Option(help: "Save the rollout (with each target's planned-from state) for `tidemark apply FILE`.")
        var out: String?
        @Flag(help: "Print the rollout as JSON (schema tidemark.rollout/v1).")
        var json = false
        @Flag(help: "List every target with its steps, instead of one entry per group of identical plans (also -v).")
        var perTarget = false
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            var snapshot = try await FleetSnapshot.load(
                inventoryFile: inventoryOption.inventory, selection: selection.selection, registry: Backends.standard,
                logger: logging.makeLogger())
            snapshot.plan = try FleetInputs.acknowledging(
                lockOk.acknowledgements(by: RunIdentity.currentOperator()), in: snapshot.plan)
            var rollout = try snapshot.rollout(to: planning.desiredVersion, strategy: planning.strategy)
            rollout = WindowRule.applied(to: rollout, inventory: snapshot.inventory, at: try RunClock.make()())
            rollout.inventoryFile = rollout.inventoryFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            if let out {
                do { try RolloutFile.write(rollout, to: out) } catch {
                    throw CommandFailure(.failed, error.description)
                }
            }
            if json {
                Terminal.standardOutput.write(try renderJSON(rollout))
            } else {
                for count in snapshot.inventory.discovery {
                    Terminal.standardOutput.write(PrintableText.escaped(count.line))
                }
                Terminal.standardOutput.write(
                    RolloutText.render(
                        rollout, unreachable: snapshot.unreachable, policy: WavePolicy(inventory: snapshot.inventory),
                        perTarget: perTarget || logging.verbose))
                if let out { Terminal.standardOutput.write("saved to \(out); run it with `tidemark apply \(out)`") }
                if let note = selection.emptyPartitionNote(
                    inventory: inventoryOption.inventory, targetsPlanned: rollout.targets.count)
                {
                    Terminal.standardOutput.write(note)
                }
            }
            if !snapshot.unreachable.isEmpty { throw ExitStatus.failed.exitCode }
            if rollout.targets.contains(where: { $0.action == .blocked }) { throw ExitStatus.blocked.exitCode }
            if rollout.waves.contains(where: { $0.deferral != nil }) { throw ExitStatus.deferred.exitCode }
        }
    }
}
