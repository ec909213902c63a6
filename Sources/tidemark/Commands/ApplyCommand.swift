import ArgumentParser
import Foundation
import TidemarkControl
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet

extension Tidemark {
    /// `tidemark apply`: plan and execute, or execute a rollout saved by `plan --out`.
    struct ApplyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Bring the selected targets to the desired version: apply, roll back or roll forward.",
            discussion: """
                `tidemark apply -i INVENTORY` plans from the targets' live state and executes it. \
                `tidemark apply FILE` executes a rollout saved by `tidemark plan --out FILE`, and refuses \
                if any target's history changed since. Writing to a prod tier needs --yes when standard \
                input is not a terminal, and a typed confirmation when it is.
                """)

        @Argument(help: "A rollout saved by `tidemark plan --out FILE`.")
        var rolloutFile: String?
        @Option(
            name: [.customShort("i"), .customLong("inventory")], help: "The inventory file (inventories/NAME.yaml).")
        var inventory: String?
        @OptionGroup var selection: SelectionOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var lockOk: LockOkOptions
        @OptionGroup var options: ApplyOptions
        @Flag(help: "Print the run report as JSON (schema tidemark.report/v1).")
        var json = false
        @Flag(help: "List every target, instead of one entry per group of identical plans and outcomes (also -v).")
        var perTarget = false
        @OptionGroup var controlDatabase: ControlDatabaseOption
        @OptionGroup var runner: RunnerOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if runner.leaseDuration == nil {
                throw ValidationError("--lease \(runner.lease): not a duration; use \(DurationText.examples).")
            }
            if rolloutFile != nil && (controlDatabase.control != nil || runner.isGiven) {
                throw ValidationError(
                    "A saved rollout runs in one process; --control, --run-id, --serve, --lease and --runner take -i INVENTORY."
                )
            }
            if options.dryRun && (controlDatabase.control != nil || runner.isGiven) {
                throw ValidationError(
                    "--dry-run changes nothing and joins no run; drop --control, --run-id, --serve, --lease and --runner (or use `tidemark plan`)."
                )
            }
            if !options.approve.isEmpty && (controlDatabase.control != nil || runner.isGiven) {
                throw ValidationError(
                    "--approve is for a run without a control database; a shared run's wave is approved with `tidemark approve RUN_ID --env ENV --control URL`."
                )
            }
            if rolloutFile == nil && inventory == nil {
                throw ValidationError(
                    "Say what to apply: -i INVENTORY, or a rollout FILE saved by `tidemark plan --out`.")
            }
            if rolloutFile != nil && (planning.desiredVersion != nil || planning.strategy != .auto || selection.isGiven)
            {
                throw ValidationError(
                    "A saved rollout already fixes targets, version and strategy; drop --to, --strategy, --env, --target and --partition."
                )
            }
            if rolloutFile != nil && !lockOk.versions.isEmpty {
                throw ValidationError(
                    "A saved rollout already fixes what runs; give --lock-ok to the `tidemark plan --out` that saves it."
                )
            }
        }

        func run() async throws {
            let source: ApplyRequest.Source =
                rolloutFile.map { .savedRollout(path: $0, inventory: inventory) }
                ?? .inventory(
                    inventory ?? "", selection: selection.selection, desiredVersion: planning.desiredVersion,
                    strategy: planning.strategy)
            var apply = ApplyRequest(source: source, confirmation: confirmation)
            options.configure(&apply)
            apply.lockAcknowledgements = lockOk.acknowledgements(by: apply.appliedBy)
            apply.clock = try RunClock.make()
            apply.trapsSignals = true
            var request = ControlledApplyRequest(apply: apply, database: controlDatabase.database)
            request.joinRunID = runner.runID
            request.serve = runner.serve
            request.lease = runner.leaseDuration ?? .seconds(30)
            request.runnerName = runner.runnerName
            let outcome: ApplyOutcome
            do {
                outcome = try await FleetApply(registry: Backends.standard, logger: logging.makeLogger())
                    .run(
                        request, sharingAsked: runner.isGiven,
                        observer: ApplyPrinter(json: json, perTarget: perTarget || logging.verbose))
            } catch {
                throw CommandFailure(ExitStatus(error.category), error.description)
            }
            if try ApplyPrinter.finish(
                outcome, json: json, dryRun: options.dryRun,
                emptyPartitionNote: { selection.emptyPartitionNote(inventory: inventory ?? "", targetsPlanned: $0) })
            {
                return
            }
            throw ExitStatus(outcome.status).exitCode
        }

        /// `--yes`; otherwise the inventory's name typed on a terminal; otherwise a refusal.
        private var confirmation: ApplyRequest.ProductionConfirmation {
            // Counts and grouped names: a fleet of 500 shards is one line, not 500 names.
            .fromTerminal(yes: options.yes, doing: "This writes to", grouped: !(perTarget || logging.verbose))
        }
    }
}
