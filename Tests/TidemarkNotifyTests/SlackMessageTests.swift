import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkNotify

/// What a Slack channel sees: one summary per run, one message per failed or blocked target
/// (up to a limit), nothing for a run where nothing changed.
@Suite struct SlackMessageTests {
    let formatter = SlackFormatter(inventoryFile: "inventories/demo.yaml", sinkName: "oncall")

    func run(_ events: [Event], limit: Int = 20) async throws -> [HTTPTestReceiver.Request] {
        let receiver = try HTTPTestReceiver()
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let notifier = Notifier(
            sinks: [NotifySink(name: "oncall", kind: .slack, urlEnv: "SLACK_URL")], inventory: "demo",
            inventoryFile: "inventories/demo.yaml",
            outbox: folder, environment: ["SLACK_URL": receiver.url(path: "/services/T0/B0/xyz")],
            logger: LogCapture().logger,
            // A live receiver: finish() ends at delivery, so a generous flush bound costs nothing and a loaded machine cannot fail it.
            options: DeliveryOptions(
                requestTimeout: .seconds(10), flushTimeout: .seconds(120), initialBackoff: .milliseconds(50),
                slackTargetMessageLimit: limit))
        await notifier.start()
        for event in events { notifier.post(event) }
        let summary = await notifier.finish()
        #expect(summary.kept == 0)
        return receiver.requests
    }

    @Test func hundredSucceededTargetsMakeOneSummary() async throws {
        var events = [SampleEvents.started(["prod"])]
        events += (1...100).map { SampleEvents.target(.targetSucceeded, "shard-\($0)", environment: "prod") }
        events.append(SampleEvents.finished(Array(repeating: ("prod", "succeeded"), count: 100)))
        let requests = try await run(events)
        #expect(requests.count == 1)
        let message = try #require(requests.first?.jsonObject())
        #expect(
            message["text"] as? String
                == "Tidemark demo: run \(SampleEvents.runID) finished: 100 succeeded (100 targets)")
        let blocks = try #require(message["blocks"] as? [[String: Any]])
        #expect(blocks.map { $0["type"] as? String } == ["header", "section", "section", "context"])
        #expect(
            (blocks[0]["text"] as? [String: Any])?["text"] as? String
                == ":white_check_mark: demo: 100 targets at version 4")
        #expect(((blocks[1]["fields"] as? [[String: Any]])?.first)?["text"] as? String == "*Succeeded*\n100")
        #expect((blocks[2]["text"] as? [String: Any])?["text"] as? String == "*By environment*\n`prod` 100 succeeded")
    }

    @Test func eachFailedOrBlockedTargetHasAMessageWithTheCommandToInspectIt() async throws {
        let events = [
            SampleEvents.target(
                .targetFailed, "prod-eu-1", environment: "prod", error: "V4__drop.sql:3: no such column: total_cents"),
            SampleEvents.target(
                .targetBlocked, "tenant-42", environment: "prod", action: .blocked,
                reason: "version 4 has no compensating migration"),
            SampleEvents.target(.targetSucceeded, "dev", environment: "dev"),
            SampleEvents.finished([("prod", "failed"), ("prod", "blocked"), ("dev", "succeeded")]),
        ]
        let requests = try await run(events)
        try #require(requests.count == 3, "failed, blocked, summary; success has no message of its own")
        let failed = requests[0].bodyText
        #expect(failed.contains(":x: *prod-eu-1* (prod) *failed* during *forward*; at version 3"), "\(failed)")
        #expect(failed.contains("```V4__drop.sql:3: no such column: total_cents```"))
        #expect(failed.contains("Inspect: `tidemark history -i inventories/demo.yaml --target prod-eu-1`"))
        let blocked = requests[1].bodyText
        #expect(blocked.contains(":no_entry: *tenant-42* (prod) is *blocked* at version 3"), "\(blocked)")
        #expect(blocked.contains("> version 4 has no compensating migration"))
        #expect(blocked.contains("`tidemark plan -i inventories/demo.yaml --target tenant-42`"))
        let summary = try #require(requests[2].jsonObject())
        #expect(
            summary["text"] as? String
                == "Tidemark demo: run \(SampleEvents.runID) finished: 1 failed, 1 blocked, 1 succeeded (3 targets)")
        #expect(requests[2].bodyText.contains(":x: demo: 1 of 3 targets failed"))
        #expect(
            !requests.contains { $0.bodyText.contains("/services/T0/B0/xyz") }, "the webhook URL is never in a message")
    }

    @Test func perTargetMessagesStopAtTheLimitAndTheSummaryCountsTheRest() async throws {
        var events = (1...25).map {
            SampleEvents.target(
                .targetBlocked, "shard-\($0)", environment: "prod", action: .blocked, reason: "same reason")
        }
        events.append(SampleEvents.finished(Array(repeating: ("prod", "blocked"), count: 25)))
        let requests = try await run(events, limit: 20)
        try #require(requests.count == 21)
        #expect(requests[20].bodyText.contains("5 more target messages were left out"), "\(requests[20].bodyText)")
    }

    @Test func runWhereNothingChangedSaysNothing() {
        let unchanged = SampleEvents.finished([("dev", "unchanged"), ("prod", "unchanged")])
        #expect(formatter.message(for: unchanged) == nil)
    }

    @Test func mrkdwnControlCharactersInErrorsAreEscaped() throws {
        let event = SampleEvents.target(.targetFailed, "dev", environment: "dev", error: "<!channel> a < b && c > d")
        let message = try #require(formatter.message(for: event))
        let text = String(decoding: try message.body(), as: UTF8.self)
        #expect(text.contains("&lt;!channel&gt; a &lt; b &amp;&amp; c &gt; d"), "\(text)")
        #expect(!text.contains("<!channel>"))
    }

    @Test func errorsLoseEveryPasswordWhenTheEventIsMade() {
        let event = Event(
            kind: .targetFailed, runID: "r", inventory: "demo",
            error: "tried postgres://app:pw1@a/db then postgres://app:pw2@b/db; conninfo host=c password=pw3 user=app")
        #expect(
            event.error
                == "tried postgres://app:***@a/db then postgres://app:***@b/db; conninfo host=c password=*** user=app")
    }
}
