import Foundation
import Testing
import TidemarkTestSupport

/// `tidemark apply` and `tidemark notify test` as a user runs them: the real binary, SQLite
/// targets in a temporary folder, receivers on 127.0.0.1 reached through `url_env`.
@Suite struct NotifyEndToEndTests {
    static let secret = "e2e-hook-secret-7f3a"

    /// A workspace: `plans/app` (two versions, or a broken first one), `inventories/fleet.yaml`
    /// with `dev` (halts the run on a failure) then `prod` targets, and the given sinks.
    struct Workspace {
        let root: URL
        var inventory: String { "inventories/fleet.yaml" }
        var outbox: URL { root.appendingPathComponent(".tidemark/outbox") }

        init(prodTargets: Int = 3, brokenPlan: Bool = false, notify: String) throws {
            root = try CommandRunner.temporaryDirectory("tidemark-notify-e2e")
            let fileManager = FileManager.default
            let plan = root.appendingPathComponent("plans/app")
            try fileManager.createDirectory(at: plan, withIntermediateDirectories: true)
            try fileManager.createDirectory(
                at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
            try fileManager.createDirectory(at: root.appendingPathComponent("dbs"), withIntermediateDirectories: true)
            let first =
                brokenPlan ? "CREATE TABLE (;" : "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
            try first.write(
                to: plan.appendingPathComponent("V1__create_accounts.sql"), atomically: true, encoding: .utf8)
            try "DROP TABLE accounts;".write(
                to: plan.appendingPathComponent("U1__create_accounts.sql"), atomically: true, encoding: .utf8)
            try "ALTER TABLE accounts ADD COLUMN email TEXT;".write(
                to: plan.appendingPathComponent("V2__add_email.sql"), atomically: true, encoding: .utf8)
            try "ALTER TABLE accounts DROP COLUMN email;".write(
                to: plan.appendingPathComponent("U2__add_email.sql"), atomically: true, encoding: .utf8)
            let width = String(prodTargets).count
            let last = String(prodTargets)
            let firstIndex = String(repeating: "0", count: width - 1) + "1"
            try """
            inventory: fleet
            plan: ../plans/app
            concurrency: 4
            order: [dev, prod]
            environments:
              dev:
                tier: dev
                max_failures: 0
                targets:
                  - { name: dev, url: "sqlite:../dbs/dev.db" }
              prod:
                tier: prod
                targets:
                  - { name: "prod-{\(firstIndex)..\(last)}", url: "sqlite:../dbs/prod-{\(firstIndex)..\(last)}.db" }
            notify:
            \(notify)
            """.write(to: root.appendingPathComponent(inventory), atomically: true, encoding: .utf8)
        }

        func run(_ arguments: [String], environment: [String: String]) async throws -> CommandRunner.Result {
            try await runTidemark(arguments, in: root, environment: environment).result
        }

        /// The result, and how long the process ran.
        func timedRun(_ arguments: [String], environment: [String: String]) async throws -> (
            result: CommandRunner.Result, elapsed: Duration
        ) {
            try await runTidemark(arguments, in: root, environment: environment)
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    static let sinks = """
          - { name: audit, type: webhook, url_env: TM_TEST_HOOK_URL, secret_env: TM_TEST_HOOK_SECRET }
          - { name: oncall, type: slack, url_env: TM_TEST_SLACK_URL }
        """

    /// Nothing a run prints or writes may hold a sink URL or the secret.
    func expectNoSecrets(_ result: CommandRunner.Result, in workspace: Workspace, urls: [String]) throws {
        var texts = [result.standardOutput, result.standardError]
        let runs = workspace.root.appendingPathComponent(".tidemark/runs")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? [] {
            texts.append(try String(contentsOf: runs.appendingPathComponent(name), encoding: .utf8))
        }
        for file in outboxFiles(workspace.outbox) { texts.append(try String(contentsOf: file, encoding: .utf8)) }
        for text in texts {
            #expect(!text.contains(Self.secret), "the secret leaked")
            for url in urls { #expect(!text.contains(url), "a sink URL leaked: \(text.prefix(400))") }
            #expect(!text.contains("127.0.0.1:"), "a receiver address leaked: \(text.prefix(400))")
        }
    }

    @Test func applyDeliversSignedEventsRetriesA500AndSendsOneSlackSummary() async throws {
        let hook = try HTTPTestReceiver(replies: [.status(500)])
        let slack = try HTTPTestReceiver()
        let workspace = try Workspace(notify: Self.sinks)
        defer { workspace.remove() }
        let environment = [
            "TM_TEST_HOOK_URL": hook.url(), "TM_TEST_HOOK_SECRET": Self.secret,
            "TM_TEST_SLACK_URL": slack.url(path: "/slack"),
        ]

        let result = try await workspace.run(["apply", "-i", workspace.inventory, "--yes"], environment: environment)
        #expect(result.status == 0, "\(result)")

        let requests = hook.requests
        #expect(requests.first?.reply == .status(500))
        let delivered = requests.filter { $0.reply == .status(200) }
        let events = delivered.compactMap { $0.header("X-Tidemark-Event") }
        #expect(events.first == "run.started" && events.last == "run.finished", "\(events)")
        #expect(events.filter { $0 == "target.succeeded" }.count == 4, "\(events)")
        #expect(events.count == 6, "each event delivered once: \(events)")
        try #require(requests.count >= 2, "\(requests.count) requests")
        #expect(
            requests[0].header("X-Tidemark-Delivery") == requests[1].header("X-Tidemark-Delivery"),
            "the retry of the 500 keeps its id")
        #expect(Set(delivered.compactMap { $0.header("X-Tidemark-Delivery") }).count == 6)
        for request in requests {
            #expect(request.header("X-Tidemark-Signature") == "sha256=" + hmacHex(request.body, secret: Self.secret))
        }
        let succeeded = try #require(
            delivered.first { $0.header("X-Tidemark-Event") == "target.succeeded" }?.jsonObject())
        #expect(succeeded["schema"] as? String == "tidemark.event/v1")
        #expect(succeeded["inventory"] as? String == "fleet")
        #expect(succeeded["to"] as? String == "2")
        let finished = try #require(delivered.last?.jsonObject())
        #expect(finished["counts"] as? [String: Int] == ["succeeded": 4])
        #expect(
            finished["environments"] as? [String: [String: Int]] == ["dev": ["succeeded": 1], "prod": ["succeeded": 3]])

        let messages = slack.requests
        #expect(messages.count == 1, "one summary for a run where everything succeeded: \(messages.map(\.bodyText))")
        let summary = try #require(messages.first?.jsonObject())
        #expect((summary["text"] as? String)?.contains("4 succeeded") == true, "\(summary)")
        #expect((summary["blocks"] as? [Any])?.isEmpty == false)

        #expect(outboxFiles(workspace.outbox).isEmpty)
        try expectNoSecrets(result, in: workspace, urls: [hook.url(), slack.url(path: "/slack")])
    }

