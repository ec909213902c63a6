import ArgumentParser
import Foundation
import TidemarkControl
import TidemarkCore
import TidemarkFleet

extension Tidemark {
    /// `tidemark runs --control URL`: the runs a control database coordinates.
    struct RunsCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "runs",
            abstract:
                "List the runs in a control database (state, counts, runners seen and live, last heartbeat), or prune old ones."
        )

        @OptionGroup var controlDatabase: ControlDatabaseOption
        @Flag(help: "Print the runs as JSON (schema tidemark.runs/v1).")
        var json = false
        @Option(
            help: ArgumentHelp(
                "Instead of listing, delete the runs that finished more than AGE ago (e.g. 90d or 12h), with their targets, runners and events; running runs are kept.",
                valueName: "age"))
        var prune: String?
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if controlDatabase.control == nil { throw ValidationError("Say which control database: --control URL.") }
            if let prune, DurationText.parse(prune) == nil {
                throw ValidationError(
                    "--prune \(prune): not a duration; use e.g. 90d, 12h or 30m (units d, h, m, s, ms).")
            }
        }

        func run() async throws {
            let store = try ControlCommand.open(controlDatabase, logging: logging)
            if let prune, let age = DurationText.parse(prune) {
                let summary: PruneSummary
                do { summary = try store.prune(finishedBefore: age) } catch {
                    throw CommandFailure(ExitStatus(error.category), error.description)
                }
                if json {
                    struct Document: Encodable {
                        var schema = "tidemark.runs.prune/v1"
                        var finishedBefore: String
                        var pruned: PruneSummary
                    }
                    try writeJSON(Document(finishedBefore: prune, pruned: summary))
                } else {
                    Terminal.standardOutput.write(ControlText.pruned(summary, age: prune))
                }
                return
            }
            let runs: [RunSummary]
            do { runs = try store.runs() } catch { throw CommandFailure(ExitStatus(error.category), error.description) }
            if json {
                struct Document: Encodable {
                    var schema = "tidemark.runs/v1"
                    var runs: [RunSummary]
                }
                try writeJSON(Document(runs: runs))
            } else {
                Terminal.standardOutput.write(ControlText.runsTable(runs))
            }
        }

        private func writeJSON(_ document: some Encodable) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601Milliseconds
            Terminal.standardOutput.write(String(decoding: try encoder.encode(document), as: UTF8.self))
        }
    }

    /// `tidemark stop RUN_ID --control URL`: every runner of the run stops claiming.
    struct StopCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop",
            abstract:
                "Stop every runner of a run: each finishes its running steps, starts nothing new, and the rest is skipped."
        )

        @Argument(help: "The run id (tidemark runs lists them).")
        var runID: String
        @OptionGroup var controlDatabase: ControlDatabaseOption
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if controlDatabase.control == nil { throw ValidationError("Say which control database: --control URL.") }
        }

        func run() async throws {
            let store = try ControlCommand.open(controlDatabase, logging: logging)
            let outcome: StopOutcome?
            do { outcome = try store.stop(runID) } catch {
                throw CommandFailure(ExitStatus(error.category), error.description)
            }
            guard let outcome else {
                throw CommandFailure(
                    .invalidInput,
                    "no open run \(runID) in the control database; `tidemark runs --control <control-url>` lists the runs."
                )
            }
            Terminal.standardOutput.write(
                "run \(runID): stop requested; every runner finishes its running steps and starts nothing new.")
            if let skipped = outcome.skippedWithoutRunners {
                let targets = skipped == 1 ? "1 target" : "\(skipped) targets"
                Terminal.standardOutput.write(
                    "no live runner is left to see it: \(targets) nobody was running recorded skipped\(outcome.finished ? "; the run is finished." : ".")"
                )
            }
        }
    }
}

/// Opening the control database for the commands that only read or flag it.
enum ControlCommand {
    static func open(_ option: ControlDatabaseOption, logging: LoggingOptions) throws -> ControlStore {
        guard let database = option.database else {
            throw CommandFailure(.invalidInput, ControlError.noControlDatabase.description)
        }
        do {
            return try ControlStore(
                database: database, appliedBy: RunIdentity.currentOperator(), logger: logging.makeLogger())
        } catch {
            throw CommandFailure(ExitStatus(error.category), error.description)
        }
    }
}
