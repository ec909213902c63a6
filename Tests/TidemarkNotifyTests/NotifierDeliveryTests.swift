import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkNotify

/// The notifier against a real HTTP receiver on 127.0.0.1: payloads, signatures, retries,
/// timeouts, the flush bound and the outbox.
@Suite struct NotifierDeliveryTests {
    let secret = "s3cret-for-tests-only"

    func webhook(
        _ name: String = "audit", secretEnv: String? = "HOOK_SECRET", on: [String] = [], environments: [String] = []
    ) -> NotifySink {
        NotifySink(
            name: name, kind: .webhook, urlEnv: "HOOK_URL", secretEnv: secretEnv, on: on, environments: environments)
    }

    func notifier(
        _ sinks: [NotifySink], environment: [String: String], outbox: URL, log: LogCapture = LogCapture(),
        options: DeliveryOptions = DeliveryOptions(
            requestTimeout: .seconds(5), flushTimeout: .seconds(120), initialBackoff: .milliseconds(100))
    ) -> Notifier {
        Notifier(
            sinks: sinks, inventory: "demo", inventoryFile: "inventories/demo.yaml", outbox: outbox,
            environment: environment, logger: log.logger,
            options: options)
    }

    @Test func webhookBodyFollowsTheSpecAndItsSignatureVerifies() async throws {
        let receiver = try HTTPTestReceiver()
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let notifier = notifier(
            [webhook()], environment: ["HOOK_URL": receiver.url(), "HOOK_SECRET": secret], outbox: folder)
        await notifier.start()
        notifier.post(
            SampleEvents.target(
                .targetFailed, "prod-eu-1", environment: "prod",
                error: "connect postgres://app:hunter2@db.internal/app failed"))
        let summary = await notifier.finish()

        #expect(summary.delivered == 1 && summary.kept == 0)
        let requests = receiver.requests
        try #require(requests.count == 1)
        let request = requests[0]
        #expect(request.method == "POST")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("X-Tidemark-Event") == "target.failed")
        let delivery = try #require(request.header("X-Tidemark-Delivery"))
        #expect(UUID(uuidString: delivery) != nil, "a unique id: \(delivery)")
        #expect(request.header("X-Tidemark-Signature") == "sha256=" + hmacHex(request.body, secret: secret))

        let body = try #require(request.jsonObject())
        for key in [
            "schema", "event", "run_id", "inventory", "environment", "target", "from", "to", "action", "error", "at",
        ] {
            #expect(body.keys.contains(key), "tidemark.event/v1 key \(key) present")
        }
        #expect(body["schema"] as? String == "tidemark.event/v1")
        #expect(body["event"] as? String == "target.failed")
        #expect(body["run_id"] as? String == SampleEvents.runID)
        #expect(body["inventory"] as? String == "demo")
        #expect(body["environment"] as? String == "prod")
        #expect(body["target"] as? String == "prod-eu-1")
        #expect(body["from"] as? String == "3")
        #expect(body["action"] as? String == "forward")
        let at = try #require(body["at"] as? String)
        #expect(
            (try? Date(at, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) != nil,
            "at is ISO 8601: \(at)")
        let error = try #require(body["error"] as? String)
        #expect(error.contains("postgres://app:***@db.internal/app"), "\(error)")
        #expect(!request.bodyText.contains("hunter2"))
        #expect(!request.bodyText.contains(secret))
        #expect(!request.bodyText.contains(receiver.url()))
    }

