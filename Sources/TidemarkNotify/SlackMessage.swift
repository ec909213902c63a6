import Foundation
import TidemarkCore

/// An incoming-webhook message: `text` (the notification and fallback line) and Block Kit
/// `blocks` (what the channel shows). Thread-safe value.
struct SlackMessage: Encodable, Equatable {
    var text: String
    var blocks: [SlackBlock]

    /// `text` is plain words: it is escaped here, because Slack reads it as mrkdwn too, and an
    /// error quoting `<!channel>` must not page a whole channel.
    init(text: String, blocks: [SlackBlock]) {
        self.text = SlackFormatter.escape(text)
        self.blocks = blocks
    }

    /// The exact bytes sent: compact JSON, sorted keys.
    func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// The few Block Kit blocks Tidemark uses. Thread-safe value.
enum SlackBlock: Encodable, Equatable {
    case header(String)
    /// mrkdwn text, and optional two-column fields (Slack takes at most 10).
    case section(String, fields: [String] = [])
    /// A line of small mrkdwn text.
    case context(String)

    private struct Text: Encodable {
        var type: String
        var text: String
        var emoji: Bool?
    }

    private enum Keys: String, CodingKey { case type, text, fields, elements }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case .header(let text):
            try container.encode("header", forKey: .type)
            // Slack's limit for a header is 150 characters.
            try container.encode(
                Text(type: "plain_text", text: SlackFormatter.truncate(text, to: 150), emoji: true), forKey: .text)
        case .section(let text, let fields):
            try container.encode("section", forKey: .type)
            try container.encode(Text(type: "mrkdwn", text: SlackFormatter.truncate(text, to: 3000)), forKey: .text)
            if !fields.isEmpty {
                try container.encode(
                    fields.prefix(10).map { Text(type: "mrkdwn", text: SlackFormatter.truncate($0, to: 2000)) },
                    forKey: .fields)
            }
        case .context(let text):
            try container.encode("context", forKey: .type)
            try container.encode(
                [Text(type: "mrkdwn", text: SlackFormatter.truncate(text, to: 3000))], forKey: .elements)
        }
    }
}

/// Turns events into Slack messages: one summary per run, one message per failed or blocked
/// target or halted wave; nil for what a channel should not see (a run where nothing changed).
/// Thread-safe value.
struct SlackFormatter: Sendable {
    /// The inventory file as the operator named it, for the `tidemark history -i …` hint.
    var inventoryFile: String
    var sinkName: String

    /// The order outcomes are listed in: what needs a human first.
    static let outcomeOrder = ["failed", "locked", "blocked", "skipped", "succeeded", "unchanged"]

