import ArgumentParser
import Foundation
import TidemarkControl
import TidemarkCore
import TidemarkFleet

extension Tidemark {
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
