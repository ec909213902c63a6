import Foundation
import Testing
import TidemarkTestSupport

/// `tidemark apply` and `tidemark notify test` with a PagerDuty sink, as a user runs them: the
/// real binary, SQLite targets, a stand-in for PagerDuty on 127.0.0.1 through `events_url`.
@Suite struct IncidentEndToEndTests {
    static let routingKey = "e2e0routing0key0000000000000001"

    static func sink(_ receiver: HTTPTestReceiver) -> String {
        "  - { name: pager, type: pagerduty, routing_key_env: TM_TEST_PD_KEY, events_url: \"\(receiver.url(path: "/v2/enqueue"))\" }"
    }

    @Test func failingRunPagesAndTheRunThatFixesTheTargetResolvesTheSameIncidents() async throws {
        let pagerDuty = try HTTPTestReceiver(
            otherwise: .json(202, body: #"{"status":"success","message":"Event processed"}"#))
        let workspace = try NotifyEndToEndTests.Workspace(brokenPlan: true, notify: Self.sink(pagerDuty))
        defer { workspace.remove() }
        let environment = ["TM_TEST_PD_KEY": Self.routingKey]

        let failed = try await workspace.run(["apply", "-i", workspace.inventory, "--yes"], environment: environment)
        #expect(failed.status == 1, "\(failed)")
        let triggers = pagerDuty.requests.compactMap { $0.jsonObject() }
        #expect(triggers.map { $0["event_action"] as? String } == ["trigger", "trigger"], "\(triggers)")
        #expect(
            Set(triggers.compactMap { $0["dedup_key"] as? String }) == [
                "tidemark/fleet/dev", "tidemark/fleet/wave/dev",
            ])
        #expect(
            triggers.allSatisfy { ($0["payload"] as? [String: Any])?["severity"] as? String == "warning" },
            "a dev target pages at warning")
        #expect(triggers.allSatisfy { $0["routing_key"] as? String == Self.routingKey })
        let incidents = workspace.root.appendingPathComponent(".tidemark/incidents/fleet.json")
        #expect(FileManager.default.fileExists(atPath: incidents.path))
        #expect(permissions(incidents) == 0o600)
        #expect(try !String(contentsOf: incidents, encoding: .utf8).contains(Self.routingKey))

        // The script is fixed; the next run brings dev (and prod) to version 2.
        try "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);".write(
            to: workspace.root.appendingPathComponent("plans/app/V1__create_accounts.sql"), atomically: true,
            encoding: .utf8)
        let fixed = try await workspace.run(["apply", "-i", workspace.inventory, "--yes"], environment: environment)
        #expect(fixed.status == 0, "\(fixed)")
        let resolves = pagerDuty.requests.dropFirst(2).compactMap { $0.jsonObject() }
        #expect(resolves.map { $0["event_action"] as? String } == ["resolve", "resolve"], "\(resolves)")
        #expect(
            resolves.compactMap { $0["dedup_key"] as? String } == ["tidemark/fleet/dev", "tidemark/fleet/wave/dev"])
        #expect(!FileManager.default.fileExists(atPath: incidents.path), "nothing is open any more")
        for text in [failed.standardOutput, failed.standardError, fixed.standardOutput, fixed.standardError] {
            #expect(!text.contains(Self.routingKey))
        }
    }

    @Test func pagerDutySinkWithoutItsRoutingKeyIsAUsageErrorBeforeAnythingRuns() async throws {
        let pagerDuty = try HTTPTestReceiver(otherwise: .status(202))
        let workspace = try NotifyEndToEndTests.Workspace(notify: Self.sink(pagerDuty))
        defer { workspace.remove() }
        let result = try await workspace.run(["apply", "-i", workspace.inventory, "--yes"], environment: [:])
        #expect(result.status == 2, "\(result)")
        #expect(
            result.standardError.contains(
                "notify sink 'pager' (pagerduty): environment variable TM_TEST_PD_KEY (its routing_key_env) is not set, so it could page nobody; export it, or remove the sink."
            ), "\(result)")
        #expect(
            !FileManager.default.fileExists(atPath: workspace.root.appendingPathComponent("dbs/dev.db").path),
            "nothing ran")
        let test = try await workspace.run(["notify", "test", "-i", workspace.inventory], environment: [:])
        #expect(test.status == 2, "\(test)")
        #expect(pagerDuty.requests.isEmpty)
    }

    @Test func notifyTestTriggersAndResolvesAndPrintsWhatPagerDutyAnswered() async throws {
        let pagerDuty = try HTTPTestReceiver(
            otherwise: .json(
                202, body: #"{"status":"success","message":"Event processed","dedup_key":"tidemark/fleet/notify-test"}"#
            ))
        let workspace = try NotifyEndToEndTests.Workspace(notify: Self.sink(pagerDuty))
        defer { workspace.remove() }
        let result = try await workspace.run(
            ["notify", "test", "-i", workspace.inventory], environment: ["TM_TEST_PD_KEY": Self.routingKey])
        #expect(result.status == 0, "\(result)")
        let line = try #require(result.standardOutput.split(separator: "\n").first { $0.hasPrefix("pager ") })
        #expect(
            line.contains("pagerduty") && line.contains("delivered")
                && line.contains("answered trigger: 202 Event processed; resolve: 202 Event processed"), "\(result)")
        let bodies = pagerDuty.requests.compactMap { $0.jsonObject() }
        #expect(bodies.map { $0["event_action"] as? String } == ["trigger", "resolve"])
        #expect((bodies.first?["payload"] as? [String: Any])?["severity"] as? String == "info")
    }
}
