import Foundation
import TidemarkCore

/// Timeouts and retry pacing for notification delivery. Thread-safe value.
package struct DeliveryOptions: Sendable, Hashable {
    /// The longest one HTTP request may take, connect included. Set on a dedicated
    /// `URLSessionConfiguration`: measured on Linux, a per-request `timeoutInterval` on the shared
    /// session did not end a stalled request, while the configuration's timeout did.
    package var requestTimeout: Duration
    /// How long the end of a run waits for deliveries still in flight or queued before writing
    /// them to the outbox.
    package var flushTimeout: Duration
    /// The first retry's delay; each later one doubles, up to `maximumBackoff`.
    package var initialBackoff: Duration
    package var maximumBackoff: Duration
    /// A receiver's `Retry-After` is honoured up to this long.
    package var maximumRetryAfter: Duration
    /// At most this many per-target Slack messages per sink and run; the summary counts the
    /// rest. Slack takes about one message per second per webhook, and 64 identical "blocked"
    /// messages bury the one that matters.
    package var slackTargetMessageLimit: Int

    package init(
        requestTimeout: Duration = .seconds(5), flushTimeout: Duration = .seconds(10),
        initialBackoff: Duration = .milliseconds(500),
        maximumBackoff: Duration = .seconds(8), maximumRetryAfter: Duration = .seconds(30),
        slackTargetMessageLimit: Int = 20
    ) {
        self.requestTimeout = requestTimeout
        self.flushTimeout = flushTimeout
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.maximumRetryAfter = maximumRetryAfter
        self.slackTargetMessageLimit = slackTargetMessageLimit
    }

    /// The variable that overrides `flushTimeout` (`10s`, `500ms`; the inventory's duration grammar).
    package static let flushTimeoutVariable = "TIDEMARK_NOTIFY_FLUSH_TIMEOUT"
    /// The variable that overrides `requestTimeout`.
    package static let requestTimeoutVariable = "TIDEMARK_NOTIFY_REQUEST_TIMEOUT"

    /// The defaults, with `TIDEMARK_NOTIFY_FLUSH_TIMEOUT` and `TIDEMARK_NOTIFY_REQUEST_TIMEOUT`
    /// applied when set; a value that is not a duration is an error naming the variable.
    package init(environment: [String: String]) throws(NotifyError) {
        self.init()
        if let text = environment[Self.flushTimeoutVariable], !text.isEmpty {
            guard let duration = DurationText.parse(text) else {
                throw .badDuration(variable: Self.flushTimeoutVariable, value: text)
            }
            flushTimeout = duration
        }
        if let text = environment[Self.requestTimeoutVariable], !text.isEmpty {
            guard let duration = DurationText.parse(text), duration > .zero else {
                throw .badDuration(variable: Self.requestTimeoutVariable, value: text)
            }
            requestTimeout = duration
        }
    }

    /// The delay before retry number `retry` (1 for the first): the shared `Backoff`; a
    /// receiver's `Retry-After`, capped, wins when it asks for longer.
    func backoff(retry: Int, retryAfter: Duration?) -> Duration {
        let jittered = Backoff(initial: initialBackoff, maximum: maximumBackoff).delay(beforeRetry: retry)
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, maximumRetryAfter))
    }
}
