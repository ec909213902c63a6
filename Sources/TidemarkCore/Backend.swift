import Foundation
import Logging

/// One step for a backend to run: a script and the history row that records it.
package struct StepRequest: Sendable, Hashable {
    package var version: String
    package var description: String
    package var kind: StepKind
    /// The script's path in the plan; empty for `skip`, `baseline` and `repair`.
    package var scriptPath: String
    /// The SQL to run; empty for `skip`, `baseline` and `repair`, which only record a row.
    package var sql: String
    package var checksum: String
    /// False: the script runs as written, after a dirty-first history row is committed.
    package var transactional: Bool
    package var runID: String
    package var appliedBy: String
    /// Which attempt this is (1-based): a step retried after a lock timeout records each attempt.
    package var attempt: Int
    /// How many more times a statement of a step run statement by statement (MySQL DDL) may run
    /// after it timed out waiting for a lock: that statement only, never one that completed.
    package var lockRetries = 0
    /// A batched step's directive: the executor runs it batch by batch (`runBatch`), never `run`.
    package var batch: BatchSpec?

    package init(
        version: String, description: String, kind: StepKind, scriptPath: String, sql: String, checksum: String,
        transactional: Bool, runID: String, appliedBy: String, attempt: Int = 1, batch: BatchSpec? = nil
    ) {
        self.batch = batch
        self.version = version
        self.description = description
        self.kind = kind
        self.scriptPath = scriptPath
        self.sql = sql
        self.checksum = checksum
        self.transactional = transactional
        self.runID = runID
        self.appliedBy = appliedBy
        self.attempt = attempt
    }
}

/// A table another tool keeps in a target, named as that tool names it, and the columns to
/// read from it (`tidemark adopt` reads foreign histories this way). Thread-safe value.
package struct ForeignTable: Sendable, Hashable, Codable {
    /// The PostgreSQL schema it lives in; nil: the target's schema.
    package var schema: String?
    package var name: String
    package var columns: [String]

    package init(schema: String? = nil, name: String, columns: [String]) {
        self.schema = schema
        self.name = name
        self.columns = columns
    }

    /// `schema.name`, or `name`.
    package var qualifiedName: String { schema.map { "\($0).\(name)" } ?? name }
}

/// A verify script to run after its version's forward step (Sqitch's `verify/`). Thread-safe value.
package struct VerifyRequest: Sendable, Hashable {
    package var version: String
    /// The script's path in the plan (`verify/users.sql`), named in its errors.
    package var scriptPath: String
    package var sql: String
    /// False when the script manages its own transaction (Sqitch's `BEGIN; … ROLLBACK;`).
    package var transactional: Bool

    package init(version: String, scriptPath: String, sql: String, transactional: Bool) {
        self.version = version
        self.scriptPath = scriptPath
        self.sql = sql
        self.transactional = transactional
    }

    /// The verify script of `migration`, or nil when it has none.
    package init?(for migration: Migration) {
        guard let script = migration.verify else { return nil }
        self.init(
            version: migration.version.text, scriptPath: script.path, sql: script.sql,
            transactional: script.isTransactional)
    }
}

/// Cancels the statement running on a connection, from any thread. Thread-safe.
package protocol StatementCanceller: Sendable {
    /// Asks the server to cancel the running statement; a no-op if none runs.
    func cancel()
}

/// What a connection may do to its target. Thread-safe value.
///
/// Read commands (`status`, `plan`, `history`, drift checks) connect `readOnly`, so they never
/// create anything: a mistyped SQLite path must not become an empty database that `apply` then
/// migrates as if it were the target.
package enum ConnectionAccess: Sendable, Hashable {
    /// Reads history, schema and fingerprints. The database must exist (else
    /// `BackendError.databaseNotFound`); nothing is created (no file, no history table, no lock
    /// file), and `ensureHistoryTable`, `tryLock` and `run` fail with `BackendError.readOnly`.
    case readOnly
    /// Everything `apply` needs; a SQLite database file that does not exist is created.
    case readWrite
}

/// Opens connections to targets of one kind. Backends are dumb: they connect, lock, read
/// history and run one step; every migration decision lives in the planner and executor.
/// Implementations are thread-safe.
package protocol Backend: Sendable {
    var kind: BackendKind { get }

    /// Connects within `timeouts.connectTimeout`, applying the statement and lock timeouts to
    /// the session. Blocks: call it on an executor-owned thread.
    func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> any BackendConnection
}

