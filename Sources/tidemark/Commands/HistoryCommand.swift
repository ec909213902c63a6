import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFleet

extension Tidemark {
    /// `tidemark history`: every row of one target's history table, oldest first.
    struct HistoryCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Show one target's migration history (every step ever run, nothing deleted)."
        )

        @OptionGroup var inventoryOption: InventoryOption
        @Option(name: .customLong("target"), help: "The target's name.")
        var target: String
        @Flag(help: "Print one JSON document (schema tidemark.history/v1).")
        var json = false
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let (target, entries) = try await TargetHistory.read(
                target: target, inventoryFile: inventoryOption.inventory, registry: Backends.standard,
                logger: logging.makeLogger())
            let inventoryFile = inventoryOption.inventory
            let state = TargetState(history: entries)
            if json {
                let document = HistoryDocument(
                    target: target.name, environment: target.environment, entries: entries,
                    applied: state.applied.map(\.version), dirty: state.dirty?.version)
                Terminal.standardOutput.write(try renderJSON(document))
            } else {
                Terminal.standardOutput.write(
                    Self.render(target: target, entries: entries, state: state, inventoryFile: inventoryFile))
            }
        }

        static func render(target: Target, entries: [HistoryEntry], state: TargetState, inventoryFile: String) -> String
        {
            guard !entries.isEmpty else {
                return
                    "\(PrintableText.escaped(target.name)) (\(PrintableText.escaped(target.environment))): no history yet; nothing has been applied."
            }
            var table = TextTable("id", "version", "kind", "result", "started", "ms", "run", "description")
            for entry in entries {
                var result: String
                if entry.isBackfillInProgress {
                    // docs/backfills.md#resuming: the next apply continues after this key.
                    result =
                        "in progress (backfill: \(entry.batch?.rows ?? 0) rows, after key \(entry.batch?.lastKey.map(String.init) ?? "none"))"
                } else if entry.success {
                    result = "ok"
                } else if entry.isAbandonedBackfill {
                    // docs/backfills.md#going-back-below-an-unfinished-backfill
                    result = "abandoned"
                } else if entry.finishedAt == nil {
                    result = "unfinished"
                } else {
                    result = entry.transactional ? "failed" : "failed-dirty"
                }
                // A step retried after lock timeouts has a row per attempt; the attempt tells them apart.
                if entry.attempt > 1 { result += " (attempt \(entry.attempt))" }
                if let batch = entry.batch, !entry.isBackfillInProgress { result += " (\(batch.rows) rows)" }
                table.add([
                    String(entry.id), entry.version, entry.kind.rawValue, result,
                    ISO8601Timestamp.string(from: entry.startedAt),
                    String(entry.executionMS), entry.runID, entry.description,
                ])
            }
            // The table escapes its cells (rows are read from the database); the header too.
            var lines = [
                "\(PrintableText.escaped(target.name)) (\(PrintableText.escaped(target.environment)))", table.render(),
            ]
            let applied = state.applied.map(\.version)
            lines.append(
                "in effect: \(applied.isEmpty ? "nothing" : PrintableText.escaped(applied.joined(separator: ", ")))")
            if let dirty = state.dirty {
                lines.append(
                    "DIRTY: version \(PrintableText.escaped(dirty.version)) failed outside a transaction (row \(dirty.id)); \(RepairHint.sentence(inventoryFile: inventoryFile, target: target.name))."
                )
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// `tidemark history --json`.
struct HistoryDocument: Encodable {
    var schema = "tidemark.history/v1"
    var target: String
    var environment: String
    var entries: [HistoryEntry]
    /// Versions in effect, in the order applied.
    var applied: [String]
    var dirty: String?
}
