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
}
