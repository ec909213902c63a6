import Foundation
import Testing
import TidemarkCore
import TidemarkExecutor

@testable import TidemarkObserve

@Suite struct RunMetricsTests {
    static func plan(_ target: String, step: PlannedStep? = nil, decision: Decision? = nil, action: Action = .forward)
        -> TargetPlan
    {
        TargetPlan(
            target: target, environment: "prod", tier: .prod, action: action, reason: "r", decision: decision,
            steps: step.map { [$0] } ?? [],
            fromVersion: "1", toVersion: "2", plannedFrom: PlannedFrom(lastEntryID: 0, entryCount: 0, applied: []))
    }

    static func report(_ outcomes: [TargetOutcome]) -> RunReport {
        RunReport(
            runID: "run-1", inventory: "fleet \"eu\"", plan: "app", desiredVersion: "2", strategy: .auto,
            appliedBy: "ops@host", dryRun: false,
            startedAt: Date(timeIntervalSince1970: 1_000), finishedAt: Date(timeIntervalSince1970: 1_012.5),
            targets: outcomes)
    }

    @Test func aFailedStepOutsideATransactionLeavesItsTargetDirty() throws {
        let two = try #require(Version("2", style: .numeric))
        let index = PlannedStep(
            version: two, description: "index", kind: .forward, script: "V2__index.sql", checksum: "c",
            transactional: false)
        let table = PlannedStep(
            version: two, description: "table", kind: .forward, script: "V2__table.sql", checksum: "c",
            transactional: true)
        let dirtyBefore = Self.plan(
            "c", decision: .blocked(reason: .dirty(version: "2", historyRow: 7), rule: nil), action: .blocked)
        let rollout = Rollout(
            inventory: "fleet", plan: "app", desiredVersion: nil, strategy: .auto,
            waves: [
                Wave(
                    environment: "prod", tier: .prod, live: true, audit: false, canary: nil,
                    targets: [Self.plan("a", step: index), Self.plan("b", step: table), dirtyBefore])
            ])
        func failed(_ target: String) -> TargetOutcome {
            TargetOutcome(
                target: target, environment: "prod", action: .forward, outcome: .failed, reason: "r", fromVersion: "1",
                toVersion: "1",
                steps: [
                    StepResult(version: "2", kind: .forward, script: "x", success: false, executionMS: 5, error: "boom")
                ])
        }
        let report = Self.report([failed("a"), failed("b"), TargetOutcome(plan: dirtyBefore, outcome: .blocked)])
        #expect(RunMetrics.dirtyTargets(report: report, rollout: rollout) == ["a", "c"])
        let text = RunMetrics.document(report: report, rollout: rollout).render()
        #expect(text.contains("tidemark_targets_dirty{inventory=\"fleet \\\"eu\\\"\"} 2\n"))
        #expect(text.contains("tidemark_run_duration_seconds{inventory=\"fleet \\\"eu\\\"\"} 12.5\n"))
        #expect(
            text.contains(
                "tidemark_run_last_finished_timestamp_seconds{inventory=\"fleet \\\"eu\\\"\",result=\"failed\"} 1012.5\n"
            ))
        #expect(
            text.contains(
                "tidemark_step_duration_seconds_bucket{inventory=\"fleet \\\"eu\\\"\",kind=\"forward\",le=\"0.01\"} 2\n"
            ))
    }

    @Test func numbersAndLabelsAreWrittenAsTheFormatSays() {
        #expect(MetricsDocument.number(3) == "3")
        #expect(MetricsDocument.number(0.25) == "0.25")
        #expect(MetricsDocument.number(.infinity) == "+Inf")
        #expect(MetricsDocument.escapeLabel("a\\b\"c\nd") == "a\\\\b\\\"c\\nd")
        #expect(RunMetrics.numeric("1.2.10") == nil)
        #expect(RunMetrics.numeric(nil) == 0)
        #expect(RunMetrics.numeric("0042") == 42)
    }

    @Test func mergingKeepsOtherFamiliesAndOtherResultsOfTheSameInventoryOnly() {
        let previous = """
            # HELP tidemark_run_targets Targets.
            # TYPE tidemark_run_targets gauge
            tidemark_run_targets{inventory="fleet",environment="prod",outcome="succeeded"} 3
            tidemark_run_targets{inventory="other",environment="prod",outcome="succeeded"} 9
            # HELP tidemark_run_last_finished_timestamp_seconds When.
            # TYPE tidemark_run_last_finished_timestamp_seconds gauge
            tidemark_run_last_finished_timestamp_seconds{inventory="fleet",result="succeeded"} 100
            tidemark_run_last_finished_timestamp_seconds{inventory="fleet",result="failed"} 50

            """
        var document = MetricsDocument(families: [
            .init(
                name: "tidemark_run_last_finished_timestamp_seconds", help: "When.", kind: .gauge,
                samples: [.init(labels: [.init("inventory", "fleet"), .init("result", "failed")], value: 200)])
        ])
        document = MetricsFile.merged(document, previous: previous, inventory: "fleet")
        let text = document.render()
        #expect(text.contains("result=\"failed\"} 200\n"))
        #expect(text.contains("result=\"succeeded\"} 100\n"))
        #expect(!text.contains("} 50\n"))
        #expect(
            text.contains("tidemark_run_targets{inventory=\"fleet\",environment=\"prod\",outcome=\"succeeded\"} 3\n"))
        #expect(!text.contains("inventory=\"other\""))
    }
}

@Suite struct RunTraceTests {
    @Test func aFailedStepCarriesItsErrorWithoutThePassword() {
        var outcome = TargetOutcome(
            target: "shard-1", environment: "prod", action: .forward, outcome: .failed, reason: "r", fromVersion: "1",
            toVersion: "1",
            steps: [
                StepResult(
                    version: "2", kind: .forward, script: "V2.sql", success: false, executionMS: 40,
                    error: "cannot reach postgres://app:hunter2@db/app")
            ],
            error: "cannot reach postgres://app:hunter2@db/app", startedAt: Date(timeIntervalSince1970: 10),
            finishedAt: Date(timeIntervalSince1970: 11))
        outcome.steps[0].startedAt = Date(timeIntervalSince1970: 10.5)
        let report = RunReport(
            runID: "r1", inventory: "fleet", plan: "app", desiredVersion: "2", strategy: .auto, appliedBy: "ops",
            dryRun: false,
            startedAt: Date(timeIntervalSince1970: 9), finishedAt: Date(timeIntervalSince1970: 12), targets: [outcome])
        let spans = RunTrace.spans(report, traceID: Span.newTraceID())
        #expect(spans.map(\.name) == ["tidemark.run", "tidemark.wave", "tidemark.target", "tidemark.step"])
        let step = spans[3]
        #expect(step.start == Date(timeIntervalSince1970: 10.5) && step.end == Date(timeIntervalSince1970: 10.54))
        #expect(step.status == .error("cannot reach postgres://app:***@db/app"))
        #expect(step.attribute("error.message") == .string("cannot reach postgres://app:***@db/app"))
        #expect(spans[2].status == .error("cannot reach postgres://app:***@db/app"))
        let body = String(
            decoding: OTLPEncoding.body(spans, resource: ["service.name": "t"], format: .json), as: UTF8.self)
        #expect(!body.contains("hunter2"))
        #expect(!OTLPEncoding.body(spans, resource: [:], format: .protobuf).contains(Data("hunter2".utf8)))
    }
}