extension Backend {
    /// Connects read-write: what `apply`, `repair`, `rehearse` and backups need.
    package func connect(to target: Target, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> any BackendConnection
    {
        try connect(to: target, access: .readWrite, timeouts: timeouts, logger: logger)
    }
}

/// An open connection to one target.
///
/// Not thread-safe: a connection is used by one thread at a time (the executor's worker that
/// opened it). Only `canceller` may be used from elsewhere. Closing happens in `deinit` too.
package protocol BackendConnection: AnyObject {
    var target: Target { get }

    /// Takes the target's migration lock without blocking for longer than `timeout`.
    /// Returns false when another run holds it.
    func tryLock(timeout: Duration) throws(BackendError) -> Bool

    /// Releases the lock taken by `tryLock`; a no-op if not held.
    func unlock() throws(BackendError)

    /// Creates `tidemark_history` (and the target's schema) if missing.
    func ensureHistoryTable() throws(BackendError)

    /// Every history row, oldest first; empty when the table does not exist yet.
    func readHistory() throws(BackendError) -> [HistoryEntry]

    /// The catalog's estimate of the rows of each of `relations` (as scripts write them, maybe
    /// `schema.name`, resolved like the target's scripts are), for an index the estimate of its
    /// table. One cheap catalog query, never a scan. Relations that do not exist, or that the
    /// backend cannot estimate, are absent from the result.
    func estimatedRows(of relations: [String]) throws(BackendError) -> [String: Double]

    /// The rows of a table another tool owns, `table.columns` as text (booleans as the database
    /// writes them as text, NULL as nil), in no particular order; nil when the table does not
    /// exist or lacks one of the columns (a table that only shares the tool's table name, such
    /// as an application's own `schema_migrations`, is not the tool's). Only reads: allowed on a
    /// read-only connection, and never writes the table.
    func readRows(of table: ForeignTable) throws(BackendError) -> [[String?]]?

    /// Runs one step with its history row.
    ///
    /// Transactional: script and a success row commit together; on failure the transaction
    /// rolls back, a failed row (success false, transactional true) is recorded, and the error
    /// is thrown. Non-transactional: a row with no `finished_at` is committed first, the script
    /// runs as written, then the row is completed; on failure the row keeps success false, so
    /// the target reads as dirty.
    @discardableResult
    func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry

    /// Runs a verify script and records nothing: a script that manages its own transaction runs
    /// as written, any other inside a transaction that is rolled back, so a verify changes
    /// nothing; a transaction the script leaves open is rolled back. Throws `.verifyFailed`
    /// with the script's error.
    func verify(_ request: VerifyRequest) throws(BackendError)

    /// The target schema's structure from the catalog, normalised and hashed (history table
    /// excluded; the schema's own name left out): what `rehearse` compares and `status --drift`
    /// checks against `fingerprints.json`.
    func fingerprint() throws(BackendError) -> SchemaFingerprint

    /// Cancels a running statement from another thread.
    var canceller: any StatementCanceller { get }

    /// Where this connection created a new database (a SQLite file that was not there), or nil:
    /// `apply` says so, because a mistyped path would otherwise go unnoticed.
    var createdDatabase: String? { get }

    /// Closes the connection (releasing the lock); further calls fail.
    func close()

    /// The server this connection reached (product and version), read when it connected.
    var databaseServer: DatabaseServer? { get }
    // MARK: Batched steps (docs/backfills.md)

    /// Checks that `spec.table` exists and `spec.key` is an integer column with a unique index
    /// of its own, and reads the key's smallest and largest values (two index probes).
    func batchTable(_ spec: BatchSpec) throws(BackendError) -> BatchTable

    /// The key `spec.size` rows past `start` in key order (the next batch's exclusive end), found
    /// by walking the key's index; nil when fewer rows remain. Never scans the table.
    func batchEnd(_ spec: BatchSpec, from start: Int64) throws(BackendError) -> Int64?

    /// Commits the step's history row before its first batch: `success` NULL (in progress),
    /// the checkpoint `from` (zero, or where an earlier failed attempt stopped).
    func beginBatchedStep(_ step: StepRequest, from checkpoint: BatchCheckpoint) throws(BackendError) -> HistoryEntry

    /// Runs the step's statement for keys `start..<end` and, in the same transaction, moves
    /// history row `row`'s checkpoint to `end - 1` and adds the rows changed; returns them. On
    /// failure the transaction rolls back (the checkpoint stays) and `.stepFailed` is thrown.
    func runBatch(_ step: StepRequest, row: Int64, start: Int64, end: Int64) throws(BackendError) -> Int64

    /// Finishes history row `row`: success true after the last batch, false with `error` when a
    /// batch failed (the checkpoint stays: the next apply resumes there).
    func finishBatchedStep(row: Int64, success: Bool, executionMS: Int64, error: String?) throws(BackendError)
        -> HistoryEntry

    /// How far the target's replicas lag behind it (`max_lag`).
    func replicationLag() throws(BackendError) -> ReplicationLag
}

/// What a target says of its replicas' lag. Thread-safe value.
package enum ReplicationLag: Sendable, Hashable {
    /// No replica is attached: nothing to wait for.
    case noReplicas
    /// The largest lag among the replicas.
    case lag(Duration)
    /// The lag cannot be read; `reason` says why (said once per step, not ignored).
    case unreadable(reason: String)
}

extension BackendConnection {
    /// Nil: only backends that create databases on connect (SQLite) say otherwise.
    package var createdDatabase: String? { nil }

