import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFleet

extension RepairResolution: ExpressibleByArgument {}

extension Tidemark {
    /// `tidemark repair`: diagnose dirty targets from their schema, and record the way out.
    struct RepairCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "repair",
            abstract:
                "Diagnose dirty targets from their live schema; record how a failed step ends (never deletes history).",
            discussion: """
                Without --auto or --mark-failed-step, diagnoses every selected dirty target (all dirty \
                targets of the inventory when none is selected) and changes nothing: the failed statement, \
                the error, and the live schema held against the fingerprints recorded for the versions \
                before and after the step. --auto records rolled-back or resolved only where the \
                fingerprint proves it (exit 3 when some stay dirty). --mark-failed-step records a \
                human's decision. Writing to a prod tier needs --yes when standard input is not a terminal.
                """)

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var selection: SelectionOptions
        @Flag(help: "Record rolled-back or resolved only where the live schema proves it.")
        var auto = false
        @Option(
            help:
                "Record a decision for the failed step: resolved (it counts as applied) or rolled-back (it runs again)."
        )
        var markFailedStep: RepairResolution?
        @Flag(help: "Do not ask: confirm writing to prod targets (required when not on a terminal).")
        var yes = false
        @Flag(help: "Print one JSON document (schema tidemark.repair/v1).")
        var json = false
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if auto && markFailedStep != nil {
                throw ValidationError(
                    "Give either --auto or --mark-failed-step, not both: --auto records only what the schema proves.")
            }
        }

        func run() async throws {
            let mode: RepairRequest.Mode = auto ? .auto : markFailedStep.map { .mark($0) } ?? .diagnose
            let request = RepairRequest(
                inventoryFile: inventoryOption.inventory, selection: selection.selection, mode: mode,
                confirmation: confirmation)
            let report = try await RepairRun(registry: Backends.standard, logger: logging.makeLogger()).run(request)
            if json {
                Terminal.standardOutput.write(try renderJSON(report))
            } else {
                Terminal.standardOutput.write(Self.render(report, inventoryFile: inventoryOption.inventory))
            }
            throw ExitStatus(report.status).exitCode
        }

        /// `--yes`; otherwise the inventory's name typed on a terminal; otherwise a refusal.
        private var confirmation: ApplyRequest.ProductionConfirmation {
            .fromTerminal(yes: yes, doing: "This records a repair on", grouped: false)
        }
    }
}