    @Test func receiverDownLeavesTheExitCodeAloneAndTheNextRunSendsTheOutboxFirst() async throws {
        let hookPort = try HTTPTestReceiver.ClosedPort()
        let slackPort = try HTTPTestReceiver.ClosedPort()
        let hookURL = hookPort.url(path: "/hook")
        let slackURL = slackPort.url(path: "/slack")
        let workspace = try Workspace(brokenPlan: true, notify: Self.sinks)
        defer { workspace.remove() }
        let environment = [
            "TM_TEST_HOOK_URL": hookURL, "TM_TEST_HOOK_SECRET": Self.secret, "TM_TEST_SLACK_URL": slackURL,
            "TIDEMARK_NOTIFY_FLUSH_TIMEOUT": "1s",
        ]

        // Run 1: dev fails, the dev wave halts, prod is skipped; nobody is listening.
        let first = try await workspace.run(["apply", "-i", workspace.inventory, "--yes"], environment: environment)
        #expect(first.status == 1, "exit by the run's own outcome: \(first)")
        #expect(
            first.standardError.contains("notify sink 'audit': 4 messages not delivered within 1.00 s; kept in"),
            "\(first)")
        #expect(first.standardError.contains("notify sink 'oncall': 3 messages not delivered"), "\(first)")
        try expectNoSecrets(first, in: workspace, urls: [hookURL, slackURL])
        let kept = try outboxFiles(workspace.outbox).map { file -> (sink: String, id: String, event: String) in
            #expect(permissions(file) == 0o600)
            let entry = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
            return (
                try #require(entry["sink"] as? String), try #require(entry["delivery_id"] as? String),
                try #require(entry["event"] as? String)
            )
        }
        #expect(
            kept.filter { $0.sink == "audit" }.map(\.event) == [
                "run.started", "target.failed", "wave.halted", "run.finished",
            ])
        #expect(kept.filter { $0.sink == "oncall" }.map(\.event) == ["target.failed", "wave.halted", "run.finished"])