    /// Nil: the backend does not say (the in-memory test backend).
    package var databaseServer: DatabaseServer? { nil }
    package func batchTable(_ spec: BatchSpec) throws(BackendError) -> BatchTable {
        throw .unsupported(target: target.name, message: Self.noBatches)
    }

    package func batchEnd(_ spec: BatchSpec, from start: Int64) throws(BackendError) -> Int64? {
        throw .unsupported(target: target.name, message: Self.noBatches)
    }

    package func beginBatchedStep(_ step: StepRequest, from checkpoint: BatchCheckpoint) throws(BackendError)
        -> HistoryEntry
    {
        throw .unsupported(target: target.name, message: Self.noBatches)
    }

    package func runBatch(_ step: StepRequest, row: Int64, start: Int64, end: Int64) throws(BackendError) -> Int64 {
        throw .unsupported(target: target.name, message: Self.noBatches)
    }

    package func finishBatchedStep(row: Int64, success: Bool, executionMS: Int64, error: String?) throws(BackendError)
        -> HistoryEntry
    {
        throw .unsupported(target: target.name, message: Self.noBatches)
    }

    package func replicationLag() throws(BackendError) -> ReplicationLag { .noReplicas }

    private static var noBatches: String {
        "this backend cannot run batched steps (-- tidemark:batch) yet; run the step on PostgreSQL, SQLite or MySQL, or remove the directive."
    }
}

/// A backup file and how it was made: what `backup` prints, the run report names, and
/// `restore` reads back. Thread-safe value.
package struct BackupRecord: Sendable, Hashable, Codable {
    package var target: String
    /// Where the file is (mode 0600).
    package var path: String
    /// How it was made and checked, e.g. `pg_dump -Fc --schema="app", 12 tables checked` or
    /// `sqlite3 online backup`.
    package var method: String
    package var bytes: Int64

    package init(target: String, path: String, method: String, bytes: Int64) {
        self.target = target
        self.path = path
        self.method = method
        self.bytes = bytes
    }
}

/// A backend that can copy a target's schema and data to a file and bring them back: the way
/// back from a data-losing step, which no undo script can give. Implementations are thread-safe.
package protocol BackupCapableBackend: Backend {
    /// Writes a backup of `target` to `path` (created with mode 0600, folders as needed).
    /// Blocks: call it on an executor-owned thread.
    func backup(_ target: Target, to path: String, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> BackupRecord

    /// Replaces the target's schema and data with the backup at `path`. Blocks.
    func restore(_ target: Target, from path: String, timeouts: Timeouts, logger: Logger) throws(BackendError)

    /// What a backup may wait for, and for how long, said before it starts (a backup must
    /// never wait silently): `pg_dump waits at most 5s for a lock on each table`.
    func backupWait(timeouts: Timeouts) -> String
}

extension BackupCapableBackend {
    package func backupWait(timeouts: Timeouts) -> String {
        "the backup waits at most \(DurationText.text(timeouts.lockTimeout)) for a lock"
    }
}
