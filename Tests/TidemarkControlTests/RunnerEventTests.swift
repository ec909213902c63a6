import Testing
import TidemarkCore

@testable import TidemarkControl

/// What a runner of a shared run stores as a finished target's event.
@Suite struct RunnerEventTests {
    @Test func unchangedTargetIsConvergedOnlyWhenAnIncidentSinkMayResolveIt() {
        let outcome = TargetOutcome(
            target: "shard-1", environment: "prod", action: .none, outcome: .unchanged, reason: "at the desired state",
            fromVersion: "2", toVersion: "2")
        #expect(
            RunnerLoop.event(for: outcome, runID: "r1", inventory: "shop", tracksIncidents: true)?.kind
                == .targetConverged)
        #expect(
            RunnerLoop.event(for: outcome, runID: "r1", inventory: "shop") == nil,
            "without an incident sink, nothing is stored")
    }
}