    /// - Parameter omitted: per-target messages this sink left out of this run (over the
    ///   limit), which the run summary mentions.
    func message(for event: Event, omitted: Int = 0) -> SlackMessage? {
        let inventory = Self.escape(event.inventory)
        let target = Self.escape(event.target ?? "?")
        let environment = Self.escape(event.environment ?? "?")
        let change = Self.change(event)
        let run = "run `\(Self.escape(event.runID))`"
        switch event.kind {
        case .runFinished:
            return summary(event, omitted: omitted)
        case .targetFailed:
            let firstLine = event.error?.split(separator: "\n").first.map(String.init) ?? "no error text"
            // A failed target's `to` is where it stopped, not where it was going.
            let action = event.action.map { " during *\($0.rawValue)*" } ?? ""
            let was =
                event.fromVersion != event.toVersion ? " (was \(Self.escape(event.fromVersion ?? "nothing")))" : ""
            let stopped = "; at version \(Self.escape(event.toVersion ?? "nothing"))\(was)"
            var blocks: [SlackBlock] = [.section(":x: *\(target)* (\(environment)) *failed*\(action)\(stopped)")]
            if let error = event.error, !error.isEmpty {
                blocks.append(.section("```\(Self.escape(Self.truncate(error, to: 2000)))```"))
            }
            blocks.append(.context("Inspect: `\(inspectHistory(event))` · \(run) · inventory \(inventory)"))
            return SlackMessage(
                text:
                    "Tidemark \(event.inventory): \(event.target ?? "?") (\(event.environment ?? "?")) failed: \(Self.truncate(firstLine, to: 300))",
                blocks: blocks)
        case .targetBlocked:
            let at = event.fromVersion.map { " at version \(Self.escape($0))" } ?? ""
            var blocks: [SlackBlock] = [.section(":no_entry: *\(target)* (\(environment)) is *blocked*\(at)")]
            if let reason = event.reason ?? event.error, !reason.isEmpty {
                blocks.append(.section("> \(Self.escape(Self.truncate(reason, to: 2000)))"))
            }
            blocks.append(.context("Inspect: `\(inspectPlan(event))` · `\(inspectHistory(event))` · \(run)"))
            return SlackMessage(
                text:
                    "Tidemark \(event.inventory): \(event.target ?? "?") (\(event.environment ?? "?")) is blocked: \(Self.truncate(event.reason ?? "", to: 300))",
                blocks: blocks)
        case .waveHalted:
            let reason = event.reason.map { ": \(Self.escape($0))" } ?? ""
            return SlackMessage(
                text:
                    "Tidemark \(event.inventory): wave \(event.environment ?? "?") halted; its remaining targets and any later waves were not run.",
                blocks: [
                    .section(
                        ":octagonal_sign: Wave *\(environment)* halted\(reason). Its remaining targets and any later waves were not run."
                    ),
                    .context("\(run) · inventory \(inventory)"),
                ])
        case .runStarted:
            let planned = Self.countsText(event.counts ?? [:], order: Action.allCases.map(\.rawValue))
            let to = event.toVersion.map { " to version *\(Self.escape($0))*" } ?? ""
            // `--override-window`: who wrote outside the change windows, and why (docs/windows.md).
            let note = event.reason.map { " (\(Self.escape(Self.truncate($0, to: 500))))" } ?? ""
            return SlackMessage(
                text:
                    "Tidemark \(event.inventory): \(event.runID) started: \(planned)\(event.reason.map { " (\(Self.truncate($0, to: 300)))" } ?? "")",
                blocks: [.section(":arrow_forward: *\(inventory)*: \(run) started\(to): \(planned)\(note)")])
        case .targetSucceeded:
            return SlackMessage(
                text: "Tidemark \(event.inventory): \(event.target ?? "?") (\(event.environment ?? "?")) succeeded",
                blocks: [
                    .section(":white_check_mark: *\(target)* (\(environment)) succeeded: \(change)"), .context(run),
                ])
        case .targetConverged:
            return nil
        case .waveAwaitingApproval:
            let command = event.reason.map { ": `\(Self.escape($0))`" } ?? ""
            return SlackMessage(
                text: "Tidemark \(event.inventory): wave \(event.environment ?? "?") awaits approval",
                blocks: [
                    .section(":raised_hand: Wave *\(environment)* awaits approval\(command)"),
                    .context("\(run) · inventory \(inventory)"),
                ])
        case .stepProgress:
            let progress = Self.escape(event.reason ?? "")
            return SlackMessage(
                text:
                    "Tidemark \(event.inventory): \(event.target ?? "?") (\(event.environment ?? "?")) backfill: \(event.reason ?? "")",
                blocks: [
                    .section(":hourglass_flowing_sand: *\(target)* (\(environment)) backfill \(progress)"),
                    .context(run),
                ])
        case .test:
            return SlackMessage(
                text: "Tidemark test notification for inventory \(event.inventory)",
                blocks: [
                    .section(
                        ":wave: Test notification from Tidemark for inventory *\(inventory)*: sink *\(Self.escape(sinkName))* is reachable."
                    ),
                    .context("Sent by `tidemark notify test`; nothing was migrated."),
                ])
        }
    }

