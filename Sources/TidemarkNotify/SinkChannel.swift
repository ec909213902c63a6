import Foundation
import Logging
import TidemarkCore
import TidemarkHTTP

/// How one HTTP attempt ended. Thread-safe value.
enum AttemptOutcome: Sendable, Equatable {
    /// 2xx.
    case delivered(status: Int)
    /// A 4xx other than 408 and 429: the receiver will not change its mind, so no retry.
    case refused(status: Int)
    /// A connection error, a timeout, a redirect (never followed), 408, 429 or 5xx: worth another try.
    case retry(reason: String, retryAfter: Duration?)
}

/// Sends one delivery to one sink, once. Thread-safe value.
struct Sender: Sendable {
    var sink: ResolvedSink
    var transport: any HTTPTransport
    var options: DeliveryOptions

    func attempt(_ delivery: Delivery) async -> AttemptOutcome {
        await attemptAnswered(delivery).outcome
    }

    /// One attempt, and the service's own words when it answered (`Event processed`).
    func attemptAnswered(_ delivery: Delivery) async -> (outcome: AttemptOutcome, answer: String?) {
        if sink.sink.kind == .email {
            return await SMTPMailer.send(
                SMTPMailer.Message(
                    url: sink.url, from: sink.sink.from ?? "", to: sink.sink.to, username: sink.username,
                    password: sink.key, data: delivery.body,
                    timeout: options.requestTimeout))
        }
        do {
            let request = self.request(for: delivery)
            let answer = try await transport.post(request.url, headers: request.headers, body: request.body)
            return (Self.outcome(of: answer), answer.message)
        } catch {
            return (
                .retry(reason: TransportFailure.describe(error, timeout: options.requestTimeout), retryAfter: nil), nil
            )
        }
    }

    private static func outcome(of answer: HTTPAnswer) -> AttemptOutcome {
        switch answer.status {
        case 200..<300: return .delivered(status: answer.status)
        case 300..<400:
            // Never followed (URLSessionTransport): a failed delivery, kept for the next run
            // in case the sink's URL is fixed by then; the log names the origin only.
            let target = answer.redirectOrigin.map { " to \($0)" } ?? ""
            return .retry(reason: "HTTP \(answer.status) redirect\(target) (not followed)", retryAfter: nil)
        case 408: return .retry(reason: "HTTP 408", retryAfter: nil)
        case 429: return .retry(reason: "HTTP 429", retryAfter: answer.retryAfter)
        case 500..<600: return .retry(reason: "HTTP \(answer.status)", retryAfter: answer.retryAfter)
        default: return .refused(status: answer.status)
        }
    }
}

extension Sender {
    /// The request as sent: the stored body and headers, the signature, and the service's key,
    /// which exists only here and in the request, never in a `Delivery` or the outbox
    /// (PagerDuty's routing key goes in the body, Opsgenie's API key in `Authorization`).
    func request(for delivery: Delivery) -> (url: URL, headers: [String: String], body: Data) {
        var url = sink.url
        if let path = delivery.path {
            var base = sink.url.absoluteString
            while base.hasSuffix("/") { base.removeLast() }
            url = URL(string: base + path) ?? sink.url
        }
        var headers = delivery.headers(signedWith: sink.secret)
        var body = delivery.body
        if let key = sink.key {
            switch sink.sink.kind {
            case .pagerduty: body = PagerDutyMessage.addingRoutingKey(key, to: body)
            case .opsgenie: headers["Authorization"] = "GenieKey \(key)"
            case .slack, .webhook, .teams, .email: break
            }
        }
        return (url, headers, body)
    }
}

/// What happened to one sink's deliveries in a run. Thread-safe value.
package struct SinkSummary: Sendable, Hashable {
    package var name: String
    package var kind: String
    /// Delivered (2xx), including entries re-sent from the outbox.
    package var delivered = 0
    /// Refused with a 4xx: logged, not retried, not kept.
    package var refused = 0
    /// Attempts that failed and were tried again.
    package var retries = 0
    /// Still undelivered at the end of the flush: written to the outbox for the next run.
    package var kept = 0
    /// Why the sink could not be used at all (a missing variable, a bad URL); nil when it could.
    package var problem: String?

    package init(name: String, kind: String, problem: String? = nil) {
        self.name = name
        self.kind = kind
        self.problem = problem
    }
}