        // Run 2: the receivers are up again on the same ports.
        let hook = try HTTPTestReceiver(reopening: hookPort)
        let slack = try HTTPTestReceiver(reopening: slackPort)
        // Live receivers: the flush ends once all is delivered, so a generous bound costs nothing
        // and keeps a loaded machine from turning slowness into a failure.
        var liveEnvironment = environment
        liveEnvironment["TIDEMARK_NOTIFY_FLUSH_TIMEOUT"] = "30s"
        let second = try await workspace.run(
            ["apply", "-i", workspace.inventory, "--yes"], environment: liveEnvironment)
        #expect(second.status == 1, "\(second)")

        let hookRequests = hook.requests
        let ids = hookRequests.compactMap { $0.header("X-Tidemark-Delivery") }
        #expect(
            Array(ids.prefix(4)) == kept.filter { $0.sink == "audit" }.map(\.id),
            "the outbox goes first, with its delivery ids")
        #expect(hookRequests.compactMap { $0.header("X-Tidemark-Event") }.count == 8, "4 kept + 4 new")
        #expect(Set(ids).count == ids.count, "nothing delivered twice")
        for request in hookRequests {
            #expect(request.header("X-Tidemark-Signature") == "sha256=" + hmacHex(request.body, secret: Self.secret))
        }
        let failed = try #require(hookRequests[1].jsonObject())
        #expect(failed["event"] as? String == "target.failed" && failed["target"] as? String == "dev")
        #expect((failed["error"] as? String)?.isEmpty == false)
        let halted = try #require(hookRequests[2].jsonObject())
        #expect(halted["event"] as? String == "wave.halted" && halted["environment"] as? String == "dev")

        let slackIDs = slack.requests.compactMap { $0.header("X-Tidemark-Delivery") }
        #expect(Array(slackIDs.prefix(3)) == kept.filter { $0.sink == "oncall" }.map(\.id))
        let failure = try #require(slack.requests.first?.jsonObject())
        #expect((failure["text"] as? String)?.contains("dev (dev) failed") == true, "\(failure)")
        #expect(
            slack.requests.first?.bodyText.contains("tidemark history -i inventories/fleet.yaml --target dev") == true)
        #expect(outboxFiles(workspace.outbox).isEmpty)
    }

    @Test func receiverThatNeverAnswersCannotHoldTheRunPastTheFlushBound() async throws {
        let hook = try HTTPTestReceiver(otherwise: .stall)
        defer { hook.stop() }
        let workspace = try Workspace(notify: Self.sinks)
        defer { workspace.remove() }
        // The request timeout stays at its 5 s default: the 2 s flush alone must bound the run.
        let environment = [
            "TM_TEST_HOOK_URL": hook.url(), "TM_TEST_HOOK_SECRET": Self.secret,
            "TM_TEST_SLACK_URL": hook.url(path: "/slack"),
            "TIDEMARK_NOTIFY_FLUSH_TIMEOUT": "2s",
        ]
        let (result, elapsed) = try await workspace.timedRun(
            ["apply", "-i", workspace.inventory, "--yes"], environment: environment)
        #expect(result.status == 0, "\(result)")
        // Generous for a loaded machine; without the flush bound the run would never end, as the receiver never answers.
        #expect(elapsed < .seconds(30), "the run ended within the flush bound (took \(elapsed))")
        #expect(!hook.requests.isEmpty, "the receiver was reached and stalled")
        #expect(outboxFiles(workspace.outbox).count == 7, "6 webhook events and 1 Slack summary kept")
        try expectNoSecrets(result, in: workspace, urls: [hook.url(), hook.url(path: "/slack")])
    }

    @Test func hundredSuccessfulTargetsMakeOneSlackMessage() async throws {
        let slack = try HTTPTestReceiver()
        let workspace = try Workspace(
            prodTargets: 100, notify: "  - { name: oncall, type: slack, url_env: TM_TEST_SLACK_URL }")
        defer { workspace.remove() }
        let result = try await workspace.run(
            ["apply", "-i", workspace.inventory, "--yes"], environment: ["TM_TEST_SLACK_URL": slack.url(path: "/slack")]
        )
        #expect(result.status == 0, "\(result)")
        #expect(slack.requests.count == 1, "\(slack.requests.map(\.bodyText))")
        let text = try #require(slack.requests.first?.jsonObject()?["text"] as? String)
        #expect(text.contains("101 succeeded"), "\(text)")
    }

    @Test func notifyTestReportsEachSinkAndExits1WhenOneFails() async throws {
        let slack = try HTTPTestReceiver()
        let hook = try HTTPTestReceiver(otherwise: .status(403))
        let workspace = try Workspace(notify: Self.sinks)
        defer { workspace.remove() }
        let environment = [
            "TM_TEST_HOOK_URL": hook.url(), "TM_TEST_HOOK_SECRET": Self.secret,
            "TM_TEST_SLACK_URL": slack.url(path: "/slack"),
        ]

        let result = try await workspace.run(["notify", "test", "-i", workspace.inventory], environment: environment)
        #expect(result.status == 1, "\(result)")
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(
            lines.contains {
                $0.hasPrefix("audit ") && $0.contains("webhook") && $0.contains("failed") && $0.contains("403")
            }, "\(result)")
        #expect(
            lines.contains {
                $0.hasPrefix("oncall ") && $0.contains("slack") && $0.contains("delivered") && $0.contains("200")
            }, "\(result)")
        #expect(result.standardOutput.contains("1 of 2 sinks did not get the test event."))
        #expect(
            hook.requests.first?.header("X-Tidemark-Signature") == "sha256="
                + hmacHex(hook.requests.first?.body ?? Data(), secret: Self.secret))
        try expectNoSecrets(result, in: workspace, urls: [hook.url(), slack.url(path: "/slack")])

        hook.script([], otherwise: .status(204))
        let again = try await workspace.run(["notify", "test", "-i", workspace.inventory], environment: environment)
        #expect(again.status == 0, "\(again)")
        #expect(again.standardOutput.contains("every sink got the test event."))
        #expect(outboxFiles(workspace.outbox).isEmpty, "a test is never kept")
    }

    @Test func badFlushTimeoutIsAUsageErrorBeforeAnythingRuns() async throws {
        let workspace = try Workspace(notify: Self.sinks)
        defer { workspace.remove() }
        let result = try await workspace.run(
            ["apply", "-i", workspace.inventory, "--yes"],
            environment: [
                "TM_TEST_HOOK_URL": "http://127.0.0.1:9/x", "TM_TEST_HOOK_SECRET": "x",
                "TIDEMARK_NOTIFY_FLUSH_TIMEOUT": "soon",
            ])
        #expect(result.status == 2, "\(result)")
        #expect(result.standardError.contains("TIDEMARK_NOTIFY_FLUSH_TIMEOUT=soon is not a duration"), "\(result)")
        #expect(
            !FileManager.default.fileExists(atPath: workspace.root.appendingPathComponent(".tidemark/runs").path),
            "nothing ran")
    }
}
