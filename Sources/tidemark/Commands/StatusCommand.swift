import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFiles
import TidemarkFleet
import TidemarkObserve

extension Tidemark {
    /// `tidemark status`: where every target stands.
    struct StatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show every target's version, pending and quarantined versions, and whether it is dirty.")

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var selection: SelectionOptions
        @Flag(help: "Print one JSON document (schema tidemark.status/v1).")
        var json = false
        @Flag(
            help:
                "Compare each target's live schema with the fingerprint recorded for its version (reads every catalog)."
        )
        var drift = false
        @Option(
            help: "Write each target's version as Prometheus metrics here (for node_exporter's textfile collector).")
        var metricsFile: String?
        @Option(
            help:
                "Draw the fleet as one self-contained HTML page here: targets coloured by version, dirty and drift marked."
        )
        var html: String?
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = logging.makeLogger()
            let snapshot = try await FleetSnapshot.load(
                inventoryFile: inventoryOption.inventory, selection: selection.selection, missingDatabases: .reported,
                registry: Backends.standard,
                logger: logger)
            var rows = FleetStatus.rows(snapshot)
            if drift {
                try await FleetStatus.attachDrift(
                    to: &rows, snapshot: snapshot, registry: Backends.standard, logger: logger)
            }
            if json {
                Terminal.standardOutput.write(
                    try renderJSON(
                        StatusDocument(
                            inventory: snapshot.inventory.name, plan: snapshot.plan.name,
                            latest: snapshot.plan.latestUsableVersion?.text, targets: rows)))
            } else {
                Terminal.standardOutput.write(
                    Self.render(rows, plan: snapshot.plan) + (drift ? StatusDrift.render(rows) : ""))
            }
            if let metricsFile {
                do {
                    try MetricsFile.write(
                        FleetStatus.metrics(rows, inventory: snapshot.inventory.name),
                        inventory: snapshot.inventory.name, to: metricsFile)
                } catch {
                    throw CommandFailure(
                        .failed, "cannot write the metrics to \(metricsFile): \(error.localizedDescription)")
                }
            }
            if let html {
                do {
                    try OwnerOnlyFile.write(
                        Data(FleetStatus.page(rows, snapshot: snapshot).utf8), to: URL(fileURLWithPath: html))
                } catch {
                    throw CommandFailure(.failed, "cannot write the page to \(html): \(error.localizedDescription)")
                }
            }
            if !snapshot.unreachable.isEmpty { throw ExitStatus.failed.exitCode }
        }

        static func render(_ rows: [StatusRow], plan: Plan) -> String {
            // docs/mysql.md#status: the server column, where MySQL flavours or mixed products make it matter.
            let server = FleetStatus.showsServer(rows)
            var headers = ["environment", "target", "tier"] + (server ? ["server"] : [])
            headers += ["version", "pending", "quarantined-applied", "dirty", "last run"]
            var table = TextTable(headers)
            for row in rows {
                let serverCell = server ? [row.server?.description ?? "?"] : []
                if let error = row.error {
                    table.add(
                        [row.environment, row.target, row.tier] + serverCell + [
                            "?", "?", "?", "?", "unreachable: \(error)",
                        ])
                    continue
                }
                table.add(
                    [row.environment, row.target, row.tier] + serverCell + [
                        row.version ?? "-", row.pending.isEmpty ? "-" : row.pending.joined(separator: ","),
                        row.quarantinedApplied.isEmpty ? "-" : row.quarantinedApplied.joined(separator: ","),
                        row.dirty ? "DIRTY" : "-",
                        row.lastRun ?? "never",
                    ])
            }
            let latest = plan.latestUsableVersion.map { "latest usable version \($0)" } ?? "no usable version"
            // Quarantine reasons come from plan.yaml: escaped, like every cell of the table.
            let quarantine =
                plan.quarantine.isEmpty
                ? ""
                : "; quarantined: "
                    + plan.quarantine.map { (entry: QuarantineEntry) in "v\(entry.version) (\(entry.reason))" }.joined(
                        separator: ", ")
            return PrintableText.escaped("plan \(plan.name): \(latest)\(quarantine)") + "\n" + table.render()
        }
    }
}

/// `tidemark status --json`.
struct StatusDocument: Encodable {
    var schema = "tidemark.status/v1"
    var inventory: String
    var plan: String
    var latest: String?
    var targets: [StatusRow]
}
