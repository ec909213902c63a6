import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkNotify

/// PagerDuty, Opsgenie and Teams against real HTTP receivers on 127.0.0.1 standing in for the
/// services (`events_url`, `api_url`, a literal Teams URL), across runs that share a state
/// directory, with the published schemas checking what was sent.
@Suite struct IncidentSinkTests {
    static let routingKey = "R0UT1NGKEY0123456789abcdef012345"
    static let apiKey = "0psg3n1e-ap1-key-0123-456789abcdef"
    let tiers: [String: Tier] = ["dev": .dev, "staging": .staging, "prod": .prod]

    func pagerDuty(_ receiver: HTTPTestReceiver, on: [String] = []) -> NotifySink {
        NotifySink(
            name: "pager", kind: .pagerduty, on: on, keyEnv: "PD_ROUTING_KEY",
            serviceURL: receiver.url(path: "/v2/enqueue"))
    }

    func opsgenie(_ receiver: HTTPTestReceiver) -> NotifySink {
        NotifySink(name: "genie", kind: .opsgenie, keyEnv: "OPSGENIE_KEY", serviceURL: receiver.url(path: "/"))
    }

    /// One run: a notifier over `state` (its outbox and incidents folders), the events posted, then finished.
    func run(
        _ sinks: [NotifySink], state: URL, events: [Event], environment: [String: String]? = nil,
        log: LogCapture = LogCapture(),
        flush: Duration = .seconds(60)
    ) async -> DeliverySummary {
        let notifier = Notifier(
            sinks: sinks, inventory: "demo", inventoryFile: "inventories/demo.yaml",
            outbox: state.appendingPathComponent("outbox"),
            environment: environment ?? ["PD_ROUTING_KEY": Self.routingKey, "OPSGENIE_KEY": Self.apiKey],
            logger: log.logger,
            options: DeliveryOptions(
                requestTimeout: .seconds(5), flushTimeout: flush, initialBackoff: .milliseconds(50)), tiers: tiers,
            incidents: state.appendingPathComponent("incidents"))
        await notifier.start()
        for event in events { notifier.post(event) }
        return await notifier.finish()
    }