    /// The one summary of a run: a header naming the worst news, counts per outcome as fields,
    /// counts per environment, and where to look next. Nil when every target was unchanged, so
    /// a cron job that finds nothing to do stays quiet.
    private func summary(_ event: Event, omitted: Int) -> SlackMessage? {
        let counts = event.counts ?? [:]
        let total = counts.values.reduce(0, +)
        guard total > 0, counts.keys.contains(where: { $0 != "unchanged" }) else { return nil }
        let order = Self.outcomeOrder
        let headline: String
        if let failed = counts["failed"], failed > 0 {
            headline = ":x: \(event.inventory): \(failed) of \(total) target\(total == 1 ? "" : "s") failed"
        } else if let locked = counts["locked"], locked > 0 {
            headline =
                ":lock: \(event.inventory): \(locked) of \(total) target\(total == 1 ? "" : "s") locked by another run"
        } else if let blocked = counts["blocked"], blocked > 0 {
            headline = ":no_entry: \(event.inventory): \(blocked) of \(total) target\(total == 1 ? "" : "s") blocked"
        } else if let skipped = counts["skipped"], skipped > 0 {
            headline = ":warning: \(event.inventory): \(skipped) of \(total) target\(total == 1 ? "" : "s") skipped"
        } else {
            let to = event.toVersion.map { " at version \($0)" } ?? ""
            headline = ":white_check_mark: \(event.inventory): \(total) target\(total == 1 ? "" : "s")\(to)"
        }
        var intro = "Run `\(Self.escape(event.runID))`"
        if let to = event.toVersion { intro += " to version *\(Self.escape(to))*" }
        intro += " finished"
        if let started = event.startedAt, let finished = event.finishedAt {
            intro += " in \(DurationText.seconds(finished.timeIntervalSince(started)))"
        }
        intro += "."
        let fields = Self.ordered(counts, order: order).map { "*\($0.word.capitalized)*\n\($0.count)" }
        var blocks: [SlackBlock] = [.header(headline), .section(intro, fields: fields)]
        let environments = (event.environmentCounts ?? [:]).sorted { $0.key < $1.key }
        if !environments.isEmpty {
            // A section holds 3,000 characters: list the first environments, count the rest.
            let shown = environments.prefix(25).map {
                "`\(Self.escape($0.key))` \(Self.countsText($0.value, order: order))"
            }
            var text = "*By environment*\n" + shown.joined(separator: "\n")
            if environments.count > shown.count { text += "\n… and \(environments.count - shown.count) more" }
            blocks.append(.section(text))
        }
        var context = "inventory \(Self.escape(event.inventory))"
        if (counts["failed"] ?? 0) + (counts["blocked"] ?? 0) > 0 {
            context +=
                " · each failed or blocked target has its own message · inspect one: `tidemark history -i \(Self.escape(inventoryFile)) --target <target>`"
        }
        if omitted > 0 {
            context +=
                " · \(omitted) more target message\(omitted == 1 ? " was" : "s were") left out to keep the channel readable; `tidemark status -i \(Self.escape(inventoryFile))` lists every target"
        }
        blocks.append(.context(context))
        let text =
            "Tidemark \(event.inventory): run \(event.runID) finished: \(Self.countsText(counts, order: order)) (\(total) target\(total == 1 ? "" : "s"))"
        return SlackMessage(text: text, blocks: blocks)
    }

    private func inspectHistory(_ event: Event) -> String {
        "tidemark history -i \(Self.escape(inventoryFile)) --target \(Self.escape(event.target ?? "NAME"))"
    }

    private func inspectPlan(_ event: Event) -> String {
        "tidemark plan -i \(Self.escape(inventoryFile)) --target \(Self.escape(event.target ?? "NAME"))"
    }

    /// `forward 3 → 4`.
    static func change(_ event: Event) -> String {
        let action = event.action?.rawValue ?? "change"
        return "\(action) \(escape(event.fromVersion ?? "nothing")) → \(escape(event.toVersion ?? "nothing"))"
    }

    /// `1 failed, 5 succeeded`, in `order`, then any other words alphabetically.
    static func countsText(_ counts: [String: Int], order: [String]) -> String {
        let parts = ordered(counts, order: order).map { "\($0.count) \($0.word)" }
        return parts.isEmpty ? "no targets" : parts.joined(separator: ", ")
    }

    static func ordered(_ counts: [String: Int], order: [String]) -> [(word: String, count: Int)] {
        let known = order.compactMap { word in counts[word].flatMap { $0 > 0 ? (word, $0) : nil } }
        let others = counts.filter { !order.contains($0.key) && $0.value > 0 }.sorted { $0.key < $1.key }.map {
            ($0.key, $0.value)
        }
        return known + others
    }

    /// Slack's mrkdwn gives `&`, `<` and `>` meaning (links, mentions): escape them.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static func truncate(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