    @Test func serverErrorIsRetriedAndDeliveredOnce() async throws {
        let receiver = try HTTPTestReceiver(replies: [.status(500)])
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let notifier = notifier(
            [webhook()], environment: ["HOOK_URL": receiver.url(), "HOOK_SECRET": secret], outbox: folder)
        await notifier.start()
        notifier.post(SampleEvents.finished([("dev", "succeeded")]))
        let summary = await notifier.finish()

        let requests = receiver.requests
        try #require(requests.map(\.reply) == [.status(500), .status(200)])
        #expect(
            Set(requests.compactMap { $0.header("X-Tidemark-Delivery") }).count == 1, "a retry keeps its delivery id")
        #expect(requests[1].header("X-Tidemark-Signature") == "sha256=" + hmacHex(requests[1].body, secret: secret))
        #expect(summary.sinks.first?.delivered == 1)
        #expect(summary.sinks.first?.retries == 1)
        #expect(summary.kept == 0)
        #expect(outboxFiles(folder).isEmpty)
    }

    @Test func tooManyRequestsWaitsAsLongAsRetryAfterSays() async throws {
        let receiver = try HTTPTestReceiver(replies: [.status(429, headers: ["Retry-After": "1"])])
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let notifier = notifier(
            [webhook()], environment: ["HOOK_URL": receiver.url(), "HOOK_SECRET": secret], outbox: folder)
        await notifier.start()
        notifier.post(SampleEvents.started(["dev"]))
        let summary = await notifier.finish()

        let requests = receiver.requests
        try #require(requests.count == 2)
        // The backoff alone would retry after ≤ 0.1 s; Retry-After asked for 1 s.
        #expect(requests[1].receivedAt.timeIntervalSince(requests[0].receivedAt) >= 0.9)
        #expect(summary.delivered == 1)
    }

    @Test func clientErrorIsRefusedOnceAndLoggedByNameNotURL() async throws {
        let receiver = try HTTPTestReceiver(otherwise: .status(404))
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = LogCapture()
        let notifier = notifier(
            [webhook()], environment: ["HOOK_URL": receiver.url(), "HOOK_SECRET": secret], outbox: folder, log: log)
        await notifier.start()
        notifier.post(SampleEvents.started(["dev"]))
        let summary = await notifier.finish()

        #expect(receiver.requests.count == 1, "no retry on 404")
        #expect(summary.refused == 1 && summary.kept == 0)
        #expect(outboxFiles(folder).isEmpty, "a refused message is not kept")
        #expect(log.text.contains("notify sink 'audit' refused run.started with HTTP 404"), "\(log.text)")
        #expect(!log.text.contains(receiver.url()))
        #expect(!log.text.contains("127.0.0.1"))
    }

    /// A receiver that redirects must not get the event, its signature or anything else sent on
    /// to where it points: the 3xx is a failed delivery, kept in the outbox, and the log names
    /// only the redirect's origin (a Slack URL's path is its secret).
    @Test(arguments: [301, 302, 303, 307, 308])
    func redirectIsAFailedDeliveryThatIsNeverFollowed(status: Int) async throws {
        let elsewhere = try HTTPTestReceiver()
        defer { elsewhere.stop() }
        let location = elsewhere.url(path: "/services/T000/B000/secret-path")
        let receiver = try HTTPTestReceiver(otherwise: .status(status, headers: ["Location": location]))
        defer { receiver.stop() }
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = LogCapture()
        let options = DeliveryOptions(
            requestTimeout: .seconds(2), flushTimeout: .seconds(1), initialBackoff: .milliseconds(100))
        let notifier = notifier(
            [webhook()], environment: ["HOOK_URL": receiver.url(), "HOOK_SECRET": secret], outbox: folder, log: log,
            options: options)
        await notifier.start()
        notifier.post(SampleEvents.started(["dev"]))
        // The first attempt's outcome, however long a loaded machine takes to reach it; then the
        // flush bound ends the run with the event kept.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while !log.text.contains("redirect to"), clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let summary = await notifier.finish()

        #expect(elsewhere.requests.isEmpty, "the redirect was followed: \(elsewhere.requests.map(\.path))")
        #expect(receiver.requests.count >= 1)
        #expect(summary.delivered == 0 && summary.kept == 1, "\(summary)")
        #expect(outboxFiles(folder).count == 1, "a redirected event is kept for the next run")
        #expect(
            log.text.contains("HTTP \(status) redirect to http://127.0.0.1:\(elsewhere.port) (not followed)"),
            "\(log.text)")
        #expect(!log.text.contains("secret-path"), "the redirect's path is never printed: \(log.text)")
    }

    @Test func stalledReceiverNeitherDelaysPostNorOutlastsTheFlushBound() async throws {
        let receiver = try HTTPTestReceiver(otherwise: .stall)
        defer { receiver.stop() }
        let workspace = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let folder = workspace.appendingPathComponent(".tidemark/outbox")
        let log = LogCapture()
        let notifier = notifier(
            [webhook()], environment: ["HOOK_URL": receiver.url(), "HOOK_SECRET": secret], outbox: folder, log: log,
            options: DeliveryOptions(
                requestTimeout: .seconds(1), flushTimeout: .seconds(2), initialBackoff: .milliseconds(100)))
        await notifier.start()
        let clock = ContinuousClock()
        let posting = clock.now
        notifier.post(SampleEvents.started(["prod"]))
        for index in 1...200 {
            notifier.post(SampleEvents.target(.targetSucceeded, "shard-\(index)", environment: "prod"))
        }
        notifier.post(SampleEvents.finished([("prod", "succeeded")]))
        #expect(clock.now - posting < .seconds(30), "post never waits for the receiver")
        _ = await receiver.waitForRequests(1)

        let finishing = clock.now
        let summary = await notifier.finish()
        // Generous (shared, noisy machines): the receiver would stall forever.
        #expect(clock.now - finishing < .seconds(90), "finish is bounded by the 2 s flush")
        #expect(summary.kept == 202 && summary.delivered == 0)
        #expect(
            summary.warnings.first?.contains("notify sink 'audit': 202 messages not delivered within 2.00 s; kept in")
                == true, "\(summary.warnings)")
        // The request timeout ended the stalled request: the log says so, by sink name.
        #expect(
            log.text.contains("notify sink 'audit': run.started not delivered (no answer within 1.00 s)"), "\(log.text)"
        )

        let files = outboxFiles(folder)
        #expect(files.count == 202)
        for file in files.prefix(3) {
            #expect(permissions(file) == 0o600)
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(!text.contains(secret) && !text.contains(receiver.url()) && !text.contains("X-Tidemark-Signature"))
        }
        #expect(permissions(folder) == 0o700, "the outbox folder is private")
    }

    @Test func receiverThatTricklesIsCutOffAtTheRequestTimeout() async throws {
        // Measured: URLSession's own timeouts do not end a receiver that sends a byte a second.
        let receiver = try HTTPTestReceiver(replies: [.trickle(seconds: 300)])
        defer { receiver.stop() }
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = LogCapture()
        let notifier = notifier(
            [webhook()], environment: ["HOOK_URL": receiver.url(), "HOOK_SECRET": secret], outbox: folder, log: log,
            options: DeliveryOptions(
                requestTimeout: .seconds(1), flushTimeout: .seconds(200), initialBackoff: .milliseconds(100)))
        await notifier.start()
        notifier.post(SampleEvents.started(["dev"]))
        let summary = await notifier.finish()
        let requests = receiver.requests
        #expect(requests.map(\.reply) == [.trickle(seconds: 300), .status(200)])
        // Generous: other suites may hold the test process's threads for a while, but not for the trickle's 300 s.
        if requests.count == 2 {
            #expect(
                requests[1].receivedAt.timeIntervalSince(requests[0].receivedAt) < 120,
                "the retry came long before the trickle ended")
        }
        #expect(summary.delivered == 1 && summary.sinks.first?.retries == 1)
        #expect(log.text.contains("not delivered (no answer within 1.00 s)"), "\(log.text)")
    }

    @Test func deadReceiverKeepsEventsInTheOutboxAndTheNextRunSendsThemFirst() async throws {
        let port = try HTTPTestReceiver.ClosedPort()
        let url = port.url(path: "/hook")
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let options = DeliveryOptions(
            requestTimeout: .seconds(1), flushTimeout: .seconds(1), initialBackoff: .milliseconds(100))

        // Run 1: nothing listens, every event ends in the outbox (signed with the old secret: none stored).
        let first = notifier(
            [webhook()], environment: ["HOOK_URL": url, "HOOK_SECRET": "old-secret"], outbox: folder, options: options)
        await first.start()
        first.post(SampleEvents.started(["dev"]))
        first.post(SampleEvents.target(.targetFailed, "dev", environment: "dev", error: "boom"))
        first.post(SampleEvents.finished([("dev", "failed")]))
        let firstSummary = await first.finish()
        #expect(firstSummary.kept == 3)
        let files = outboxFiles(folder)
        #expect(files.count == 3)
        let keptIDs = try files.map { file -> String in
            let entry = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
            #expect(entry["sink"] as? String == "audit")
            return try #require(entry["delivery_id"] as? String)
        }

        // Run 2: the receiver is back on the same port, and the secret was rotated.
        let receiver = try HTTPTestReceiver(reopening: port)
        // A live receiver: the flush ends as soon as all four are delivered, so a generous bound
        // costs nothing and keeps a loaded machine from turning slowness into a failure.
        var liveOptions = options
        liveOptions.flushTimeout = .seconds(30)
        let second = notifier(
            [webhook()], environment: ["HOOK_URL": url, "HOOK_SECRET": secret], outbox: folder, options: liveOptions)
        await second.start()
        second.post(SampleEvents.started(["dev"]))
        let secondSummary = await second.finish()

        let requests = receiver.requests
        #expect(
            requests.compactMap { $0.header("X-Tidemark-Event") } == [
                "run.started", "target.failed", "run.finished", "run.started",
            ])
        #expect(
            Array(requests.prefix(3).compactMap { $0.header("X-Tidemark-Delivery") }) == keptIDs,
            "outbox first, ids unchanged")
        for request in requests {
            #expect(
                request.header("X-Tidemark-Signature") == "sha256=" + hmacHex(request.body, secret: secret),
                "re-signed at send time")
        }
        #expect(Set(requests.compactMap { $0.header("X-Tidemark-Delivery") }).count == 4, "nothing sent twice")
        #expect(secondSummary.delivered == 4 && secondSummary.kept == 0)
        #expect(outboxFiles(folder).isEmpty, "delivered entries are deleted")
    }

    @Test func sinksFollowTheirOnAndEnvironmentsLists() async throws {
        let receiver = try HTTPTestReceiver()
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sink = webhook(secretEnv: nil, on: ["failed", "run.finished"], environments: ["prod"])
        let notifier = notifier([sink], environment: ["HOOK_URL": receiver.url()], outbox: folder)
        await notifier.start()
        notifier.post(SampleEvents.started(["dev", "prod"]))
        notifier.post(SampleEvents.target(.targetFailed, "dev", environment: "dev", error: "x"))
        notifier.post(SampleEvents.target(.targetSucceeded, "prod-1", environment: "prod"))
        notifier.post(SampleEvents.target(.targetFailed, "prod-2", environment: "prod", error: "y"))
        notifier.post(SampleEvents.finished([("dev", "failed"), ("prod", "succeeded"), ("prod", "failed")]))
        notifier.post(SampleEvents.finished([("dev", "succeeded")]))
        _ = await notifier.finish()

        let requests = receiver.requests
        #expect(requests.compactMap { $0.header("X-Tidemark-Event") } == ["target.failed", "run.finished"])
        #expect(requests.first?.jsonObject()?["target"] as? String == "prod-2")
        #expect(requests.allSatisfy { $0.header("X-Tidemark-Signature") == nil }, "no secret_env, no signature")
        let finished = try #require(requests.last?.jsonObject())
        #expect(finished["counts"] as? [String: Int] == ["succeeded": 1, "failed": 1], "counts restricted to prod")
        #expect((finished["environments"] as? [String: Any])?.keys.sorted() == ["prod"])
    }

    @Test func unusableSinksAreNamedWithTheirVariableNeverAValue() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = LogCapture()
        let sinks = [
            NotifySink(name: "oncall", kind: .slack, urlEnv: "ONCALL_WEBHOOK_URL"),
            NotifySink(name: "audit", kind: .webhook, urlEnv: "HOOK_URL", secretEnv: "HOOK_SECRET"),
            NotifySink(name: "local", kind: .webhook, url: "ftp://127.0.0.1/x"),
        ]
        let notifier = notifier(
            sinks, environment: ["HOOK_URL": "http://127.0.0.1:9/very-secret-path"], outbox: folder, log: log)
        await notifier.start()
        notifier.post(SampleEvents.started(["dev"]))
        let summary = await notifier.finish()
        let problems = summary.sinks.map { $0.problem ?? "" }
        #expect(
            problems[0].contains(
                "notify sink 'oncall': environment variable ONCALL_WEBHOOK_URL (its url_env) is not set"))
        #expect(
            problems[1].contains("notify sink 'audit': environment variable HOOK_SECRET (its secret_env) is not set"))
        #expect(
            problems[2].contains("notify sink 'local': the URL in its url is not an absolute http:// or https:// URL"))
        #expect(!log.text.contains("very-secret-path") && !log.text.contains("ftp://"))
        #expect(outboxFiles(folder).isEmpty, "nothing is kept for a sink that cannot be used")
    }

    @Test func notifyTestReportsEverySinkWhateverItsOnList() async throws {
        let up = try HTTPTestReceiver()
        let refusing = try HTTPTestReceiver(otherwise: .status(403))
        let down = try HTTPTestReceiver.ClosedPort()
        defer { withExtendedLifetime(down) {} }
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sinks = [
            NotifySink(name: "oncall", kind: .slack, urlEnv: "SLACK_URL", on: ["failed"]),
            NotifySink(name: "audit", kind: .webhook, urlEnv: "HOOK_URL", secretEnv: "HOOK_SECRET"),
            NotifySink(name: "dead", kind: .webhook, url: down.url(path: "/hook")),
        ]
        let notifier = notifier(
            sinks,
            environment: ["SLACK_URL": up.url(path: "/slack"), "HOOK_URL": refusing.url(), "HOOK_SECRET": secret],
            outbox: folder,
            options: DeliveryOptions(
                requestTimeout: .seconds(5), flushTimeout: .seconds(5), initialBackoff: .milliseconds(100)))
        let results = await notifier.sendTest(runID: "test-1")
        #expect(results.map(\.sink) == ["oncall", "audit", "dead"])
        #expect(results[0].delivered && results[0].status == 200)
        #expect(!results[1].delivered && results[1].status == 403 && results[1].attempts == 1)
        #expect(!results[2].delivered && results[2].detail.hasPrefix("connection refused"), "\(results[2].detail)")
        #expect(up.requests.first?.jsonObject()?["text"] as? String == "Tidemark test notification for inventory demo")
        #expect(refusing.requests.first?.header("X-Tidemark-Event") == "notify.test")
        #expect(outboxFiles(folder).isEmpty, "a test is never kept")
    }

    @Test func backoffGrowsIsCappedAndJittered() {
        let options = DeliveryOptions(
            initialBackoff: .milliseconds(500), maximumBackoff: .seconds(8), maximumRetryAfter: .seconds(30))
        for retry in 1...12 {
            let ceiling = min(Duration.milliseconds(500) * (1 << min(retry - 1, 20)), .seconds(8))
            let delays = (0..<50).map { _ in options.backoff(retry: retry, retryAfter: nil) }
            #expect(delays.allSatisfy { $0 >= ceiling / 2 && $0 <= ceiling }, "retry \(retry)")
        }
        #expect(Set((0..<50).map { _ in options.backoff(retry: 5, retryAfter: nil) }).count > 1, "jittered")
        #expect(options.backoff(retry: 1, retryAfter: .seconds(3)) == .seconds(3))
        #expect(options.backoff(retry: 1, retryAfter: .seconds(3600)) == .seconds(30), "Retry-After is capped")
    }

    @Test func timeoutsComeFromTheEnvironment() throws {
        let options = try DeliveryOptions(environment: [
            "TIDEMARK_NOTIFY_FLUSH_TIMEOUT": "2s", "TIDEMARK_NOTIFY_REQUEST_TIMEOUT": "500ms",
        ])
        #expect(options.flushTimeout == .seconds(2) && options.requestTimeout == .milliseconds(500))
        #expect(
            try DeliveryOptions(environment: ["TIDEMARK_NOTIFY_FLUSH_TIMEOUT": "1m30s"]).flushTimeout == .seconds(90))
        // The inventory's grammar: a bare number has no unit and is refused.
        #expect(throws: NotifyError.badDuration(variable: "TIDEMARK_NOTIFY_FLUSH_TIMEOUT", value: "2")) {
            try DeliveryOptions(environment: ["TIDEMARK_NOTIFY_FLUSH_TIMEOUT": "2"])
        }
        #expect(throws: NotifyError.badDuration(variable: "TIDEMARK_NOTIFY_FLUSH_TIMEOUT", value: "soon")) {
            try DeliveryOptions(environment: ["TIDEMARK_NOTIFY_FLUSH_TIMEOUT": "soon"])
        }
    }
}
