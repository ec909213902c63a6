import Foundation
import TidemarkCore

/// A Microsoft Teams message through a Workflows webhook ("Post to a channel when a webhook
/// request is received"): one Adaptive Card (version 1.5, what Teams renders) as the message's
/// only attachment. Thread-safe value.
struct TeamsMessage: Encodable, Equatable {
    var card: AdaptiveCard

    private enum Keys: String, CodingKey { case type, attachments }
    private enum AttachmentKeys: String, CodingKey { case contentType, contentUrl, content }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode("message", forKey: .type)
        var attachments = container.nestedUnkeyedContainer(forKey: .attachments)
        var attachment = attachments.nestedContainer(keyedBy: AttachmentKeys.self)
        try attachment.encode("application/vnd.microsoft.card.adaptive", forKey: .contentType)
        try attachment.encodeNil(forKey: .contentUrl)
        try attachment.encode(card, forKey: .content)
    }

    /// The exact bytes sent: compact JSON, sorted keys.
    func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// The few Adaptive Card parts Tidemark uses. Thread-safe value.
struct AdaptiveCard: Encodable, Equatable {
    var body: [CardElement]
    /// What a client that cannot render the card shows, and the notification's preview.
    var fallbackText: String

    private enum Keys: String, CodingKey {
        case schema = "$schema"
        case type, version, body, fallbackText
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode("http://adaptivecards.io/schemas/adaptive-card.json", forKey: .schema)
        try container.encode("AdaptiveCard", forKey: .type)
        try container.encode("1.5", forKey: .version)
        try container.encode(body, forKey: .body)
        try container.encode(fallbackText, forKey: .fallbackText)
    }
}

/// A card element. Thread-safe value.
enum CardElement: Encodable, Equatable {
    /// A text block; `heading` is large and bold, `attention` red, `monospace` for errors.
    case text(String, style: TextStyle = .plain)
    /// Two columns of names and values.
    case facts([(title: String, value: String)])

    enum TextStyle: Equatable { case plain, heading, attention, good, monospace, subtle }

    private enum Keys: String, CodingKey {
        case type, text, wrap, size, weight, color, fontType, isSubtle, facts, title, value
    }

    static func == (lhs: CardElement, rhs: CardElement) -> Bool {
        switch (lhs, rhs) {
        case (.text(let a, let x), .text(let b, let y)): return a == b && x == y
        case (.facts(let a), .facts(let b)): return a.map(\.title) == b.map(\.title) && a.map(\.value) == b.map(\.value)
        default: return false
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case .text(let text, let style):
            try container.encode("TextBlock", forKey: .type)
            try container.encode(SlackFormatter.truncate(text, to: 4000), forKey: .text)
            try container.encode(true, forKey: .wrap)
            switch style {
            case .plain: break
            case .heading:
                try container.encode("Large", forKey: .size)
                try container.encode("Bolder", forKey: .weight)
            case .attention:
                try container.encode("Bolder", forKey: .weight)
                try container.encode("Attention", forKey: .color)
            case .good:
                try container.encode("Bolder", forKey: .weight)
                try container.encode("Good", forKey: .color)
            case .monospace: try container.encode("Monospace", forKey: .fontType)
            case .subtle: try container.encode(true, forKey: .isSubtle)
            }
        case .facts(let facts):
            try container.encode("FactSet", forKey: .type)
            var list = container.nestedUnkeyedContainer(forKey: .facts)
            for fact in facts {
                var entry = list.nestedContainer(keyedBy: Keys.self)
                try entry.encode(fact.title, forKey: .title)
                try entry.encode(fact.value, forKey: .value)
            }
        }
    }
}

/// Turns events into Teams cards as Slack gets its messages: one summary per run, one card per
/// failed or blocked target and halted wave; nil for what a channel should not see. Pure;
/// thread-safe value.
struct TeamsFormatter: Sendable {
    var inventoryFile: String
    var sinkName: String

