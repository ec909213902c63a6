import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFiles
import TidemarkFleet

extension Tidemark {
    /// `tidemark validate`: reads a plan (and an inventory), lists every problem, exits 0 or 2.
    struct ValidateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check a plan and an inventory; list every problem.",
            discussion:
                "Exits 0 when both are valid, 2 with one `file:line:column: message` line per problem otherwise."
        )

        @OptionGroup var source: PlanSourceOptions

        func run() async throws {
            let out = Terminal.standardOutput
            var problems: [String] = []
            var planDirectory = source.plan
            var targets: [Target] = []

            if let inventoryPath = source.inventory {
                do {
                    var inventory = try InventoryFile.load(at: inventoryPath)
                    planDirectory = inventory.planDirectory
                    // Discovery sources are read here too (a command source runs): a source that
                    // fails is a problem of the inventory, said before the plan's.
                    do {
                        inventory = try await TargetDiscovery(
                            registry: Backends.standard, logger: LoggingOptions.logger(verbose: false)
                        ).resolve(inventory)
                        targets = inventory.environments.flatMap(\.targets)
                        out.write(PrintableText.escaped(Self.summary(of: inventory)))
                        for count in inventory.discovery { out.write("  \(PrintableText.escaped(count.line))") }
                    } catch {
                        problems += [error.description]
                    }
                } catch {
                    problems += error.errors.map(\.description)
                }
            }

            if let planDirectory {
                do {
                    let plan = try PlanDirectory.load(at: planDirectory)
                    out.write(PrintableText.escaped(Self.summary(of: plan)))
                    for line in PlanDirectory.sqitchSummary(for: plan) {
                        out.write("  \(PrintableText.escaped(line))")
                    }
                    for notice in PlanDirectory.notices(for: plan) {
                        out.write("  note: \(PrintableText.escaped(notice))")
                    }
                    problems += MaxLagCheck.problems(
                        plan: plan, targets: targets, inventoryFile: source.inventory ?? "the inventory")
                } catch {
                    problems += error.errors.map(\.description)
                }
            }

            guard problems.isEmpty else {
                let err = Terminal.standardError
                for problem in problems { err.write(problem) }
                err.write("validate: \(problems.count) problem\(problems.count == 1 ? "" : "s") found.")
                throw ExitStatus.invalidInput.exitCode
            }
            out.write("valid")
        }

        static func summary(of plan: Plan) -> String {
            let versions = plan.migrations.count
            let withoutUndo = plan.migrations.filter { $0.undo == nil }.count
            let latest = plan.migrations.last.map { ", latest \($0.version)" } ?? ""
            var line =
                "plan \(plan.name) (\(plan.directory)): \(versions) version\(versions == 1 ? "" : "s"), \(plan.format.rawValue) layout\(latest)"
            if withoutUndo > 0 { line += ", \(withoutUndo) without undo script" }
            if !plan.quarantine.isEmpty {
                line += ", quarantined: \(plan.quarantine.map(\.version.text).joined(separator: ", "))"
            }
            return line
        }

        static func summary(of inventory: Inventory) -> String {
            let targets = inventory.allTargets.count
            let waves = inventory.waves.map(\.name).joined(separator: " → ")
            return
                "inventory \(inventory.name) (\(inventory.file)): \(inventory.environments.count) environment\(inventory.environments.count == 1 ? "" : "s"), \(targets) target\(targets == 1 ? "" : "s"), waves \(waves)"
        }
    }
}
