import TidemarkCore

/// Why a sink cannot be used or a setting cannot be read. Each case renders one sentence naming
/// the sink or variable and the fix; none ever repeats a URL or a secret. Thread-safe value.
package enum NotifyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `url_env` names a variable that is not set (or is empty).
    case missingURL(sink: String, variable: String)
    /// The sink's URL is not an absolute http(s) URL.
    case badURL(sink: String, source: String)
    /// `secret_env` names a variable that is not set (or is empty).
    case missingSecret(sink: String, variable: String)
    /// A timeout variable does not hold a duration.
    case badDuration(variable: String, value: String)
    /// `routing_key_env` or `api_key_env` names a variable that is not set: the sink cannot page
    /// anyone, which a run must not find out at 3 a.m.
    case missingKey(sink: String, kind: String, field: String, variable: String)

    /// Whether the run must not start: an incident sink without its key would page nobody
    /// while looking configured. A chat or webhook sink without its URL is a warning instead
    /// (docs/on-call.md#a-sink-without-its-key).
    package var stopsTheRun: Bool {
        if case .missingKey = self { return true }
        return false
    }

    package var description: String {
        switch self {
        case .missingURL(let sink, let variable):
            return
                "notify sink '\(sink)': environment variable \(variable) (its url_env) is not set; export it with the webhook URL, or remove the sink."
        case .badURL(let sink, let source):
            return
                "notify sink '\(sink)': the URL in \(source) is not an absolute http:// or https:// URL; fix \(source)."
        case .missingSecret(let sink, let variable):
            return
                "notify sink '\(sink)': environment variable \(variable) (its secret_env) is not set, and Tidemark does not send unsigned events to a sink that expects signatures; export it."
        case .missingKey(let sink, let kind, let field, let variable):
            let consequence = kind == "email" ? "so it cannot log in to the SMTP server" : "so it could page nobody"
            return
                "notify sink '\(sink)' (\(kind)): environment variable \(variable) (its \(field)) is not set, \(consequence); export it, or remove the sink."
        case .badDuration(let variable, let value):
            return "\(variable)=\(value) is not a duration; write a number and a unit, e.g. \(DurationText.examples)."
        }
    }
}