    func ledger(_ state: URL) -> [String: [String: Any]]? {
        let file = state.appendingPathComponent("incidents/demo.json")
        guard let data = try? Data(contentsOf: file),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return nil }
        return object["open"] as? [String: [String: Any]]
    }

    @Test func failedProdTargetTriggersACriticalIncidentThatTheNextSuccessfulRunResolvesWithTheSameKey() async throws {
        let receiver = try HTTPTestReceiver(
            otherwise: .json(202, body: #"{"status":"success","message":"Event processed"}"#))
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }

        let first = await run(
            [pagerDuty(receiver)], state: state,
            events: [
                SampleEvents.target(.targetSucceeded, "shard-1", environment: "prod"),
                SampleEvents.target(
                    .targetFailed, "shard-2", environment: "prod",
                    error: "shard-2: forward step of version 4 failed: line 1: boom"),
                SampleEvents.finished([("prod", "succeeded"), ("prod", "failed")]),
            ])
        #expect(first.delivered == 1, "only the failure pages: \(first)")
        let trigger = try #require(receiver.requests.first?.jsonObject())
        #expect(receiver.requests.first?.path == "/v2/enqueue")
        #expect(trigger["routing_key"] as? String == Self.routingKey)
        #expect(trigger["event_action"] as? String == "trigger")
        #expect(trigger["dedup_key"] as? String == "tidemark/demo/shard-2")
        let payload = try #require(trigger["payload"] as? [String: Any])
        #expect(payload["severity"] as? String == "critical")
        #expect(payload["source"] as? String == "shard-2")
        #expect(
            (payload["summary"] as? String)?.hasPrefix(
                "demo: shard-2 (prod) failed: shard-2: forward step of version 4 failed") == true)
        let details = try #require(payload["custom_details"] as? [String: String])
        #expect(details["inspect"] == "tidemark history -i inventories/demo.yaml --target shard-2")
        #expect(ledger(state)?["pager"]?["tidemark/demo/shard-2"] != nil, "the open incident is remembered")

        // The next run brings shard-2 to its desired version: the same key is resolved, once.
        let second = await run(
            [pagerDuty(receiver)], state: state,
            events: [
                SampleEvents.target(.targetSucceeded, "shard-2", environment: "prod"),
                SampleEvents.target(.targetConverged, "shard-1", environment: "prod"),
                SampleEvents.finished([("prod", "succeeded"), ("prod", "unchanged")]),
            ])
        #expect(second.delivered == 1)
        let requests = receiver.requests
        try #require(requests.count == 2)
        let resolve = try #require(requests[1].jsonObject())
        #expect(resolve["event_action"] as? String == "resolve")
        #expect(resolve["dedup_key"] as? String == "tidemark/demo/shard-2")
        #expect(resolve["routing_key"] as? String == Self.routingKey)
        #expect(ledger(state) == nil, "nothing is open any more")
    }

    @Test func aTargetAlreadyConvergedResolvesTheIncidentAnEarlierRunOpened() async throws {
        let receiver = try HTTPTestReceiver(otherwise: .status(202))
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        _ = await run(
            [pagerDuty(receiver)], state: state,
            events: [SampleEvents.target(.targetBlocked, "stage-1", environment: "staging", reason: "v3 was edited")])
        // Someone repaired it by hand; this run finds it unchanged.
        _ = await run(
            [pagerDuty(receiver)], state: state,
            events: [SampleEvents.target(.targetConverged, "stage-1", environment: "staging")])
        let bodies = receiver.requests.compactMap { $0.jsonObject() }
        #expect(bodies.map { $0["event_action"] as? String } == ["trigger", "resolve"])
        #expect(bodies.map { $0["dedup_key"] as? String } == ["tidemark/demo/stage-1", "tidemark/demo/stage-1"])
        #expect(
            (bodies.first?["payload"] as? [String: Any])?["severity"] as? String == "error", "staging pages at error")
    }

    @Test func haltedWaveHasItsOwnKeyResolvedWhenALaterRunConvergesTheWave() async throws {
        let receiver = try HTTPTestReceiver(otherwise: .status(202))
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        let halted = Event(
            kind: .waveHalted, runID: SampleEvents.runID, inventory: "demo", environment: "dev",
            reason: "canary dev-1 of wave dev failed")
        _ = await run(
            [pagerDuty(receiver)], state: state,
            events: [halted, SampleEvents.finished([("dev", "failed"), ("dev", "skipped")])])
        // A run where dev still has a skipped target leaves the wave's incident open.
        _ = await run(
            [pagerDuty(receiver)], state: state,
            events: [SampleEvents.finished([("dev", "succeeded"), ("dev", "skipped")])])
        _ = await run(
            [pagerDuty(receiver)], state: state,
            events: [SampleEvents.finished([("dev", "succeeded"), ("dev", "unchanged")])])
        let bodies = receiver.requests.compactMap { $0.jsonObject() }
        #expect(bodies.map { $0["event_action"] as? String } == ["trigger", "resolve"])
        #expect(bodies.map { $0["dedup_key"] as? String } == ["tidemark/demo/wave/dev", "tidemark/demo/wave/dev"])
        #expect(
            (bodies.first?["payload"] as? [String: Any])?["severity"] as? String == "warning",
            "below staging pages at warning")
    }

    @Test func undeliveredTriggerIsKeptWithoutItsKeyAndResentWithTheSameDedupKeyBeforeTheResolve() async throws {
        let closed = try HTTPTestReceiver.ClosedPort()
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        let sink = NotifySink(
            name: "pager", kind: .pagerduty, keyEnv: "PD_ROUTING_KEY", serviceURL: closed.url(path: "/v2/enqueue"))
        let first = await run(
            [sink], state: state,
            events: [SampleEvents.target(.targetFailed, "shard-2", environment: "prod", error: "boom")],
            flush: .milliseconds(300))
        #expect(first.kept == 1)
        let files = outboxFiles(state.appendingPathComponent("outbox"))
        try #require(files.count == 1)
        let stored = try String(contentsOf: files[0], encoding: .utf8)
        #expect(!stored.contains(Self.routingKey), "the routing key is never written")
        #expect(stored.contains("tidemark/demo/shard-2"))

        // The receiver is back and the target is fixed: the stored trigger goes first, then the resolve.
        let receiver = try HTTPTestReceiver(reopening: closed, otherwise: .status(202))
        _ = await run(
            [sink], state: state, events: [SampleEvents.target(.targetSucceeded, "shard-2", environment: "prod")])
        let bodies = receiver.requests.compactMap { $0.jsonObject() }
        #expect(bodies.map { $0["event_action"] as? String } == ["trigger", "resolve"])
        #expect(bodies.map { $0["dedup_key"] as? String } == ["tidemark/demo/shard-2", "tidemark/demo/shard-2"])
        #expect(
            bodies.allSatisfy { $0["routing_key"] as? String == Self.routingKey }, "the key is added again at send time"
        )
        #expect(outboxFiles(state.appendingPathComponent("outbox")).isEmpty)
    }

    @Test func opsgenieCreatesByAliasWithItsKeyInTheHeaderAndClosesByAlias() async throws {
        let receiver = try HTTPTestReceiver(
            otherwise: .json(202, body: #"{"result":"Request will be processed","took":0.1,"requestId":"x"}"#))
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        _ = await run(
            [opsgenie(receiver)], state: state,
            events: [SampleEvents.target(.targetFailed, "shard-2", environment: "prod", error: "boom")])
        _ = await run(
            [opsgenie(receiver)], state: state,
            events: [SampleEvents.target(.targetSucceeded, "shard-2", environment: "prod")])
        let requests = receiver.requests
        try #require(requests.count == 2)
        #expect(requests[0].path == "/v2/alerts")
        #expect(requests[0].header("Authorization") == "GenieKey \(Self.apiKey)")
        let alert = try #require(requests[0].jsonObject())
        #expect(alert["alias"] as? String == "tidemark/demo/shard-2")
        #expect(alert["priority"] as? String == "P1")
        #expect((alert["message"] as? String).map { $0.count <= 130 } == true)
        #expect(alert["entity"] as? String == "shard-2")
        #expect(requests[1].path == "/v2/alerts/tidemark%2Fdemo%2Fshard-2/close?identifierType=alias")
        #expect(requests[1].header("Authorization") == "GenieKey \(Self.apiKey)")
        #expect(requests[1].jsonObject()?["source"] as? String == "tidemark")
        for file in outboxFiles(state.appendingPathComponent("outbox")) {
            #expect(try !String(contentsOf: file, encoding: .utf8).contains(Self.apiKey))
        }
    }

    @Test func incidentSinkWithoutItsKeyVariableStopsTheRunNamingTheSink() throws {
        let inventory = Inventory(
            name: "demo", file: "inventories/demo.yaml", planDirectory: "plan", environments: [],
            notify: [NotifySink(name: "pager", kind: .pagerduty, keyEnv: "PD_ROUTING_KEY")])
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(
            throws: NotifyError.missingKey(
                sink: "pager", kind: "pagerduty", field: "routing_key_env", variable: "PD_ROUTING_KEY")
        ) {
            _ = try RunNotifications.makeNotifier(
                for: inventory, environment: [:], outbox: folder, logger: LogCapture().logger)
        }
        let text = NotifyError.missingKey(
            sink: "pager", kind: "pagerduty", field: "routing_key_env", variable: "PD_ROUTING_KEY"
        ).description
        #expect(
            text
                == "notify sink 'pager' (pagerduty): environment variable PD_ROUTING_KEY (its routing_key_env) is not set, so it could page nobody; export it, or remove the sink."
        )
    }

    @Test func notifyTestTriggersThenResolvesAtInfoAndReportsWhatTheServiceAnswered() async throws {
        let receiver = try HTTPTestReceiver(
            otherwise: .json(
                202, body: #"{"status":"success","message":"Event processed","dedup_key":"tidemark/demo/notify-test"}"#)
        )
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        let notifier = Notifier(
            sinks: [pagerDuty(receiver)], inventory: "demo", inventoryFile: nil,
            outbox: state.appendingPathComponent("outbox"),
            environment: ["PD_ROUTING_KEY": Self.routingKey], logger: LogCapture().logger,
            options: DeliveryOptions(flushTimeout: .seconds(30)),
            tiers: tiers, incidents: state.appendingPathComponent("incidents"))
        let results = await notifier.sendTest(runID: "test-1")
        let result = try #require(results.first)
        #expect(result.delivered && result.attempts == 2)
        #expect(result.answer == "trigger: 202 Event processed; resolve: 202 Event processed")
        let bodies = receiver.requests.compactMap { $0.jsonObject() }
        #expect(bodies.map { $0["event_action"] as? String } == ["trigger", "resolve"])
        #expect((bodies.first?["payload"] as? [String: Any])?["severity"] as? String == "info")
        #expect(ledger(state) == nil, "a test leaves nothing open")
    }

    // MARK: - The published schemas

    static func fixture(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    }

    /// Saves each body to a file and runs the schema check on them all.
    func validate(_ kind: String, schema: String, bodies: [Data], in folder: URL) async throws -> ExternalTool.Result {
        var paths: [String] = []
        for (index, body) in bodies.enumerated() {
            let file = folder.appendingPathComponent("body-\(index).json")
            try body.write(to: file)
            paths.append(file.path)
        }
        return try await ExternalTool.run(
            "python3", [try Self.fixture("validate_payloads.py").path, kind, try Self.fixture(schema).path] + paths)
    }

    @Test func pagerDutyRequestsPassThePublishedEventsV2Schema() async throws {
        let receiver = try HTTPTestReceiver(otherwise: .status(202))
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        let halted = Event(
            kind: .waveHalted, runID: SampleEvents.runID, inventory: "demo", environment: "prod",
            reason: "canary failed")
        _ = await run(
            [pagerDuty(receiver)], state: state,
            events: [
                SampleEvents.target(.targetFailed, "shard-2", environment: "prod", error: "boom"),
                SampleEvents.target(.targetBlocked, "stage-1", environment: "staging", reason: "v3 was edited"), halted,
            ])
        _ = await run(
            [pagerDuty(receiver)], state: state,
            events: [SampleEvents.target(.targetSucceeded, "shard-2", environment: "prod")])
        let bodies = receiver.requests.map(\.body)
        #expect(bodies.count == 4)
        let result = try await validate(
            "pagerduty", schema: "pagerduty-events-v2.openapiv3.json", bodies: bodies, in: state)
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput == "valid 4\n")

        // The check can fail: a severity the API does not know, and a misspelt key.
        var wrong = try #require(receiver.requests.first?.jsonObject())
        var payload = try #require(wrong["payload"] as? [String: Any])
        payload["severity"] = "fatal"
        wrong["payload"] = payload
        wrong["dedupe_key"] = "x"
        let refused = try await validate(
            "pagerduty", schema: "pagerduty-events-v2.openapiv3.json",
            bodies: [try JSONSerialization.data(withJSONObject: wrong)], in: state)
        #expect(refused.status == 1, "\(refused)")
        #expect(
            refused.standardOutput.contains("payload/severity") && refused.standardOutput.contains("dedupe_key"),
            "\(refused)")
    }

    @Test func teamsCardsPassThePublishedAdaptiveCardSchema() async throws {
        let receiver = try HTTPTestReceiver(otherwise: .status(202))
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        let teams = NotifySink(name: "channel", kind: .teams, url: receiver.url(path: "/workflows/abc"))
        let halted = Event(
            kind: .waveHalted, runID: SampleEvents.runID, inventory: "demo", environment: "prod",
            reason: "canary failed")
        let summary = await run(
            [teams], state: state,
            events: [
                SampleEvents.started(["dev", "prod"]),
                SampleEvents.target(.targetSucceeded, "dev-1", environment: "dev"),
                SampleEvents.target(
                    .targetFailed, "shard-2", environment: "prod",
                    error: "shard-2: forward step of version 4 failed: line 1: boom"),
                SampleEvents.target(.targetBlocked, "shard-3", environment: "prod", reason: "v3 was edited"), halted,
                SampleEvents.finished([
                    ("dev", "succeeded"), ("prod", "failed"), ("prod", "blocked"), ("prod", "skipped"),
                ]),
            ])
        // As for Slack: started and succeeded are left out unless named in on:.
        #expect(summary.delivered == 4)
        let requests = receiver.requests
        let first = try #require(requests.first?.jsonObject())
        #expect(first["type"] as? String == "message")
        let attachment = try #require((first["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        #expect(attachment.keys.contains("contentUrl"))
        let card = try #require(attachment["content"] as? [String: Any])
        #expect(card["type"] as? String == "AdaptiveCard" && card["version"] as? String == "1.5")
        #expect(requests.last?.bodyText.contains("1 of 4 targets failed") == true)

        let result = try await validate(
            "adaptive-card", schema: "adaptive-card-1.5.schema.json", bodies: requests.map(\.body), in: state)
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput == "valid 4\n")
        // The check can fail: an element type the schema does not know.
        let broken = Data(requests[0].bodyText.replacingOccurrences(of: "\"TextBlock\"", with: "\"TextBlok\"").utf8)
        let refused = try await validate(
            "adaptive-card", schema: "adaptive-card-1.5.schema.json", bodies: [broken], in: state)
        #expect(refused.status == 1, "\(refused)")
    }
}
