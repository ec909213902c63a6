import Foundation
import Logging
import TidemarkCore

/// Delivers a run's events to the inventory's notification sinks without ever holding up the run.
///
/// `post(_:)` only appends to an in-memory stream and returns; a routing task formats each
/// event for every sink whose `on:` and `environments:` lists want it, and each sink's own
/// queue sends in order with retries. `finish()` waits at most `flushTimeout` for the queues
/// to empty and writes what is left to the outbox, which the next run's `start()` sends before
/// anything new. URLs and secrets are read from the environment and used only in requests.
///
/// Thread-safe: an actor; `post(_:)` may be called from any thread, including the executor's
/// worker threads.
public actor Notifier {
    private let inventory: String
    private let inventoryFile: String
    private let options: DeliveryOptions
    private let logger: Logger
    private let outbox: Outbox
    private let transport: any HTTPTransport
    private let sinks: [NotifySink]
    private let channels: [SinkChannel]
    private let problems: [String: NotifyError]
    private let confidential: [String]
    private let events: AsyncStream<Event>
    private nonisolated let continuation: AsyncStream<Event>.Continuation
    private var router: Task<Void, Never>?
    private var sequence = 0
    /// Per Slack sink: per-target messages made in this run, and those left out over the limit.
    private var slackTargetMessages: [String: (made: Int, omitted: Int)] = [:]
    private var summary: DeliverySummary?

    /// - Parameters:
    ///   - sinks: the inventory's `notify` list.
    ///   - inventory: the inventory's name, in every event and outbox entry.
    ///   - inventoryFile: the inventory file as the operator names it, for the commands Slack
    ///     messages suggest (`tidemark history -i FILE --target T`).
    ///   - outbox: the folder for undelivered messages (`.tidemark/outbox`).
    ///   - environment: where `url_env` and `secret_env` are looked up.
    public init(
        sinks: [NotifySink], inventory: String, inventoryFile: String? = nil, outbox: URL, environment: [String: String], logger: Logger,
        options: DeliveryOptions = DeliveryOptions()
    ) {
        self.init(
            sinks: sinks, inventory: inventory, inventoryFile: inventoryFile, outbox: outbox, environment: environment, logger: logger,
            options: options, transport: URLSessionTransport(timeout: options.requestTimeout))
    }

    init(
        sinks: [NotifySink], inventory: String, inventoryFile: String?, outbox: URL, environment: [String: String], logger: Logger,
        options: DeliveryOptions, transport: any HTTPTransport
    ) {
        self.inventory = inventory
        self.inventoryFile = inventoryFile ?? "inventories/\(inventory).yaml"
        self.options = options
        self.logger = logger
        self.outbox = Outbox(directory: outbox)
        self.transport = transport
        self.sinks = sinks
        var channels: [SinkChannel] = []
        var problems: [String: NotifyError] = [:]
        var confidential: [String] = []
        for sink in sinks {
            switch ResolvedSink.resolve(sink, environment: environment) {
            case .success(let resolved):
                channels.append(
                    SinkChannel(sender: Sender(sink: resolved, transport: transport, options: options), outbox: Outbox(directory: outbox), logger: logger))
                confidential += resolved.confidentialStrings
            case .failure(let problem):
                problems[sink.name] = problem
            }
        }
        self.channels = channels
        self.problems = problems
        self.confidential = confidential.sorted { $0.count > $1.count }
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
    }

    /// Why sinks cannot be used (a variable not set, a URL that is not http), in inventory order.
    public var sinkProblems: [NotifyError] {
        sinks.compactMap { problems[$0.name] }
    }

    /// Sends the outbox's waiting entries first (in the background, like everything else),
    /// then starts routing posted events. Says once which sinks cannot be used. Idempotent.
    public func start() async {
        guard router == nil else { return }
        for problem in sinkProblems { logger.warning("\(problem.description) Its events are not sent.") }
        if !channels.isEmpty {
            let (waiting, unreadable) = outbox.load(inventory: inventory)
            for problem in unreadable { logger.warning("notify outbox: \(problem)") }
            var orphaned: [String: Int] = [:]
            for delivery in waiting {
                if let channel = channels.first(where: { $0.sender.sink.name == delivery.sink }) {
                    await channel.enqueue(delivery)
                } else {
                    orphaned[delivery.sink, default: 0] += 1
                }
            }
            for (sink, count) in orphaned.sorted(by: { $0.key < $1.key }) {
                logger.warning(
                    "notify outbox: \(count) undelivered message\(count == 1 ? "" : "s") for sink '\(sink)', which cannot be used now; left in \(outbox.directory.path) for a run that can.")
            }
            if !waiting.isEmpty { logger.info("notify outbox: re-sending \(waiting.count - orphaned.values.reduce(0, +)) undelivered message(s) first") }
        }
        for channel in channels { await channel.start() }
        router = Task { await self.routeAll() }
    }

    /// Queues `event` for every sink that wants it and returns at once: never waits for the
    /// network, a lock, or the routing task.
    public nonisolated func post(_ event: Event) {
        continuation.yield(event)
    }

    /// Waits at most `flushTimeout` for every posted event to be delivered (or refused), then
    /// writes whatever is left to the outbox and reports per sink. Call it once, at the end of
    /// the run; later posts are dropped.
    public func finish() async -> DeliverySummary {
        if let summary { return summary }
        if router == nil { await start() }
        continuation.finish()
        await router?.value
        let clock = ContinuousClock()
        let deadline = clock.now + options.flushTimeout
        while clock.now < deadline {
            var idle = true
            for channel in channels where !(await channel.isIdle) {
                idle = false
                break
            }
            if idle { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        var sinkSummaries: [String: SinkSummary] = [:]
        var outboxFailures: [String] = []
        for channel in channels {
            let pending = await channel.abandon()
            var written = 0
            for (delivery, lastError) in pending {
                // A progress report is stale by the next run: never kept (docs/backfills.md#watching-a-backfill).
                if delivery.event == EventKind.stepProgress.rawValue { continue }
                do {
                    try outbox.write(delivery, lastError: lastError)
                    written += 1
                } catch {
                    outboxFailures.append("notify sink '\(delivery.sink)': \(delivery.event) (delivery \(delivery.id)) was lost: \(error)")
                }
            }
            var result = await channel.result
            result.kept = written
            sinkSummaries[result.name] = result
        }
        transport.shutdown()
        let summaries = sinks.map { sink in
            sinkSummaries[sink.name] ?? SinkSummary(name: sink.name, kind: sink.kind.rawValue, problem: problems[sink.name]?.description)
        }
        let result = DeliverySummary(sinks: summaries, outboxDirectory: outbox.directory.path, flushTimeout: options.flushTimeout, lost: outboxFailures)
        for line in outboxFailures { logger.error("\(line)") }
        for line in result.warnings { logger.warning("\(line)") }
        summary = result
        return result
    }

    /// Sends one `notify.test` event to every sink, whatever its `on:` list says, retrying as
    /// usual within `flushTimeout`, and reports each result. Nothing is kept in the outbox.
    public func sendTest(runID: String, at date: Date = Date()) async -> [SinkTestResult] {
        let event = Event(kind: .test, runID: runID, inventory: inventory, at: date)
        let deliveries = channels.compactMap { channel -> (Sender, Delivery)? in
            delivery(for: event, to: channel.sender.sink).map { (channel.sender, $0) }
        }
        let options = self.options
        let logger = self.logger
        let results = await withTaskGroup(of: SinkTestResult.self) { group in
            for (sender, delivery) in deliveries {
                group.addTask { await Self.test(delivery, with: sender, options: options, logger: logger) }
            }
            var results: [String: SinkTestResult] = [:]
            for await result in group { results[result.sink] = result }
            return results
        }
        transport.shutdown()
        return sinks.map { sink in
            results[sink.name]
                ?? SinkTestResult(
                    sink: sink.name, kind: sink.kind.rawValue, delivered: false, status: nil,
                    detail: problems[sink.name]?.description ?? "no message to send", attempts: 0, elapsed: .zero)
        }
    }

    private static func test(_ first: Delivery, with sender: Sender, options: DeliveryOptions, logger: Logger) async -> SinkTestResult {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + options.flushTimeout
        var delivery = first
        var retry = 0
        var lastReason = "not sent"
        while true {
            delivery.attempts += 1
            let outcome = await sender.attempt(delivery)
            let elapsed = clock.now - start
            switch outcome {
            case .delivered(let status):
                return SinkTestResult(
                    sink: sender.sink.name, kind: sender.sink.sink.kind.rawValue, delivered: true, status: status, detail: "delivered",
                    attempts: delivery.attempts, elapsed: elapsed)
            case .refused(let status):
                return SinkTestResult(
                    sink: sender.sink.name, kind: sender.sink.sink.kind.rawValue, delivered: false, status: status,
                    detail: "refused with HTTP \(status); not retried", attempts: delivery.attempts, elapsed: elapsed)
            case .retry(let reason, let retryAfter):
                lastReason = reason
                retry += 1
                let delay = options.backoff(retry: retry, retryAfter: retryAfter)
                logger.debug("notify sink '\(sender.sink.name)': test attempt \(delivery.attempts) not delivered (\(reason))")
                if clock.now + delay >= deadline {
                    let status = reason.hasPrefix("HTTP ") ? Int(reason.dropFirst(5).prefix(while: \.isNumber)) : nil
                    return SinkTestResult(
                        sink: sender.sink.name, kind: sender.sink.sink.kind.rawValue, delivered: false, status: status,
                        detail: "\(lastReason) (gave up after \(delivery.attempts) attempt\(delivery.attempts == 1 ? "" : "s"))",
                        attempts: delivery.attempts, elapsed: clock.now - start)
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    private func routeAll() async {
        for await event in events {
            for channel in channels {
                guard let delivery = delivery(for: event, to: channel.sender.sink) else { continue }
                await channel.enqueue(delivery)
            }
        }
    }

    /// The message `sink` gets for `event`, or nil when its lists leave the event out or the
    /// sink's format has nothing to say about it.
    private func delivery(for event: Event, to sink: ResolvedSink) -> Delivery? {
        guard var event = sink.accepts(event) else { return nil }
        event.error = event.error.map(scrub)
        event.reason = event.reason.map(scrub)
        let body: Data
        do {
            switch sink.sink.kind {
            case .webhook:
                body = try WebhookPayload(event: event).body()
            case .slack:
                var tally = slackTargetMessages[sink.name] ?? (0, 0)
                if event.target != nil {
                    guard tally.made < options.slackTargetMessageLimit else {
                        tally.omitted += 1
                        slackTargetMessages[sink.name] = tally
                        return nil
                    }
                }
                let formatter = SlackFormatter(inventoryFile: inventoryFile, sinkName: sink.name)
                guard let message = formatter.message(for: event, omitted: tally.omitted) else { return nil }
                if event.target != nil { tally.made += 1 }
                slackTargetMessages[sink.name] = tally
                body = try message.body()
            }
        } catch {
            logger.error("notify sink '\(sink.name)': cannot encode \(event.kind.rawValue): \(error)")
            return nil
        }
        sequence += 1
        if let key = event.deliveryKey {
            return Delivery(
                id: Self.deliveryID(key: key, sink: sink.name), sink: sink.name, inventory: inventory, event: event.kind.rawValue, body: body,
                createdAt: Date(), sequence: sequence)
        }
        return Delivery(sink: sink.name, inventory: inventory, event: event.kind.rawValue, body: body, createdAt: Date(), sequence: sequence)
    }

    /// A stable delivery id in UUID form from an event's delivery key and the sink's name.
    static func deliveryID(key: String, sink: String) -> String {
        let hex = Array(SHA256Hex.digest("\(key)\u{0}\(sink)").prefix(32))
        return [hex[0..<8], hex[8..<12], hex[12..<16], hex[16..<20], hex[20..<32]].map { String($0) }.joined(separator: "-")
    }

    /// Belt and braces: a URL or secret that somehow reached an error text (a script that
    /// echoed its environment, say) is replaced before the text leaves the process.
    private func scrub(_ text: String) -> String {
        var text = text
        for secret in confidential where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: "***")
        }
        return text
    }
}

/// What `Notifier.finish()` did, per sink. Thread-safe value.
public struct DeliverySummary: Sendable, Hashable {
    public var sinks: [SinkSummary]
    public var outboxDirectory: String
    public var flushTimeout: Duration
    /// Messages neither delivered nor written to the outbox (the outbox could not be written).
    public var lost: [String]

    public init(sinks: [SinkSummary], outboxDirectory: String, flushTimeout: Duration, lost: [String] = []) {
        self.sinks = sinks
        self.outboxDirectory = outboxDirectory
        self.flushTimeout = flushTimeout
        self.lost = lost
    }

    public var delivered: Int { sinks.reduce(0) { $0 + $1.delivered } }
    public var kept: Int { sinks.reduce(0) { $0 + $1.kept } }
    public var refused: Int { sinks.reduce(0) { $0 + $1.refused } }

    /// Sentences for the operator about messages that did not arrive; empty when all did.
    public var warnings: [String] {
        sinks.compactMap { sink in
            guard sink.kept > 0 else { return nil }
            return
                "notify sink '\(sink.name)': \(sink.kept) message\(sink.kept == 1 ? "" : "s") not delivered within \(SlackFormatter.seconds(flushTimeout.seconds)); kept in \(outboxDirectory) and sent first by the next run."
        }
    }
}

/// One sink's answer to `tidemark notify test`. Thread-safe value.
public struct SinkTestResult: Sendable, Hashable {
    public var sink: String
    public var kind: String
    public var delivered: Bool
    /// The last HTTP status, if any answer came.
    public var status: Int?
    /// `delivered`, `refused with HTTP 404; not retried`, `connection refused (gave up after 4 attempts)`, …
    public var detail: String
    public var attempts: Int
    public var elapsed: Duration
}
