import TidemarkCore

/// Why the executor refused or stopped work on a target; each names the target and the fix.
package enum ExecutionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The target's history changed between `plan --out` and `apply FILE`.
    case stateChanged(target: String, planned: PlannedFrom, found: PlannedFrom)
    /// A script's checksum differs from the one the rollout was planned with.
    case scriptChanged(target: String, script: String)
    /// The rollout names a version or target the plan or inventory no longer has.
    case unknownInRollout(target: String, what: String)
    /// The backup before a data-losing step on a prod target failed, so the step did not run.
    case backupFailed(target: String, version: String, message: String)
    /// A batch of a batched step failed and rolled back; the batches before it committed, and
    /// the step's history row keeps their checkpoint (docs/backfills.md#when-a-batch-fails).
    case batchFailed(target: String, version: String, kind: StepKind, message: String, checkpoint: BatchCheckpoint)

    package var description: String {
        switch self {
        case .stateChanged(let target, let planned, let found):
            return
                "\(target): its history changed since the rollout was planned (planned from \(Self.describe(planned)), found \(Self.describe(found))); plan again (`tidemark plan -i <inventory> --out <rollout-file>`)."
        case .scriptChanged(let target, let script):
            return
                "\(target): \(script) changed since the rollout was planned; plan again (`tidemark plan -i <inventory> --out <rollout-file>`)."
        case .unknownInRollout(let target, let what):
            return
                "\(target): the rollout refers to \(what), which is no longer in the plan or inventory; plan again (`tidemark plan -i <inventory> --out <rollout-file>`)."
        case .backupFailed(let target, let version, let message):
            return
                "\(target): the backup before data-losing version \(version) failed, so that step did not run (the steps before it committed): \(message). Fix the backup, or pass --no-backup to go on without one."
        case .batchFailed(let target, let version, let kind, let message, let checkpoint):
            let kept =
                checkpoint.lastKey.map {
                    "the batches before it committed (\(checkpoint.rows) rows, keys up to \($0)), and the next apply resumes after key \($0)"
                }
                ?? "no batch had committed, and the next apply starts from the first key"
            return
                "\(target): \(kind.rawValue) step of version \(version) failed: \(message). That batch was rolled back; \(kept). Fix the cause (the data or the statement), then apply again."
        }
    }

    private static func describe(_ state: PlannedFrom) -> String {
        "\(state.entryCount) history rows, in effect: \(state.applied.isEmpty ? "nothing" : state.applied.joined(separator: ", "))"
    }
}

extension TargetPlan {
    /// Nil when `state` is the state this plan was made from; otherwise the error that refuses
    /// to run it. The one stale check: `apply FILE` asks it of every target before anything
    /// runs, and each target asks it again under its own lock.
    package func staleness(found state: TargetState) -> ExecutionError? {
        let found = PlannedFrom(state)
        return found == plannedFrom ? nil : .stateChanged(target: target, planned: plannedFrom, found: found)
    }
}