    func message(for event: Event, omitted: Int = 0) -> TeamsMessage? {
        let target = event.target ?? "?"
        let environment = event.environment ?? "?"
        let run = "run \(event.runID) · inventory \(event.inventory)"
        let inspect = "Inspect: tidemark history -i \(inventoryFile) --target \(target)"
        switch event.kind {
        case .targetFailed:
            let firstLine = event.error?.split(separator: "\n").first.map(String.init) ?? "no error text"
            var facts: [(title: String, value: String)] = [("Environment", environment)]
            if let action = event.action { facts.append(("Action", action.rawValue)) }
            facts.append(("At version", event.toVersion ?? "nothing"))
            if event.fromVersion != event.toVersion { facts.append(("Was", event.fromVersion ?? "nothing")) }
            var body: [CardElement] = [.text("❌ \(target) (\(environment)) failed", style: .attention), .facts(facts)]
            if let error = event.error, !error.isEmpty {
                body.append(.text(SlackFormatter.truncate(error, to: 2000), style: .monospace))
            }
            body.append(.text("\(inspect) · \(run)", style: .subtle))
            return card(
                body,
                fallback:
                    "Tidemark \(event.inventory): \(target) (\(environment)) failed: \(SlackFormatter.truncate(firstLine, to: 300))"
            )
        case .targetBlocked:
            var body: [CardElement] = [.text("⛔ \(target) (\(environment)) is blocked", style: .attention)]
            if let at = event.fromVersion { body.append(.facts([("Environment", environment), ("At version", at)])) }
            if let reason = event.reason ?? event.error, !reason.isEmpty {
                body.append(.text(SlackFormatter.truncate(reason, to: 2000)))
            }
            body.append(.text("Inspect: tidemark plan -i \(inventoryFile) --target \(target) · \(run)", style: .subtle))
            return card(body, fallback: "Tidemark \(event.inventory): \(target) (\(environment)) is blocked")
        case .waveHalted:
            var body: [CardElement] = [.text("🛑 Wave \(environment) halted", style: .attention)]
            if let reason = event.reason { body.append(.text(reason)) }
            body.append(.text("Its remaining targets and any later waves were not run.", style: .plain))
            body.append(.text(run, style: .subtle))
            return card(body, fallback: "Tidemark \(event.inventory): wave \(environment) halted")
        case .runFinished:
            return summary(event, omitted: omitted)
        case .runStarted:
            let planned = SlackFormatter.countsText(event.counts ?? [:], order: Action.allCases.map(\.rawValue))
            return card(
                [.text("▶️ \(event.inventory): run \(event.runID) started"), .text(planned)],
                fallback: "Tidemark \(event.inventory): \(event.runID) started")
        case .targetSucceeded:
            return card(
                [
                    .text("✅ \(target) (\(environment)) succeeded: \(SlackFormatter.change(event))", style: .good),
                    .text(run, style: .subtle),
                ],
                fallback: "Tidemark \(event.inventory): \(target) (\(environment)) succeeded")
        case .test:
            return card(
                [
                    .text("👋 Test notification from Tidemark", style: .heading),
                    .text("Inventory \(event.inventory): sink \(sinkName) is reachable."),
                    .text("Sent by tidemark notify test; nothing was migrated.", style: .subtle),
                ], fallback: "Tidemark test notification for inventory \(event.inventory)")
        case .targetConverged:
            return nil
        case .stepProgress:
            return card(
                [.text("⏳ \(target) (\(environment)) backfill: \(event.reason ?? "")"), .text(run, style: .subtle)],
                fallback: "Tidemark \(event.inventory): \(target) (\(environment)) backfill: \(event.reason ?? "")")
        case .waveAwaitingApproval:
            var body: [CardElement] = [.text("✋ Wave \(environment) awaits approval", style: .attention)]
            if let command = event.reason { body.append(.text(command, style: .monospace)) }
            body.append(.text(run, style: .subtle))
            return card(body, fallback: "Tidemark \(event.inventory): wave \(environment) awaits approval")
        }
    }

    private func card(_ body: [CardElement], fallback: String) -> TeamsMessage {
        TeamsMessage(card: AdaptiveCard(body: body, fallbackText: fallback))
    }

    /// The run's summary: the worst news as the heading, counts per outcome and per
    /// environment; nil when every target was unchanged.
    private func summary(_ event: Event, omitted: Int) -> TeamsMessage? {
        let counts = event.counts ?? [:]
        let total = counts.values.reduce(0, +)
        guard total > 0, counts.keys.contains(where: { $0 != "unchanged" }) else { return nil }
        let plural = total == 1 ? "" : "s"
        let heading: String
        let style: CardElement.TextStyle
        if let failed = counts["failed"], failed > 0 {
            (heading, style) = ("❌ \(event.inventory): \(failed) of \(total) target\(plural) failed", .attention)
        } else if let locked = counts["locked"], locked > 0 {
            (heading, style) = (
                "🔒 \(event.inventory): \(locked) of \(total) target\(plural) locked by another run", .attention
            )
        } else if let blocked = counts["blocked"], blocked > 0 {
            (heading, style) = ("⛔ \(event.inventory): \(blocked) of \(total) target\(plural) blocked", .attention)
        } else if let skipped = counts["skipped"], skipped > 0 {
            (heading, style) = ("⚠️ \(event.inventory): \(skipped) of \(total) target\(plural) skipped", .attention)
        } else {
            (heading, style) = (
                "✅ \(event.inventory): \(total) target\(plural)\(event.toVersion.map { " at version \($0)" } ?? "")",
                .good
            )
        }
        var intro = "Run \(event.runID)"
        if let to = event.toVersion { intro += " to version \(to)" }
        intro += " finished"
        if let started = event.startedAt, let finished = event.finishedAt {
            intro += " in \(DurationText.seconds(finished.timeIntervalSince(started)))"
        }
        intro += "."
        let order = SlackFormatter.outcomeOrder
        var body: [CardElement] = [
            .text(heading, style: style), .text(intro),
            .facts(
                SlackFormatter.ordered(counts, order: order).map {
                    (title: $0.word.capitalized, value: String($0.count))
                }),
        ]
        let environments = (event.environmentCounts ?? [:]).sorted { $0.key < $1.key }
        if !environments.isEmpty {
            var facts = environments.prefix(25).map {
                (title: $0.key, value: SlackFormatter.countsText($0.value, order: order))
            }
            if environments.count > 25 {
                facts.append((title: "…", value: "\(environments.count - 25) more environments"))
            }
            body.append(.text("By environment", style: .plain))
            body.append(.facts(facts))
        }
        var context = "inventory \(event.inventory)"
        if (counts["failed"] ?? 0) + (counts["blocked"] ?? 0) > 0 {
            context +=
                " · each failed or blocked target has its own card · inspect one: tidemark history -i \(inventoryFile) --target <target>"
        }
        if omitted > 0 {
            context +=
                " · \(omitted) more target card\(omitted == 1 ? " was" : "s were") left out; tidemark status -i \(inventoryFile) lists every target"
        }
        body.append(.text(context, style: .subtle))
        let fallback =
            "Tidemark \(event.inventory): run \(event.runID) finished: \(SlackFormatter.countsText(counts, order: order)) (\(total) target\(plural))"
        return TeamsMessage(card: AdaptiveCard(body: body, fallbackText: fallback))
    }
}
