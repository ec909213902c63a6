import TidemarkCore

/// What `tidemark stop RUN_ID` did. Thread-safe value.
package struct StopOutcome: Sendable, Hashable {
    /// Targets nobody was running, recorded `skipped` because no live runner was left to do it.
    package var skippedWithoutRunners: Int?
    /// Whether that also finished the run (no live runner left, nothing else running).
    package var finished: Bool
}

extension ControlStore {
    /// `tidemark stop RUN_ID` as one use case: every runner of the run stops claiming, finishes
    /// its running steps and starts nothing new; when no live runner is left to see the request,
    /// the control database does what they would have done. Nil when no open run has that id.
    package func stop(_ runID: String) throws(ControlError) -> StopOutcome? {
        guard try requestStop(runID) else { return nil }
        guard let ended = try endWithoutRunners(runID) else {
            return StopOutcome(skippedWithoutRunners: nil, finished: false)
        }
        return StopOutcome(skippedWithoutRunners: ended.skipped, finished: ended.finished)
    }
}
