import TidemarkCore

/// Why a sink cannot be used or a setting cannot be read. Each case renders one sentence naming
/// the sink or variable and the fix; none ever repeats a URL or a secret. Thread-safe value.
public enum NotifyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `url_env` names a variable that is not set (or is empty).
    case missingURL(sink: String, variable: String)
    /// The sink's URL is not an absolute http(s) URL.
    case badURL(sink: String, source: String)
    /// `secret_env` names a variable that is not set (or is empty).
    case missingSecret(sink: String, variable: String)
    /// A timeout variable does not hold a duration.
    case badDuration(variable: String, value: String)

    public var description: String {
        switch self {
        case .missingURL(let sink, let variable):
            return "notify sink '\(sink)': environment variable \(variable) (its url_env) is not set; export it with the webhook URL, or remove the sink."
        case .badURL(let sink, let source):
            return "notify sink '\(sink)': the URL in \(source) is not an absolute http:// or https:// URL; fix \(source)."
        case .missingSecret(let sink, let variable):
            return "notify sink '\(sink)': environment variable \(variable) (its secret_env) is not set, and Tidemark does not send unsigned events to a sink that expects signatures; export it."
        case .badDuration(let variable, let value):
            return "\(variable)=\(value) is not a duration; write a number and a unit, e.g. \(DurationText.examples)."
        }
    }
}
