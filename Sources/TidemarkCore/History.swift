import Foundation

/// What a history row records.
package enum StepKind: String, Sendable, Codable, CaseIterable {
    /// A forward script ran.
    case forward
    /// An undo script ran: the version is rolled back (the forward row stays).
    case undo
    /// A compensating forward script ran (roll forward of a bad version).
    case compensate
    /// A compensating version recorded without running: the target never ran what it compensates.
    case skip
    /// The target was adopted at this version without running its scripts.
    case baseline
    /// A dirty step's resolution (`tidemark repair`): `resolved` or `rolled-back`, the first word
    /// of the row's description. The failed row stays; nothing runs.
    case repair
}

/// How a dirty step was resolved by `tidemark repair` (docs/guide.md#history-table,
/// docs/recovery.md#when-a-target-is-dirty). Thread-safe value.
package enum RepairResolution: String, Sendable, Hashable, Codable, CaseIterable {
    /// The failed step counts as completed (a failed forward: its version is in effect).
    case resolved
    /// The failed step counts as never run (a failed forward: its version is not in effect and
    /// the next apply runs it again).
    case rolledBack = "rolled-back"

    /// The description of a `repair` row: the resolution first, then why (`rolled-back: …`).
    package func rowDescription(_ note: String) -> String {
        note.isEmpty ? rawValue : "\(rawValue): \(note)"
    }

    /// The resolution a `repair` row's description starts with.
    package init?(rowDescription: String) {
        let word = rowDescription.prefix { $0 != ":" && !$0.isWhitespace }
        self.init(rawValue: String(word))
    }
}

/// One row of `tidemark_history`. Rows are never deleted. Thread-safe value.
package struct HistoryEntry: Sendable, Hashable, Codable {
    package var id: Int64
    package var version: String
    package var description: String
    package var kind: StepKind
    /// The script's path in the plan (empty for `skip` and `baseline`).
    package var script: String
    package var checksum: String
    package var runID: String
    package var appliedBy: String
    package var startedAt: Date
    /// Nil while a no-transaction step is running, or if it died mid-way.
    package var finishedAt: Date?
    package var executionMS: Int64
    package var success: Bool
    /// Whether the step ran inside Tidemark's transaction (a failed transactional step left nothing).
    package var transactional: Bool
    /// The error of a failed step, redacted.
    package var error: String?
    /// Which attempt of its step this row records: 1, or more when earlier attempts timed out
    /// waiting for a lock and were retried (`lock_retries`,
    /// docs/live-production.md#lock-timeout-retries). Each attempt has its row. Tables written
    /// before the column existed read as 1.
    package var attempt: Int
    /// A batched step's checkpoint (`batch_last_key`, `batch_rows`, history table version 2,
    /// docs/backfills.md); nil for every other step.
    package var batch: BatchCheckpoint?
    /// A step run statement by statement (MySQL DDL): how many of its statements completed,
    /// recorded after each one (MySQL history table version 2, docs/mysql.md#a-half-applied-step).
    /// A run killed mid-step leaves it with no error: `repair` reads where it stopped from this.
    /// Nil for every other step and backend.
    package var statementsDone: Int?

    package init(
        id: Int64, version: String, description: String, kind: StepKind, script: String, checksum: String,
        runID: String, appliedBy: String, startedAt: Date, finishedAt: Date?, executionMS: Int64,
        success: Bool, transactional: Bool, error: String? = nil, attempt: Int = 1, batch: BatchCheckpoint? = nil
    ) {
        self.batch = batch
        self.id = id
        self.version = version
        self.description = description
        self.kind = kind
        self.script = script
        self.checksum = checksum
        self.runID = runID
        self.appliedBy = appliedBy
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.executionMS = executionMS
        self.success = success
        self.transactional = transactional
        self.error = error
        self.attempt = attempt
    }

    private enum CodingKeys: String, CodingKey {
        case id, version, description, kind, script, checksum, runID, appliedBy, startedAt, finishedAt, executionMS
        case success, transactional, error, attempt, batch, statementsDone
    }

    /// Saved rollouts and reports written before `attempt` existed decode with attempt 1.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(Int64.self, forKey: .id), version: try c.decode(String.self, forKey: .version),
            description: try c.decode(String.self, forKey: .description),
            kind: try c.decode(StepKind.self, forKey: .kind),
            script: try c.decode(String.self, forKey: .script), checksum: try c.decode(String.self, forKey: .checksum),
            runID: try c.decode(String.self, forKey: .runID), appliedBy: try c.decode(String.self, forKey: .appliedBy),
            startedAt: try c.decode(Date.self, forKey: .startedAt),
            finishedAt: try c.decodeIfPresent(Date.self, forKey: .finishedAt),
            executionMS: try c.decode(Int64.self, forKey: .executionMS),
            success: try c.decode(Bool.self, forKey: .success),
            transactional: try c.decode(Bool.self, forKey: .transactional),
            error: try c.decodeIfPresent(String.self, forKey: .error),
            attempt: try c.decodeIfPresent(Int.self, forKey: .attempt) ?? 1,
            batch: try c.decodeIfPresent(BatchCheckpoint.self, forKey: .batch))
        statementsDone = try c.decodeIfPresent(Int.self, forKey: .statementsDone)
    }

    /// A batched step still running, or killed mid-way (`success` NULL in the table): the next
    /// apply resumes it at its checkpoint. The target is in progress, not dirty.
    package var isBackfillInProgress: Bool { batch != nil && finishedAt == nil && !success }

    /// How the error of a batched row taken back by another step begins
    /// (docs/backfills.md#going-back-below-an-unfinished-backfill).
    package static let abandonedPrefix = "abandoned after key"

    /// A batched step stopped mid-way and then taken back by its undo (or the forward, for an
    /// undo): finished as failed, never resumed.
    package var isAbandonedBackfill: Bool {
        batch != nil && !success && finishedAt != nil && error?.hasPrefix(Self.abandonedPrefix) == true
    }

    /// A failed step outside a transaction may have left part of its work behind.
    package var leavesTargetDirty: Bool { !success && !transactional && kind != .repair }

    /// A `repair` row's resolution; nil for every other kind.
    package var repairResolution: RepairResolution? {
        kind == .repair ? RepairResolution(rowDescription: description) : nil
    }
}

