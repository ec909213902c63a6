import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFiles
import TidemarkFleet

extension Tidemark {
    /// `tidemark quarantine V --reason TEXT`: V must never run again anywhere.
    struct QuarantineCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "quarantine",
            abstract: "Mark a version as never to run again (written to the plan's plan.yaml).",
            discussion:
                "Afterwards `tidemark plan` undoes it where roll back is allowed, compensates it where roll forward is required (see `tidemark revert`), and never applies it to a target that has not run it."
        )

        @Argument(help: "The version to quarantine.")
        var version: String
        @Option(help: "Why; shown in plans, status and notifications.")
        var reason: String
        @OptionGroup var source: PlanSourceOptions

        func validate() throws {
            if reason.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--reason must say why the version is quarantined.")
            }
        }

        func run() async throws {
            let directory = try source.source.directory()
            let plan = try FleetInputs.plan(at: directory)
            guard let parsed = Version(version, style: plan.versionStyle), let migration = plan.migration(parsed) else {
                throw CommandFailure(.invalidInput, "\(directory): no version \(version) in plan \(plan.name).")
            }
            if plan.isQuarantined(parsed) {
                Terminal.standardOutput.write("version \(migration.version) is already quarantined; nothing changed.")
                return
            }
            let entry = QuarantineEntry(
                version: migration.version, reason: reason, at: ISO8601Timestamp.string(from: Date()))
            do {
                try PlanDirectory.saveManifest(name: plan.name, quarantine: plan.quarantine + [entry], to: directory)
            } catch {
                throw CommandFailure(.failed, "\(error)")
            }
            let compensated = plan.migrations.first { $0.compensates == migration.version }
            Terminal.standardOutput.write(
                PrintableText.escaped("quarantined version \(migration.version) (\(migration.description)): \(reason)"))
            Terminal.standardOutput.write("  written to \(directory)/plan.yaml")
            if let compensated {
                Terminal.standardOutput.write(
                    "  version \(compensated.version) compensates it; next: `tidemark plan \(source.source.inventoryArguments)` shows who rolls back and who rolls forward."
                )
            } else {
                Terminal.standardOutput.write(
                    "  next: `tidemark revert \(migration.version) \(source.source.commandArguments)` writes its compensating version for targets that must roll forward; then `tidemark plan \(source.source.inventoryArguments)`."
                )
            }
        }
    }

    /// `tidemark revert V`: writes the compensating forward version from V's undo script.
    struct RevertCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revert",
            abstract: "Write the next version as the roll-forward of VERSION, from its undo script.",
            discussion:
                "The new forward script starts with `-- tidemark:compensates VERSION` and a header saying where it came from; its undo re-does VERSION."
        )

        @Argument(help: "The version to compensate.")
        var version: String
        @OptionGroup var source: PlanSourceOptions

        func run() async throws {
            let directory = try source.source.directory()
            let plan = try FleetInputs.plan(at: directory)
            let written: CompensationWriter.Written
            do {
                written = try CompensationWriter.writeCompensation(of: version, in: plan)
            } catch {
                throw CommandFailure(.invalidInput, "\(error)")
            }
            Terminal.standardOutput.write("wrote version \(written.version), the roll-forward of version \(version):")
            Terminal.standardOutput.write("  \(directory)/\(written.forward)")
            Terminal.standardOutput.write("  \(directory)/\(written.undo)")
            Terminal.standardOutput.write(
                "review it (an undo script restores structure, not data), commit it, then `tidemark plan \(source.source.inventoryArguments)`."
            )
        }
    }
}
