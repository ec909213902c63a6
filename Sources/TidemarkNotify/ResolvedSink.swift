import Foundation
import TidemarkCore

/// A sink from the inventory with its URL and secret read from the environment. Thread-safe value.
///
/// The URL and secret live only here and in the HTTP request; nothing that renders text
/// (errors, logs, summaries, outbox files) reads them.
struct ResolvedSink: Sendable {
    var sink: NotifySink
    /// The webhook URL; for PagerDuty the enqueue URL, for Opsgenie the API's origin (each
    /// request adds its path).
    var url: URL
    var secret: Data?
    /// PagerDuty's routing key, Opsgenie's API key or the SMTP password: added to each request
    /// as it is sent.
    var key: String?
    /// The SMTP login's user name.
    var username: String?

    var name: String { sink.name }

    /// PagerDuty's Events API v2 enqueue address.
    static let pagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"
    /// Opsgenie's API (its EU accounts use `https://api.eu.opsgenie.com`, through `api_url`).
    static let opsgenieAPIURL = "https://api.opsgenie.com"

    /// Reads the sink's URL (literal `url`, or the variable `url_env` names) and its secret;
    /// for PagerDuty and Opsgenie the service's address and the key variable.
    static func resolve(_ sink: NotifySink, environment: [String: String]) -> Result<ResolvedSink, NotifyError> {
        let text: String
        let source: String
        if sink.kind == .email {
            guard let address = sink.serviceURL, let url = URL(string: address), let scheme = url.scheme?.lowercased(),
                scheme == "smtp" || scheme == "smtps", let host = url.host, !host.isEmpty
            else {
                return .failure(.badURL(sink: sink.name, source: "its smtp_url"))
            }
            var resolved = ResolvedSink(sink: sink, url: url, secret: nil, key: nil)
            if let variable = sink.usernameEnv {
                guard let value = environment[variable], !value.isEmpty else {
                    return .failure(
                        .missingKey(sink: sink.name, kind: "email", field: "username_env", variable: variable))
                }
                resolved.username = value
            }
            if let variable = sink.passwordEnv {
                guard let value = environment[variable], !value.isEmpty else {
                    return .failure(
                        .missingKey(sink: sink.name, kind: "email", field: "password_env", variable: variable))
                }
                resolved.key = value
            }
            return .success(resolved)
        }
        if sink.kind.tracksIncidents {
            let field = sink.kind == .pagerduty ? "routing_key_env" : "api_key_env"
            guard let variable = sink.keyEnv else {
                return .failure(
                    .missingKey(sink: sink.name, kind: sink.kind.rawValue, field: field, variable: "(none)"))
            }
            guard let key = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty else {
                return .failure(
                    .missingKey(sink: sink.name, kind: sink.kind.rawValue, field: field, variable: variable))
            }
            let urlField = sink.kind == .pagerduty ? "events_url" : "api_url"
            let address = sink.serviceURL ?? (sink.kind == .pagerduty ? pagerDutyEventsURL : opsgenieAPIURL)
            guard let url = URL(string: address), let scheme = url.scheme?.lowercased(),
                scheme == "http" || scheme == "https",
                let host = url.host, !host.isEmpty
            else {
                return .failure(.badURL(sink: sink.name, source: "its \(urlField)"))
            }
            return .success(ResolvedSink(sink: sink, url: url, secret: nil, key: key))
        }
        if let variable = sink.urlEnv {
            guard let value = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty
            else {
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
    /// leave it out (`NotifySink.accepts`).
    func accepts(_ event: Event) -> Event? { sink.accepts(event) }

    /// Strings that must never leave the process in a payload: the URL (whole, and its path
    /// and query, where Slack puts its token) and the secret.
    var confidentialStrings: [String] {
        var strings = [url.absoluteString]
        if url.path.count >= 12 { strings.append(url.path) }
        if let query = url.query, query.count >= 8 { strings.append(query) }
        if let secret, secret.count >= 4 { strings.append(String(decoding: secret, as: UTF8.self)) }
        if let key, key.count >= 4 { strings.append(key) }
        return strings
    }
}

extension NotifySink {
    /// The event as this sink should see it, or nil when its `on:` and `environments:` lists
    /// leave it out. Without `on:`, a webhook gets every event; a Slack channel gets what
    /// on-call acts on (failures, blocked targets, halted waves, the run summary) and must name
    /// `started` or `succeeded` to get those, so a run of 100 targets is one message, not 100.
    ///
    /// An incident sink (PagerDuty, Opsgenie) pages by default for failures, blocked targets and
    /// halted waves, and always sees what can resolve an incident it opened (a target that
    /// succeeded or was already converged, the run's end), whatever its `on:` says.
    package func accepts(_ event: Event) -> Event? {
        if event.kind == .test { return event }
        if kind.tracksIncidents, [.targetSucceeded, .targetConverged, .runFinished].contains(event.kind) {
            return event.restricted(to: environments)
        }
        if event.kind == .targetConverged { return nil }
        // An email is one summary per run, failures first: it collects what went wrong as the
        // run goes and sends at the end, whatever `on:` says.
        if kind == .email {
            guard [.targetFailed, .targetBlocked, .waveHalted, .runFinished].contains(event.kind) else { return nil }
            return event.restricted(to: environments)
        }
        let wanted: Bool
        if event.kind == .stepProgress {
            // Progress goes only where it was asked for by name: a sink without `on:` is not flooded.
            wanted = on.contains(where: event.kind.isNamed(by:))
        } else if on.isEmpty {
            switch kind {
            case .webhook: wanted = true
            case .slack, .teams: wanted = event.kind != .runStarted && event.kind != .targetSucceeded
            case .pagerduty, .opsgenie: wanted = [.targetFailed, .targetBlocked, .waveHalted].contains(event.kind)
            case .email: wanted = false
            }
        } else {
            wanted = on.contains(where: event.kind.isNamed(by:))
        }
        guard wanted else { return nil }
        return event.restricted(to: environments)
    }
}
