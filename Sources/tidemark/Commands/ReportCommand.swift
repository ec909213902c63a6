import ArgumentParser
import Foundation
import TidemarkControl
import TidemarkCore
import TidemarkFleet
import TidemarkObserve

extension Tidemark {
    /// `tidemark report RUN_ID`: a saved run report, as a summary, JSON or an HTML page.
    struct ReportCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract:
                "Show a finished run from its saved report (.tidemark/runs/RUN_ID.json), or write it as an HTML page.",
            discussion:
                "Exits 0 when the run succeeded, 1 when a target failed, 3 when some were blocked, as apply did.")

        @Argument(help: "The run id (as `tidemark apply` printed it), or a report file written with --report.")
        var runID: String
        @Flag(help: "Print the report as JSON (schema tidemark.report/v1).")
        var json = false
        @Option(help: "Write the run as one self-contained HTML page here.")
        var html: String?
        @Option(
            name: .customLong("runner"),
            help:
                "Of a shared run's reports kept here (RUN_ID-RUNNER.json, one per runner), the one of this runner (its --runner NAME or its runner id)."
        )
        var runner: String?
        @OptionGroup var controlDatabase: ControlDatabaseOption
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if runner != nil && controlDatabase.control != nil {
                throw ValidationError(
                    "--control assembles the whole run from every runner; drop --runner (or --control to read one runner's report kept here)."
                )
            }
        }

        func run() async throws {
            let report: RunReport
            if controlDatabase.control != nil {
                // The whole run from the control database, whichever runner ran each target.
                let store = try ControlCommand.open(controlDatabase, logging: logging)
                do { report = try ControlReport.assemble(runID, from: store) } catch {
                    throw CommandFailure(ExitStatus(error.category), error.description)
                }
            } else {
                report = try SavedRun.read(runID, runner: runner)
            }
            if let html {
                do { try RunPageFile.write(report, to: URL(fileURLWithPath: html)) } catch {
                    throw CommandFailure(.failed, "cannot write the page to \(html): \(error.localizedDescription)")
                }
            }
            if json {
                Terminal.standardOutput.write(try renderJSON(report))
            } else {
                Terminal.standardOutput.write(ReportText.render(report))
                if let html { Terminal.standardOutput.write("page: \(html)") }
            }
            throw ExitStatus(report.status).exitCode
        }
    }
}

/// A saved run for people: the summary line, the targets that need a person one by one, the
/// others grouped.
enum ReportText {
    static func render(_ report: RunReport) -> String {
        // A saved report is a file anyone may have edited: every field is escaped as printed.
        var lines = [PrintableText.escaped(report.summaryLine)]
        if let traceID = report.traceID { lines.append("trace \(PrintableText.escaped(traceID))") }
        for group in OutcomeGroup.groups(of: report.targets) {
            lines.append(
                ProgressDisplay.line(for: group.representative, name: group.countedName, terminal: .standardOutput))
        }
        return lines.joined(separator: "\n")
    }
}
