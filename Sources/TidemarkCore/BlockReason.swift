/// Why the planner stops at a target and asks a human (the `blocked` reasons of
/// docs/guide.md#the-rules-the-planner-follows). Thread-safe value.
///
/// `ReasonText` turns a reason, with the rule the target follows, into the sentence people read.
package enum BlockReason: Sendable, Hashable, Codable {
    /// A step that ran outside a transaction failed (history row `historyRow`): part of it may have run.
    case dirty(version: String, historyRow: Int64)
    /// The target has a version applied that the plan does not know.
    case unknownVersion(version: String, plan: String)
    /// An applied script changed since it ran: `applied` is the checksum recorded, `current` the file's.
    case checksumMismatch(version: String, applied: String, script: String, current: String)
    /// `applied` is in effect but `missing`, which comes before it, is not.
    case outOfOrderGap(applied: Version, missing: Version)
    /// A roll back is required but a version cannot be undone by script: a restore is the way back.
    case cannotUndo(because: UndoObstacle)
    /// A roll forward is required but the version has no compensating migration (`tidemark revert`).
    case noCompensation(version: Version)
    /// A roll forward is required but the version's compensating migration is itself quarantined.
    case compensationQuarantined(version: Version, compensation: Version)
    /// `--strategy rollback` on an environment whose rule requires roll forward.
    case forcedRollbackRefused
    /// The drift gate (`drift: block`): the live schema is not the one recorded for `version`
    /// (nil: no version, the empty schema); `differences` are the first `- recorded` / `+ live` lines.
    case drift(version: String?, differences: [String], count: Int)
    /// On a live environment, a step would hold a lock for a scan or rewrite of a table estimated
    /// larger than `lock_risk_rows`, and its script does not say `-- tidemark:lock-ok`.
    case lockRisk(version: Version, script: String, risk: LockRisk, threshold: Int)
    /// Another tool migrated the target (its history table holds rows) and Tidemark has no
    /// version in effect there: `tidemark adopt` must record what is applied first.
    case adoptFirst(tool: ForeignTool, table: String)
    /// A batched step's table or key cannot be walked on this target (no such table, a key that
    /// is not an integer or has no unique index): `problem` says which and the fix.
    case batchTable(version: String, script: String, problem: String)
}
