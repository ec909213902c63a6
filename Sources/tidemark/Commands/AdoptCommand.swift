import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFleet

/// `--from`: which tool's history `adopt` reads.
enum AdoptSourceOption: String, ExpressibleByArgument, CaseIterable {
    case auto, flyway
    case golangMigrate = "golang-migrate"
    case diesel, sqitch

    var source: AdoptRequest.Source {
        switch self {
        case .auto: return .auto
        case .flyway: return .tool(.flyway)
        case .golangMigrate: return .tool(.golangMigrate)
        case .diesel: return .tool(.diesel)
        case .sqitch: return .tool(.sqitch)
        }
    }
}

extension Tidemark {
    /// `tidemark adopt`: move targets another tool migrated to Tidemark, running nothing.
    struct AdoptCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "adopt",
            abstract:
                "Record baseline rows for the versions another tool (Flyway, golang-migrate, Diesel, Sqitch) already applied.",
            discussion: """
                Per selected target (all of the inventory when none is selected), reads the other tool's \
                history table (Sqitch: its registry), maps it onto the plan, checks Flyway checksums and Sqitch \
                script hashes and, where fingerprints.json \
                records the version, the live schema, and records one baseline row per version in effect. \
                The other tool's table is never written, so going back is possible. Refused targets are \
                left alone with the reason (exit 3; exit 2 when a target is Tidemark's already). \
                --baseline V adopts targets that no tool tracked as being at version V. Writing to a prod \
                tier needs --yes when standard input is not a terminal.
                """)

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var selection: SelectionOptions
        @Option(help: "Whose history to read: auto, flyway, golang-migrate, diesel or sqitch.")
        var from: AdoptSourceOption = .auto
        @Option(help: "Adopt targets that no tool tracked as being at this version of the plan.")
        var baseline: String?
        @Flag(help: "Adopt even where the live schema differs from fingerprints.json (recorded in the rows).")
        var force = false
        @Flag(help: "Show what would be recorded; record nothing.")
        var dryRun = false
        @Flag(help: "Do not ask: confirm writing to prod targets (required when not on a terminal).")
        var yes = false
        @Flag(help: "Print one JSON document (schema tidemark.adopt/v1).")
        var json = false
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            var request = AdoptRequest(
                inventoryFile: inventoryOption.inventory, selection: selection.selection, source: from.source,
                baseline: baseline,
                force: force, dryRun: dryRun,
                confirmation: .fromTerminal(yes: yes, doing: "This records baseline rows on", grouped: false))
            request.lockWait = .seconds(1)
            let report = try await AdoptRun(registry: Backends.standard, logger: logging.makeLogger()).run(request)
            if json {
                Terminal.standardOutput.write(try renderJSON(report))
            } else {
                Terminal.standardOutput.write(Self.render(report))
            }
            throw ExitStatus(report.status).exitCode
        }
    }
}

extension ExitStatus {
    /// The exit code of an adopt run.
    init(_ status: AdoptReport.Status) {
        switch status {
        case .succeeded: self = .success
        case .refused: self = .blocked
        case .invalidInput: self = .invalidInput
        case .locked: self = .locked
        case .failed: self = .failed
        }
    }
}