/// One sink's queue and the task that empties it, in order, retrying the head with capped
/// exponential backoff and jitter until it is delivered or refused.
///
/// Thread-safe: an actor. Enqueueing never waits for the network (the worker's `await`s
/// suspend it, not the actor), and `abandon()` hands back whatever is still pending, the
/// delivery in flight included, so the outbox can keep it.
actor SinkChannel {
    let sender: Sender
    private let logger: Logger
    private let outbox: Outbox
    private var queue: [Delivery] = []
    /// `queue[head...]` is pending; dequeuing moves `head` instead of shifting the array.
    private var head = 0
    private var current: Delivery?
    private var lastErrors: [String: String] = [:]
    private var summary: SinkSummary
    private var worker: Task<Void, Never>?
    private var stopped = false
    private var warned = false
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    var name: String { sender.sink.name }

    init(sender: Sender, outbox: Outbox, logger: Logger) {
        self.sender = sender
        self.outbox = outbox
        self.logger = logger
        self.summary = SinkSummary(name: sender.sink.name, kind: sender.sink.sink.kind.rawValue)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func start() {
        guard worker == nil, !stopped else { return }
        worker = Task { await self.work() }
    }

    func enqueue(_ delivery: Delivery) {
        guard !stopped else { return }
        queue.append(delivery)
        wake.yield()
    }

    /// Nothing queued and nothing in flight.
    var isIdle: Bool { current == nil && head >= queue.count }

    /// Stops the worker and returns what was not delivered, oldest first, each with the reason
    /// its last attempt failed. A request still in flight is abandoned: if the receiver did get
    /// it, the next run's re-send carries the same delivery id.
    func abandon() -> [(delivery: Delivery, lastError: String?)] {
        stopped = true
        worker?.cancel()
        wake.finish()
        var pending: [Delivery] = []
        if let current { pending.append(current) }
        pending += queue[min(head, queue.count)...]
        queue = []
        head = 0
        current = nil
        summary.kept = pending.count
        return pending.map { ($0, lastErrors[$0.id]) }
    }

    var result: SinkSummary { summary }

    private func work() async {
        var signals = wakeups.makeAsyncIterator()
        while !stopped {
            if head < queue.count {
                let delivery = queue[head]
                head += 1
                if head > 256 && head * 2 > queue.count {
                    queue.removeFirst(head)
                    head = 0
                }
                await deliver(delivery)
            } else if await signals.next() == nil {
                return
            }
        }
    }

    private func deliver(_ first: Delivery) async {
        var delivery = first
        var retry = 0
        while !stopped {
            delivery.attempts += 1
            current = delivery
            let outcome = await sender.attempt(delivery)
            // abandon() already took this delivery for the outbox; leave its record alone.
            if stopped { return }
            switch outcome {
            case .delivered(let status):
                summary.delivered += 1
                logger.debug(
                    "notify sink '\(name)': \(delivery.event) delivered (HTTP \(status), delivery \(delivery.id), attempt \(delivery.attempts))"
                )
                finish(delivery)
                return
            case .refused(let status):
                summary.refused += 1
                logger.error(
                    "notify sink '\(name)' refused \(delivery.event) with HTTP \(status) (delivery \(delivery.id)); not retried. Check the receiver and the sink's URL."
                )
                finish(delivery)
                return
            case .retry(let reason, let retryAfter):
                retry += 1
                summary.retries += 1
                lastErrors[delivery.id] = reason
                let delay = sender.options.backoff(retry: retry, retryAfter: retryAfter)
                let message: Logger.Message =
                    "notify sink '\(name)': \(delivery.event) not delivered (\(reason)); retrying in \(DurationText.seconds(delay.seconds)) in the background"
                if warned {
                    logger.debug(message)
                } else {
                    // Once per sink: enough to say the receiver is in trouble without flooding the run's output.
                    warned = true
                    logger.warning(message)
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    private func finish(_ delivery: Delivery) {
        current = nil
        lastErrors[delivery.id] = nil
        if let file = delivery.outboxFile { outbox.remove(file) }
    }
}
