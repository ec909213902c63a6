import Foundation
import TidemarkCore

/// Timeouts and retry pacing for notification delivery. Thread-safe value.
public struct DeliveryOptions: Sendable, Hashable {
    /// The longest one HTTP request may take, connect included. Set on a dedicated
    /// `URLSessionConfiguration`: measured on Linux, a per-request `timeoutInterval` on the shared
    /// session did not end a stalled request, while the configuration's timeout did.
    public var requestTimeout: Duration
    /// How long the end of a run waits for deliveries still in flight or queued before writing
    /// them to the outbox.
    public var flushTimeout: Duration
    /// The first retry's delay; each later one doubles, up to `maximumBackoff`.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    /// A receiver's `Retry-After` is honoured up to this long.
    public var maximumRetryAfter: Duration
    /// At most this many per-target Slack messages per sink and run; the summary counts the
    /// rest. Slack takes about one message per second per webhook, and 64 identical "blocked"
    /// messages bury the one that matters.
    public var slackTargetMessageLimit: Int

    public init(
        requestTimeout: Duration = .seconds(5), flushTimeout: Duration = .seconds(10), initialBackoff: Duration = .milliseconds(500),
        maximumBackoff: Duration = .seconds(8), maximumRetryAfter: Duration = .seconds(30), slackTargetMessageLimit: Int = 20
    ) {
        self.requestTimeout = requestTimeout
        self.flushTimeout = flushTimeout
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.maximumRetryAfter = maximumRetryAfter
        self.slackTargetMessageLimit = slackTargetMessageLimit
    }

    /// The variable that overrides `flushTimeout` (`10s`, `500ms`, `2`).
    public static let flushTimeoutVariable = "TIDEMARK_NOTIFY_FLUSH_TIMEOUT"
    /// The variable that overrides `requestTimeout`.
    public static let requestTimeoutVariable = "TIDEMARK_NOTIFY_REQUEST_TIMEOUT"

    /// The defaults, with `TIDEMARK_NOTIFY_FLUSH_TIMEOUT` and `TIDEMARK_NOTIFY_REQUEST_TIMEOUT`
    /// applied when set; a value that is not a duration is an error naming the variable.
    public init(environment: [String: String]) throws(NotifyError) {
        self.init()
        if let text = environment[Self.flushTimeoutVariable], !text.isEmpty {
            guard let duration = Self.parseDuration(text) else { throw .badDuration(variable: Self.flushTimeoutVariable, value: text) }
            flushTimeout = duration
        }
        if let text = environment[Self.requestTimeoutVariable], !text.isEmpty {
            guard let duration = Self.parseDuration(text), duration > .zero else {
                throw .badDuration(variable: Self.requestTimeoutVariable, value: text)
            }
            requestTimeout = duration
        }
    }

    /// `250ms`, `2s`, `1m`, or a bare number of seconds (`1.5`). Nil for anything else.
    static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            guard let amount = Double(trimmed.dropLast(unit.suffix.count)), amount >= 0, amount.isFinite else { return nil }
            return .milliseconds(Int64((amount * unit.seconds * 1000).rounded()))
        }
        guard let seconds = Double(trimmed), seconds >= 0, seconds.isFinite else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// The delay before retry number `retry` (1 for the first): capped exponential backoff with
    /// "equal jitter" (half fixed, half random), so a fleet of runs that all failed at once does
    /// not retry in lockstep yet never retries immediately. A receiver's `Retry-After`, capped,
    /// wins when it asks for longer.
    func backoff(retry: Int, retryAfter: Duration?) -> Duration {
        let exponent = min(max(retry - 1, 0), 20)
        let ceiling = min(initialBackoff * (1 << exponent), maximumBackoff)
        let milliseconds = max(ceiling.milliseconds, 2)
        let jittered = Duration.milliseconds(milliseconds / 2 + Int64.random(in: 0...(milliseconds / 2)))
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, maximumRetryAfter))
    }
}

extension Duration {
    /// Seconds as a `Double`, for URLSession's `TimeInterval`s and for printing.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
