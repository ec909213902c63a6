import Foundation
import TidemarkCore

/// A sink from the inventory with its URL and secret read from the environment. Thread-safe value.
///
/// The URL and secret live only here and in the HTTP request; nothing that renders text
/// (errors, logs, summaries, outbox files) reads them.
struct ResolvedSink: Sendable {
    var sink: NotifySink
    var url: URL
    var secret: Data?

    var name: String { sink.name }

    /// Reads the sink's URL (literal `url`, or the variable `url_env` names) and its secret.
    static func resolve(_ sink: NotifySink, environment: [String: String]) -> Result<ResolvedSink, NotifyError> {
        let text: String
        let source: String
        if let variable = sink.urlEnv {
            guard let value = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                return .failure(.missingURL(sink: sink.name, variable: variable))
            }
            text = value
            source = "environment variable \(variable)"
        } else if let literal = sink.url {
            text = literal
            source = "its url"
        } else {
            return .failure(.badURL(sink: sink.name, source: "its url"))
        }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            return .failure(.badURL(sink: sink.name, source: source))
        }
        var secret: Data?
        if let variable = sink.secretEnv {
            guard let value = environment[variable], !value.isEmpty else {
                return .failure(.missingSecret(sink: sink.name, variable: variable))
            }
            secret = Data(value.utf8)
        }
        return .success(ResolvedSink(sink: sink, url: url, secret: secret))
    }

    /// The event as this sink should see it, or nil when its `on:` and `environments:` lists
    /// leave it out. Without `on:`, a webhook gets every event; a Slack channel gets what
    /// on-call acts on (failures, blocked targets, halted waves, the run summary) and must name
    /// `started` or `succeeded` to get those, so a run of 100 targets is one message, not 100.
    func accepts(_ event: Event) -> Event? {
        if event.kind == .test { return event }
        let wanted: Bool
        if event.kind == .stepProgress {
            // Progress goes only where it was asked for by name: a sink without `on:` is not flooded.
            wanted = sink.on.contains(where: event.kind.isNamed(by:))
        } else if sink.on.isEmpty {
            switch sink.kind {
            case .webhook: wanted = true
            case .slack: wanted = event.kind != .runStarted && event.kind != .targetSucceeded
            }
        } else {
            wanted = sink.on.contains(where: event.kind.isNamed(by:))
        }
        guard wanted else { return nil }
        return event.restricted(to: sink.environments)
    }

    /// Strings that must never leave the process in a payload: the URL (whole, and its path
    /// and query, where Slack puts its token) and the secret.
    var confidentialStrings: [String] {
        var strings = [url.absoluteString]
        if url.path.count >= 12 { strings.append(url.path) }
        if let query = url.query, query.count >= 8 { strings.append(query) }
        if let secret, secret.count >= 4 { strings.append(String(decoding: secret, as: UTF8.self)) }
        return strings
    }
}
