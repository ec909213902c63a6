import Foundation
import TidemarkCore

/// One PagerDuty Events API v2 event (`POST /v2/enqueue`), without its `routing_key`: that is
/// added by `addingRoutingKey(_:to:)` as the request is made, so no key is ever in a
/// `Delivery` or the outbox. Thread-safe value.
struct PagerDutyMessage: Encodable, Equatable {
    /// `trigger` or `resolve`.
    var eventAction: String
    var dedupKey: String
    var client = "Tidemark"
    /// Only for `trigger`.
    var payload: Payload?

    struct Payload: Encodable, Equatable {
        /// At most 1,024 characters (the service's limit).
        var summary: String
        var source: String
        var severity: String
        var timestamp: String
        var component: String?
        var group: String?
        var eventClass: String
        var customDetails: [String: String]

        enum CodingKeys: String, CodingKey {
            case summary, source, severity, timestamp, component, group
            case eventClass = "class"
            case customDetails = "custom_details"
        }
    }

    enum CodingKeys: String, CodingKey {
        case eventAction = "event_action"
        case dedupKey = "dedup_key"
        case client, payload
    }

    /// The message for one incident action on `event`.
    static func make(_ action: IncidentAction, for event: Event, text: IncidentText) -> PagerDutyMessage {
        switch action {
        case .trigger(let key, let severity):
            return PagerDutyMessage(
                eventAction: "trigger", dedupKey: key,
                payload: Payload(
                    summary: text.summary(event, limit: 1024), source: text.source(event), severity: severity.rawValue,
                    timestamp: ISO8601Timestamp.string(from: event.at), component: event.target,
                    group: event.environment,
                    eventClass: event.kind.rawValue, customDetails: text.details(event)))
        case .resolve(let key):
            return PagerDutyMessage(eventAction: "resolve", dedupKey: key)
        }
    }

    /// The exact bytes kept and sent (before the key): compact JSON, sorted keys.
    func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// `body` with `"routing_key": key` as its first member. The body is a JSON object
    /// Tidemark wrote; anything else is returned unchanged (the service then refuses it, 400).
    static func addingRoutingKey(_ key: String, to body: Data) -> Data {
        guard body.first == UInt8(ascii: "{"), let encodedKey = try? JSONEncoder().encode(key) else { return body }
        var result = Data("{\"routing_key\":".utf8)
        result.append(encodedKey)
        let rest = body.dropFirst()
        if rest.first != UInt8(ascii: "}") { result.append(UInt8(ascii: ",")) }
        result.append(contentsOf: rest)
        return result
    }
}
