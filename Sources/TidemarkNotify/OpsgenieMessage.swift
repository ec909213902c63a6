import Foundation
import TidemarkCore

/// One Opsgenie Alert API request: create an alert (`POST /v2/alerts`) or close it by alias
/// (`POST /v2/alerts/<alias>/close?identifierType=alias`). The API key goes in the
/// `Authorization` header as the request is made, never here. Thread-safe value.
enum OpsgenieMessage: Equatable {
    case create(Alert)
    case close(alias: String, note: String)

    struct Alert: Encodable, Equatable {
        /// At most 130 characters (the service's limit).
        var message: String
        /// The incident key: Opsgenie deduplicates open alerts by it.
        var alias: String
        var description: String
        var priority: String
        var source = "tidemark"
        var entity: String
        var tags: [String]
        var details: [String: String]
    }

    private struct Close: Encodable {
        var source = "tidemark"
        var note: String
    }

    /// The message for one incident action on `event`.
    static func make(_ action: IncidentAction, for event: Event, text: IncidentText, tier: Tier?) -> OpsgenieMessage {
        switch action {
        case .trigger(let key, let severity):
            var tags = ["tidemark", event.inventory]
            if let environment = event.environment { tags.append(environment) }
            if let tier, !tags.contains(tier.rawValue) { tags.append(tier.rawValue) }
            let details = text.details(event)
            let description = text.summary(event, limit: 2000) + (details["inspect"].map { "\n\nInspect: \($0)" } ?? "")
            return .create(
                Alert(
                    message: text.summary(event, limit: 130), alias: key, description: description,
                    priority: severity.opsgeniePriority,
                    entity: text.source(event), tags: tags, details: details))
        case .resolve(let key):
            let note =
                event.kind == .test
                ? "Closed by tidemark notify test."
                : "Resolved by Tidemark run \(event.runID): \(event.target.map { "\($0) is at its desired state" } ?? "every target of the wave is at its desired state")."
            return .close(alias: key, note: note)
        }
    }

    /// The path added to the sink's `api_url`.
    var path: String {
        switch self {
        case .create: return "/v2/alerts"
        case .close(let alias, _):
            // The alias holds `/`: escaped, or the service reads a different path.
            let allowed = CharacterSet(
                charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
            let escaped = alias.addingPercentEncoding(withAllowedCharacters: allowed) ?? alias
            return "/v2/alerts/\(escaped)/close?identifierType=alias"
        }
    }

    /// The exact bytes sent: compact JSON, sorted keys.
    func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        switch self {
        case .create(let alert): return try encoder.encode(alert)
        case .close(_, let note): return try encoder.encode(Close(note: note))
        }
    }
}