/// A version a target currently has in effect.
package struct AppliedVersion: Sendable, Hashable, Codable {
    package var version: String
    package var kind: StepKind
    package var checksum: String
    /// The history row that put it there.
    package var entryID: Int64

    package init(version: String, kind: StepKind, checksum: String, entryID: Int64) {
        self.version = version
        self.kind = kind
        self.checksum = checksum
        self.entryID = entryID
    }
}

/// A target's state: a fold over its history rows, oldest first. Thread-safe value.
package struct TargetState: Sendable, Hashable, Codable {
    /// Versions in effect, in the order they were applied.
    package var applied: [AppliedVersion]
    /// The failed no-transaction step that left the target in an unknown state, if any.
    package var dirty: HistoryEntry?
    /// The most recent row of any kind.
    package var lastEntry: HistoryEntry?
    /// How many rows the history holds.
    package var entryCount: Int
    /// The catalog's estimate of rows in the relations the plan's lock-risky statements touch,
    /// by name as the scripts write it (PostgreSQL `pg_class.reltuples`; read with the state,
    /// never by a scan). Absent: no estimate (SQLite, or the relation does not exist yet).
    package var estimatedRows: [String: Double] = [:]
    /// Another tool's history table (its exact shape, holding at least one row) on a target
    /// where no version of Tidemark's is in effect: the target was migrated by that tool, and
    /// running the plan from the start would run its versions again. Read with the state only
    /// then; nil otherwise.
    package var foreignHistory: ForeignTool?
    /// The server the state was read from (product and version), when the backend says:
    /// `status` shows it, and MySQL's online-DDL rules depend on it. Nil: not read (a saved
    /// state, or a backend that does not say).
    package var server: DatabaseServer?
    /// A batched step that has not finished (running, or killed mid-way): `status` shows its
    /// checkpoint; the next apply resumes it (docs/backfills.md#resuming).
    package var backfill: HistoryEntry?
    /// The unfinished backfill's key range and table size, read with the state (status).
    package var backfillStatus: BackfillStatus?

    package init(
        applied: [AppliedVersion] = [], dirty: HistoryEntry? = nil, lastEntry: HistoryEntry? = nil, entryCount: Int = 0
    ) {
        self.applied = applied
        self.dirty = dirty
        self.lastEntry = lastEntry
        self.entryCount = entryCount
    }

    /// The state of a target whose history is empty.
    package static let empty = TargetState()

    /// Folds history rows (in any order; they are sorted by id) into a state.
    ///
    /// A successful forward, compensate, skip or baseline row puts its version in effect; a
    /// successful undo takes it out. A failed transactional row changes nothing. A failed
    /// no-transaction row (or one that never finished) makes the target dirty until a later
    /// successful row for the same version. A `repair` row for the dirty version ends the
    /// dirtiness: `resolved` as if the failed step had completed (a forward's version is in
    /// effect, an undo's is not), `rolled-back` as if it had never run.
    package init(history: [HistoryEntry]) {
        self.init()
        for entry in history.sorted(by: { $0.id < $1.id }) {
            apply(entry)
        }
    }

    /// Adds one row to the fold.
    package mutating func apply(_ entry: HistoryEntry) {
        entryCount += 1
        lastEntry = entry
        if entry.batch != nil {
            backfill = entry.isBackfillInProgress ? entry : nil
        }
        guard entry.success else {
            if entry.leavesTargetDirty { dirty = entry }
            return
        }
        if entry.kind == .repair {
            applyRepair(entry)
            return
        }
        if let dirtyEntry = dirty, dirtyEntry.version == entry.version { dirty = nil }
        switch entry.kind {
        case .forward, .compensate, .skip, .baseline:
            applied.removeAll { $0.version == entry.version }
            applied.append(
                AppliedVersion(version: entry.version, kind: entry.kind, checksum: entry.checksum, entryID: entry.id))
        case .undo:
            applied.removeAll { $0.version == entry.version }
        case .repair:
            break
        }
    }

    /// A repair row counts only against the dirty step of its version; any other is a record.
    private mutating func applyRepair(_ entry: HistoryEntry) {
        guard let failed = dirty, failed.version == entry.version, let resolution = entry.repairResolution else {
            return
        }
        dirty = nil
        guard resolution == .resolved else { return }
        switch failed.kind {
        case .forward, .compensate, .skip, .baseline:
            applied.removeAll { $0.version == failed.version }
            applied.append(
                AppliedVersion(version: failed.version, kind: failed.kind, checksum: failed.checksum, entryID: entry.id)
            )
        case .undo:
            applied.removeAll { $0.version == failed.version }
        case .repair:
            break
        }
    }

    package func isApplied(_ version: String) -> Bool {
        applied.contains { $0.version == version }
    }

    package var isDirty: Bool { dirty != nil }
}
