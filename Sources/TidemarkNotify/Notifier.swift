import Foundation
import Logging
import TidemarkCore
import TidemarkHTTP

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
package actor Notifier {
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
    /// Per Slack or Teams sink: per-target messages made in this run, and those left out over the limit.
    private var slackTargetMessages: [String: (made: Int, omitted: Int)] = [:]
    private var summary: DeliverySummary?
    /// Each environment's tier: an incident's severity.
    private let tiers: [String: Tier]
    /// The incidents each PagerDuty or Opsgenie sink has open (docs/on-call.md#incidents-open-and-resolve).
    private var incidents: IncidentLedger
    private var incidentProblem: String?
    /// Per email sink: the run's failed and blocked targets and halted waves, for its summary.
    private var emailProblems: [String: [Event]] = [:]

    /// - Parameters:
    ///   - sinks: the inventory's `notify` list.
    ///   - inventory: the inventory's name, in every event and outbox entry.
    ///   - inventoryFile: the inventory file as the operator names it, for the commands Slack
    ///     messages suggest (`tidemark history -i FILE --target T`).
    ///   - outbox: the folder for undelivered messages (`.tidemark/outbox`).
    ///   - environment: where `url_env`, `secret_env` and the key variables are looked up.
    ///   - tiers: each environment's tier, for an incident's severity.
    ///   - incidents: the folder of open incidents (`.tidemark/incidents`); nil: none remembered,
    ///     so no incident is ever resolved automatically.
    ///   - sharedIncidents: a shared run's open incidents, read from its control database; when
    ///     given, they replace the folder, and `openIncidents()` says what they are at the end.
    package init(
        sinks: [NotifySink], inventory: String, inventoryFile: String? = nil, outbox: URL,
        environment: [String: String], logger: Logger,
        options: DeliveryOptions = DeliveryOptions(), tiers: [String: Tier] = [:], incidents: URL? = nil,
        sharedIncidents: [String: [String: OpenIncident]]? = nil
    ) {
        self.init(
            sinks: sinks, inventory: inventory, inventoryFile: inventoryFile, outbox: outbox, environment: environment,
            logger: logger,
            options: options, transport: URLSessionTransport(timeout: options.requestTimeout), tiers: tiers,
            incidents: incidents, sharedIncidents: sharedIncidents)
    }

    init(
        sinks: [NotifySink], inventory: String, inventoryFile: String?, outbox: URL, environment: [String: String],
        logger: Logger,
        options: DeliveryOptions, transport: any HTTPTransport, tiers: [String: Tier] = [:], incidents: URL? = nil,
        sharedIncidents: [String: [String: OpenIncident]]? = nil
    ) {
        self.tiers = tiers
        let tracks = sinks.contains { $0.kind.tracksIncidents }
        if let sharedIncidents {
            self.incidents = IncidentLedger(
                file: nil, contents: IncidentLedger.Contents(inventory: inventory, open: sharedIncidents))
            self.incidentProblem = nil
        } else {
            let loaded = IncidentLedger.load(
                tracks ? incidents.map { IncidentLedger.file(in: $0, inventory: inventory) } : nil,
                inventory: inventory)
            self.incidents = loaded.ledger
            self.incidentProblem = loaded.problem
        }
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
                    SinkChannel(
                        sender: Sender(sink: resolved, transport: transport, options: options),
                        outbox: Outbox(directory: outbox), logger: logger))
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

    /// The incidents each sink has open now, by sink and key (a shared run stores them back in
    /// its control database when its notifier is done).
    package func openIncidents() -> [String: [String: OpenIncident]] { incidents.contents.open }

    /// Why sinks cannot be used (a variable not set, a URL that is not http), in inventory order.
    package var sinkProblems: [NotifyError] {
        sinks.compactMap { problems[$0.name] }
    }

    /// Sends the outbox's waiting entries first (in the background, like everything else),
    /// then starts routing posted events. Says once which sinks cannot be used. Idempotent.
    package func start() async {
        guard router == nil else { return }
        for problem in sinkProblems { logger.warning("\(problem.description) Its events are not sent.") }
        if let incidentProblem { logger.warning("notify incidents: \(incidentProblem)") }
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
                    "notify outbox: \(count) undelivered message\(count == 1 ? "" : "s") for sink '\(sink)', which cannot be used now; left in \(outbox.directory.path) for a run that can."
                )
            }
            if !waiting.isEmpty {
                logger.info(
                    "notify outbox: re-sending \(waiting.count - orphaned.values.reduce(0, +)) undelivered message(s) first"
                )
            }
        }
        for channel in channels { await channel.start() }
        router = Task { await self.routeAll() }
    }

    /// Queues `event` for every sink that wants it and returns at once: never waits for the
    /// network, a lock, or the routing task.
    package nonisolated func post(_ event: Event) {
        continuation.yield(event)
    }

    /// Waits at most `flushTimeout` for every posted event to be delivered (or refused), then
    /// writes whatever is left to the outbox and reports per sink. Call it once, at the end of
    /// the run; later posts are dropped.
    package func finish() async -> DeliverySummary {
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
                    outboxFailures.append(
                        "notify sink '\(delivery.sink)': \(delivery.event) (delivery \(delivery.id)) was lost: \(error)"
                    )
                }
            }
            var result = await channel.result
            result.kept = written
            sinkSummaries[result.name] = result
        }
        transport.shutdown()
        let summaries = sinks.map { sink in
            sinkSummaries[sink.name]
                ?? SinkSummary(name: sink.name, kind: sink.kind.rawValue, problem: problems[sink.name]?.description)
        }
        let result = DeliverySummary(
            sinks: summaries, outboxDirectory: outbox.directory.path, flushTimeout: options.flushTimeout,
            lost: outboxFailures)
        for line in outboxFailures { logger.error("\(line)") }
        for line in result.warnings { logger.warning("\(line)") }
        summary = result
        return result
    }

    /// Sends one `notify.test` event to every sink, whatever its `on:` list says, retrying as
    /// usual within `flushTimeout`, and reports each result. Nothing is kept in the outbox.
    package func sendTest(runID: String, at date: Date = Date()) async -> [SinkTestResult] {
        let event = Event(kind: .test, runID: runID, inventory: inventory, at: date)
        let deliveries = channels.map { channel -> (Sender, [Delivery]) in
            (channel.sender, self.deliveries(for: event, to: channel.sender.sink, remember: false))
        }
        let options = self.options
        let logger = self.logger
        let results = await withTaskGroup(of: SinkTestResult.self) { group in
            for (sender, messages) in deliveries where !messages.isEmpty {
                group.addTask { await Self.test(messages, with: sender, options: options, logger: logger) }
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

    /// Sends `messages` in order (PagerDuty's and Opsgenie's trigger, then resolve), each with
    /// retries within the flush timeout; the result is the first that failed, or the last, with
    /// what the service answered to each.
    private static func test(_ messages: [Delivery], with sender: Sender, options: DeliveryOptions, logger: Logger)
        async -> SinkTestResult
    {
        let clock = ContinuousClock()
        let start = clock.now
        var answers: [String] = []
        var attempts = 0
        var last: SinkTestResult?
        for message in messages {
            var result = await test(message, with: sender, options: options, logger: logger, start: start)
            attempts += result.attempts
            if let answer = result.answer {
                answers.append(messages.count > 1 ? "\(Self.step(of: message)): \(answer)" : answer)
            }
            result.attempts = attempts
            result.elapsed = clock.now - start
            result.answer = answers.isEmpty ? nil : answers.joined(separator: "; ")
            last = result
            if !result.delivered { break }
        }
        return last
            ?? SinkTestResult(
                sink: sender.sink.name, kind: sender.sink.sink.kind.rawValue, delivered: false, status: nil,
                detail: "no message to send", attempts: 0,
                elapsed: .zero)
    }

    /// `trigger` or `resolve` for an incident sink's test message.
    private static func step(of delivery: Delivery) -> String {
        delivery.headers[IncidentStep.header] ?? "test"
    }

    private static func test(
        _ first: Delivery, with sender: Sender, options: DeliveryOptions, logger: Logger, start: ContinuousClock.Instant
    ) async
        -> SinkTestResult
    {
        let clock = ContinuousClock()
        let deadline = start + options.flushTimeout
        var delivery = first
        var retry = 0
        var lastReason = "not sent"
        while true {
            delivery.attempts += 1
            let (outcome, answer) = await sender.attemptAnswered(delivery)
            let elapsed = clock.now - start
            switch outcome {
            case .delivered(let status):
                return SinkTestResult(
                    sink: sender.sink.name, kind: sender.sink.sink.kind.rawValue, delivered: true, status: status,
                    detail: "delivered",
                    attempts: delivery.attempts, elapsed: elapsed,
                    answer: answer.map { "\(status) \($0)" } ?? "\(status)")
            case .refused(let status):
                return SinkTestResult(
                    sink: sender.sink.name, kind: sender.sink.sink.kind.rawValue, delivered: false, status: status,
                    detail: "refused with HTTP \(status); not retried", attempts: delivery.attempts, elapsed: elapsed,
                    answer: answer.map { "\(status) \($0)" } ?? "\(status)")
            case .retry(let reason, let retryAfter):
                lastReason = reason
                retry += 1
                let delay = options.backoff(retry: retry, retryAfter: retryAfter)
                logger.debug(
                    "notify sink '\(sender.sink.name)': test attempt \(delivery.attempts) not delivered (\(reason))")
                if clock.now + delay >= deadline {
                    let status = reason.hasPrefix("HTTP ") ? Int(reason.dropFirst(5).prefix(while: \.isNumber)) : nil
                    return SinkTestResult(
                        sink: sender.sink.name, kind: sender.sink.sink.kind.rawValue, delivered: false, status: status,
                        detail:
                            "\(lastReason) (gave up after \(delivery.attempts) attempt\(delivery.attempts == 1 ? "" : "s"))",
                        attempts: delivery.attempts, elapsed: clock.now - start)
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    private func routeAll() async {
        for await event in events {
            for channel in channels {
                for delivery in deliveries(for: event, to: channel.sender.sink, remember: true) {
                    await channel.enqueue(delivery)
                }
            }
        }
    }

    /// The messages `sink` gets for `event`: none when its lists leave the event out or the
    /// sink's format has nothing to say about it; an incident sink may resolve several
    /// incidents at once. With `remember`, an incident sink's open incidents are updated (and
    /// saved) as the messages are made: a trigger still in the outbox is sent before any later
    /// resolve of the same key, since one sink's messages go out in order.
    private func deliveries(for event: Event, to sink: ResolvedSink, remember: Bool) -> [Delivery] {
        guard var event = sink.accepts(event) else { return [] }
        event.error = event.error.map(scrub)
        event.reason = event.reason.map(scrub)
        if sink.sink.kind.tracksIncidents { return incidentDeliveries(for: event, to: sink, remember: remember) }
        if sink.sink.kind == .email { return emailDeliveries(for: event, to: sink) }
        let body: Data
        do {
            switch sink.sink.kind {
            case .webhook:
                body = try WebhookPayload(event: event).body()
            case .pagerduty, .opsgenie, .email:
                return []
            case .slack, .teams:
                // Chat sinks share one limit on per-target messages; the rest is counted in the summary.
                var tally = slackTargetMessages[sink.name] ?? (0, 0)
                if event.target != nil {
                    guard tally.made < options.slackTargetMessageLimit else {
                        tally.omitted += 1
                        slackTargetMessages[sink.name] = tally
                        return []
                    }
                }
                let rendered =
                    sink.sink.kind == .teams
                    ? try TeamsFormatter(inventoryFile: inventoryFile, sinkName: sink.name)
                        .message(for: event, omitted: tally.omitted)?.body()
                    : try SlackFormatter(inventoryFile: inventoryFile, sinkName: sink.name)
                        .message(for: event, omitted: tally.omitted)?.body()
                guard let rendered else { return [] }
                if event.target != nil { tally.made += 1 }
                slackTargetMessages[sink.name] = tally
                body = rendered
            }
        } catch {
            logger.error("notify sink '\(sink.name)': cannot encode \(event.kind.rawValue): \(error)")
            return []
        }
        sequence += 1
        if let key = event.deliveryKey {
            return [
                Delivery(
                    id: Self.deliveryID(key: key, sink: sink.name), sink: sink.name, inventory: inventory,
                    event: event.kind.rawValue, body: body,
                    createdAt: Date(), sequence: sequence)
            ]
        }
        return [
            Delivery(
                sink: sink.name, inventory: inventory, event: event.kind.rawValue, body: body, createdAt: Date(),
                sequence: sequence)
        ]
    }

    /// An email sink's one message per run: problems are collected until `run.finished`.
    private func emailDeliveries(for event: Event, to sink: ResolvedSink) -> [Delivery] {
        let formatter = EmailFormatter(
            inventoryFile: inventoryFile, sinkName: sink.name, from: sink.sink.from ?? "", to: sink.sink.to)
        let id = event.deliveryKey.map { Self.deliveryID(key: $0, sink: sink.name) } ?? UUID().uuidString.lowercased()
        let message: EmailMessage
        switch event.kind {
        case .targetFailed, .targetBlocked, .waveHalted:
            emailProblems[sink.name, default: []].append(event)
            return []
        case .runFinished:
            guard let summary = formatter.summary(event, problems: emailProblems[sink.name] ?? [], id: id) else {
                return []
            }
            emailProblems[sink.name] = nil
            message = summary
        case .test:
            message = formatter.test(event, id: id)
        case .runStarted, .targetSucceeded, .targetConverged, .waveAwaitingApproval, .stepProgress:
            return []
        }
        sequence += 1
        return [
            Delivery(
                id: id, sink: sink.name, inventory: inventory, event: event.kind.rawValue,
                body: message.data(event: event.kind.rawValue), createdAt: Date(),
                sequence: sequence)
        ]
    }

    /// PagerDuty's and Opsgenie's messages for `event`, as `IncidentPolicy` decides.
    private func incidentDeliveries(for event: Event, to sink: ResolvedSink, remember: Bool) -> [Delivery] {
        let tier = event.environment.flatMap { tiers[$0] }
        let actions = IncidentPolicy.actions(for: event, tier: tier, open: incidents.open(for: sink.name))
        guard !actions.isEmpty else { return [] }
        let text = IncidentText(inventoryFile: inventoryFile, sinkName: sink.name)
        var made: [Delivery] = []
        for action in actions {
            let body: Data
            var path: String?
            do {
                if sink.sink.kind == .pagerduty {
                    body = try PagerDutyMessage.make(action, for: event, text: text).body()
                } else {
                    let message = OpsgenieMessage.make(action, for: event, text: text, tier: tier)
                    body = try message.body()
                    path = message.path
                }
            } catch {
                logger.error("notify sink '\(sink.name)': cannot encode \(event.kind.rawValue): \(error)")
                continue
            }
            sequence += 1
            let step: String
            switch action {
            case .trigger(let key, _):
                step = "trigger"
                if remember {
                    incidents.opened(
                        key, sink: sink.name,
                        incident: OpenIncident(
                            target: event.target, environment: event.environment ?? "", openedAt: event.at,
                            runID: event.runID))
                }
            case .resolve(let key):
                step = "resolve"
                if remember { incidents.resolved(key, sink: sink.name) }
            }
            // A resolve is named `incident.resolve` in logs and the outbox, whatever event caused it.
            let eventName = step == "resolve" && event.kind != .test ? "incident.resolve" : event.kind.rawValue
            var delivery: Delivery
            if let key = event.deliveryKey {
                delivery = Delivery(
                    id: Self.deliveryID(key: "\(key)\u{0}\(step)", sink: sink.name), sink: sink.name,
                    inventory: inventory, event: eventName, body: body,
                    path: path, createdAt: Date(), sequence: sequence)
            } else {
                delivery = Delivery(
                    sink: sink.name, inventory: inventory, event: eventName, body: body, path: path, createdAt: Date(),
                    sequence: sequence)
            }
            delivery.headers[IncidentStep.header] = step
            made.append(delivery)
        }
        if remember {
            do {
                try incidents.save()
            } catch {
                logger.warning(
                    "notify sink '\(sink.name)': cannot save the open incidents in \(incidents.file?.path ?? "the state directory") (\(error)); a later run cannot resolve them automatically."
                )
            }
        }
        return made
    }

    /// A stable delivery id in UUID form from an event's delivery key and the sink's name.
    static func deliveryID(key: String, sink: String) -> String {
        let hex = Array(SHA256Hex.digest("\(key)\u{0}\(sink)").prefix(32))
        return [hex[0..<8], hex[8..<12], hex[12..<16], hex[16..<20], hex[20..<32]].map { String($0) }.joined(
            separator: "-")
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
package struct DeliverySummary: Sendable, Hashable {
    package var sinks: [SinkSummary]
    package var outboxDirectory: String
    package var flushTimeout: Duration
    /// Messages neither delivered nor written to the outbox (the outbox could not be written).
    package var lost: [String]

    package init(sinks: [SinkSummary], outboxDirectory: String, flushTimeout: Duration, lost: [String] = []) {
        self.sinks = sinks
        self.outboxDirectory = outboxDirectory
        self.flushTimeout = flushTimeout
        self.lost = lost
    }

    package var delivered: Int { sinks.reduce(0) { $0 + $1.delivered } }
    package var kept: Int { sinks.reduce(0) { $0 + $1.kept } }
    package var refused: Int { sinks.reduce(0) { $0 + $1.refused } }

    /// Sentences for the operator about messages that did not arrive; empty when all did.
    package var warnings: [String] {
        sinks.compactMap { sink in
            guard sink.kept > 0 else { return nil }
            return
                "notify sink '\(sink.name)': \(sink.kept) message\(sink.kept == 1 ? "" : "s") not delivered within \(DurationText.seconds(flushTimeout.seconds)); kept in \(outboxDirectory) and sent first by the next run."
        }
    }
}

/// One sink's answer to `tidemark notify test`. Thread-safe value.
package struct SinkTestResult: Sendable, Hashable {
    package var sink: String
    package var kind: String
    package var delivered: Bool
    /// The last HTTP status, if any answer came.
    package var status: Int?
    /// `delivered`, `refused with HTTP 404; not retried`, `connection refused (gave up after 4 attempts)`, …
    package var detail: String
    package var attempts: Int
    package var elapsed: Duration
    /// What the service answered (`202 Event processed`; for PagerDuty and Opsgenie each step:
    /// `trigger: 202 Event processed; resolve: 202 Event processed`); nil when nothing came back.
    package var answer: String?
}

/// The step an incident message takes, in a header the receiver may read and the test report names.
enum IncidentStep {
    static let header = "X-Tidemark-Incident"
}
