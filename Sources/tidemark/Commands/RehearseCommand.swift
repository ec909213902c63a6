import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet
import TidemarkMySQL
import TidemarkPostgres
import TidemarkSQLite

extension Tidemark {
    /// `tidemark rehearse`: proves every version's undo restores the schema, on a scratch database.
    struct RehearseCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rehearse",
            abstract:
                "On a scratch database, run forward, undo and forward again for every version, checking the schema each time.",
            discussion: """
                Verdicts per version: ok, column-order, undo-does-not-restore (with the difference), forward-fails, verify-fails (the version's verify script failed after its forward), \
                undo-fails, re-apply-fails, re-apply-differs, irreversible, no-undo. Exits 1 when any version fails. \
                Writes plans/<name>/fingerprints.json when every version passes, or with --record.
                """)

        @OptionGroup var source: PlanSourceOptions
        @Option(
            name: .customLong("url"),
            help:
                "A PostgreSQL, MySQL or MariaDB server (mysql://, mariadb://) for the scratch database (default: a temporary SQLite file)."
        )
        var scratchURL: String?
        @Option(
            name: .customLong("from"), help: "Rehearse from this version (earlier versions are only applied forward).")
        var fromVersion: String?
        @Option(name: .customLong("to"), help: "Rehearse up to and including this version.")
        var toVersion: String?
        @Flag(help: "Go on after a failed version, on a rebuilt scratch database.")
        var keepGoing = false
        @Flag(help: "Write fingerprints.json even if some versions fail.")
        var record = false
        @Flag(help: "Print one JSON document (schema tidemark.rehearsal/v1).")
        var json = false
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = logging.makeLogger()
            let plan = try FleetInputs.plan(at: try source.source.directory())
            let scratch: any ScratchDatabaseProvider =
                scratchURL.map { url -> any ScratchDatabaseProvider in
                    MySQLURL.hasMySQLScheme(url)
                        ? MySQLScratchProvider(url: url, logger: logger)
                        : PostgresScratchProvider(url: url, logger: logger)
                } ?? SQLiteScratchProvider()
            let rehearse = RehearseRun(
                plan: plan, scratch: scratch, from: fromVersion, to: toVersion, keepGoing: keepGoing, record: record,
                logger: logger)
            let out = Terminal.standardOutput
            let json = self.json
            if !json { out.write("rehearsing plan \(plan.name) on \(scratch.location)") }
            let result = try await rehearse.run { result in
                if !json { out.write(Self.line(for: result)) }
            }
            out.write(
                json ? try renderJSON(result.report) : Self.summary(result.report, recordedPath: result.recordedPath))
            if !result.report.failures.isEmpty { throw ExitStatus.failed.exitCode }
        }

        static func line(for result: RehearsalResult) -> String {
            // Descriptions come from script names, errors from the server: escaped.
            var line = "  \(result.version) \(PrintableText.escaped(result.description)): \(result.verdict.rawValue)"
            if let error = result.error { line += ": \(PrintableText.escaped(error))" }
            if let diff = result.diff, result.verdict != .ok {
                line += diff.lines.prefix(12).map { "\n      \(PrintableText.escaped($0))" }.joined()
                if diff.lines.count > 12 { line += "\n      … \(diff.lines.count - 12) more" }
            }
            return line
        }

        static func summary(_ report: RehearsalReport, recordedPath: String?) -> String {
            var counts: [RehearsalVerdict: Int] = [:]
            for result in report.results { counts[result.verdict, default: 0] += 1 }
            let tally = RehearsalVerdict.allCases.compactMap { verdict in
                counts[verdict].map { "\($0) \(verdict.rawValue)" }
            }
            var text =
                "\(report.results.count) versions: \(tally.joined(separator: ", ")); \(report.rebuilds) rebuilds; \(report.elapsedMS) ms"
            if let recordedPath { text += "\nfingerprints recorded in \(recordedPath)" }
            text +=
                report.failures.isEmpty
                ? "\nrehearsal passed" : "\nrehearsal FAILED: \(report.failures.map(\.version).joined(separator: ", "))"
            return text
        }
    }
}
