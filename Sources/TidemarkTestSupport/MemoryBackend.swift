import Dispatch
import Foundation
import Logging
import Synchronization
import TidemarkCore

/// An in-memory backend for planner, executor and fleet-scale tests: `memory:NAME` targets
/// live in a `MemoryStore`. Thread-safe value.
///
/// It keeps a real schema (through the small dialect of `MemorySQL`), so steps fail the way a
/// database fails: a transactional failure leaves the schema as it was, a no-transaction one
/// keeps what ran before the failing statement. It passes the same conformance suite as the
/// real backends.
package struct MemoryBackend: Backend {
    package let store: MemoryStore

    package init(store: MemoryStore = .shared) {
        self.store = store
    }

    package var kind: BackendKind { .memory }

    /// Read-write creates the target's database on first use, like a SQLite file; read-only
    /// fails with `databaseNotFound` when nothing ever created it.
    package func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger)
        throws(BackendError)
        -> any BackendConnection
    {
        let database: MemoryDatabase
        switch access {
        case .readWrite:
            database = try store.database(of: target)
        case .readOnly:
            guard let existing = try store.storedDatabase(of: target) else {
                throw .databaseNotFound(
                    target: target.name, location: "memory:\(try MemoryStore.databaseName(of: target))")
            }
            database = existing
        }
        let injected: BackendError? = database.state.withLock { state in
            guard state.pendingConnectFailures > 0 else { return nil }
            state.pendingConnectFailures -= 1
            return .connectionFailed(
                target: target.name, message: "injected connection failure (MemoryStore.failNextConnections)",
                transient: state.connectFailuresAreTransient)
        }
        if let injected { throw injected }
        return MemoryConnection(
            target: target, database: database, access: access, id: store.nextConnectionID(),
            defaultLatency: store.defaultStepLatency(), timeouts: timeouts, logger: logger)
    }
}

extension MemoryBackend: BackupCapableBackend {
    /// Keeps a snapshot of the target's schema and history in the store under `path`; no file
    /// is written (the store is the "disk" of this backend).
    package func backup(_ target: Target, to path: String, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> BackupRecord
    {
        try store.saveBackup(of: target, at: path)
        return BackupRecord(target: target.name, path: path, method: "memory snapshot", bytes: 0)
    }

    package func restore(_ target: Target, from path: String, timeouts: Timeouts, logger: Logger) throws(BackendError) {
        guard try store.restoreBackup(of: target, from: path) else {
            throw .backupFailed(target: target.name, message: "no in-memory backup at \(path).")
        }
    }
}

/// A connection to one in-memory database.
///
/// Not thread-safe (like every `BackendConnection`): one worker uses it; `canceller` may be
/// called from anywhere. Closing (or deinit) releases the lock.
package final class MemoryConnection: BackendConnection {
    package let target: Target
    package var canceller: any StatementCanceller { signal }

    private var database: MemoryDatabase?
    private let access: ConnectionAccess
    private let id: UInt64
    private let defaultLatency: Duration
    private let timeouts: Timeouts
    private let logger: Logger
    private let signal = MemoryCancelSignal()

    init(
        target: Target, database: MemoryDatabase, access: ConnectionAccess, id: UInt64, defaultLatency: Duration,
        timeouts: Timeouts,
        logger: Logger
    ) {
        self.target = target
        self.database = database
        self.access = access
        self.id = id
        self.defaultLatency = defaultLatency
        self.timeouts = timeouts
        self.logger = logger
    }

    deinit {
        close()
    }

    // MARK: Lock

    package func tryLock(timeout: Duration) throws(BackendError) -> Bool {
        let database = try writableDatabase("take the migration lock")
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let owner = id
        while true {
            let taken = database.state.withLock { state in
                guard state.lockOwner == nil || state.lockOwner == owner else { return false }
                state.lockOwner = owner
                return true
            }
            if taken { return true }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else { return false }
            Thread.sleep(forTimeInterval: min(0.005, Double(remaining.milliseconds + 1) / 1000))
        }
    }

    package func unlock() throws(BackendError) {
        releaseLock(of: try openDatabase())
    }

    private func releaseLock(of database: MemoryDatabase) {
        let owner = id
        database.state.withLock { state in
            if state.lockOwner == owner { state.lockOwner = nil }
        }
    }

    // MARK: History

    package func ensureHistoryTable() throws(BackendError) {
        try writableDatabase("create tidemark_history").state.withLock { $0.historyTableExists = true }
    }

    package func readHistory() throws(BackendError) -> [HistoryEntry] {
        try openDatabase().state.withLock { $0.historyTableExists ? $0.history : [] }
    }

    /// The estimates a test set with `MemoryStore.setEstimatedRows`.
    package func estimatedRows(of relations: [String]) throws(BackendError) -> [String: Double] {
        let known = try openDatabase().state.withLock { $0.estimatedRows }
        return known.filter { relations.contains($0.key) }
    }

    /// The rows a test set with `MemoryStore.setForeignTable`, the requested columns in order (a
    /// column the table lacks reads as NULL).
    package func readRows(of table: ForeignTable) throws(BackendError) -> [[String?]]? {
        guard let stored = try openDatabase().state.withLock({ $0.foreignTables[table.qualifiedName] }),
            Set(table.columns).isSubset(of: Set(stored.columns))
        else { return nil }
        let positions = table.columns.map { stored.columns.firstIndex(of: $0) }
        return stored.rows.map { row in
            positions.map { position in position.flatMap { $0 < row.count ? row[$0] : nil } }
        }
    }

    /// Tables with their columns in order, and indexes; the dialect has no types, constraints
    /// or other objects, so columns carry no definition.
    package func fingerprint() throws(BackendError) -> SchemaFingerprint {
        let schema = try openDatabase().state.withLock { $0.schema }
        var builder = SchemaFingerprintBuilder()
        for table in schema.tables.values {
            builder.table(table.name, columns: table.columns.map { (name: $0, definition: "any") })
        }
        for index in schema.indexes.values {
            builder.add("index", "\(index.table).\(index.name)", index.isUnique ? "unique" : "")
        }
        return builder.fingerprint
    }

    // MARK: Steps

    @discardableResult
    package func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry {
        let database = try writableDatabase("run version \(step.version)")
        let hasHistory = database.state.withLock { $0.historyTableExists }
        guard hasHistory else {
            throw .queryFailed(
                target: target.name,
                message: "relation \"tidemark_history\" does not exist; call ensureHistoryTable() first",
                sqlState: "42P01")
        }
        var entry = HistoryEntry(
            id: 0, version: step.version, description: step.description, kind: step.kind, script: step.scriptPath,
            checksum: step.checksum, runID: step.runID, appliedBy: step.appliedBy, startedAt: Date(), finishedAt: nil,
            executionMS: 0, success: false, transactional: step.transactional, error: nil, attempt: step.attempt)
        switch step.kind {
        case .skip, .baseline, .repair:
            // Recorded, never run: these say a version is in effect (or how a dirty step was
            // resolved) without a script.
            entry.finishedAt = entry.startedAt
            entry.success = true
            return database.state.withLock { $0.append(entry) }
        case .forward, .undo, .compensate:
            break
        }
        let latency = database.state.withLock { $0.stepLatency } ?? defaultLatency
        signal.begin()
        defer { signal.end() }
        return step.transactional
            ? try runInTransaction(step, entry: entry, latency: latency, on: database)
            : try runAsWritten(step, entry: entry, latency: latency, on: database)
    }

    /// Runs the statements on a copy of the schema, which is then dropped: a verify changes nothing.
    package func verify(_ request: VerifyRequest) throws(BackendError) {
        let database = try writableDatabase("run verify script \(request.scriptPath)")
        var schema = database.state.withLock { $0.schema }
        for (line, parsed) in MemorySQL.statements(in: request.sql) {
            do {
                try MemorySQL.apply(parsed, to: &schema)
            } catch {
                throw .verifyFailed(
                    target: target.name, version: request.version, script: request.scriptPath,
                    message: "line \(line): \(error.message)",
                    sqlState: nil)
            }
        }
    }

    /// Runs on a copy of the schema; the copy and the success row are stored together. (A change
    /// another connection made meanwhile would be overwritten; migrations hold the target's lock,
    /// so in use there is none.)
    private func runInTransaction(
        _ step: StepRequest, entry: HistoryEntry, latency: Duration, on database: MemoryDatabase
    )
        throws(BackendError) -> HistoryEntry
    {
        let clockStart = ContinuousClock.now
        var schema = database.state.withLock { $0.schema }
        var failure: StepFailure?
        do throws(StepFailure) {
            try pause(latency, line: nil)
            for (line, parsed) in MemorySQL.statements(in: step.sql) {
                try checkCancelled(line: line)
                if case .sleep(let duration) = parsed {
                    try pause(duration, line: line)
                    continue
                }
                do {
                    try MemorySQL.apply(parsed, to: &schema)
                } catch {
                    throw StepFailure(message: "line \(line): \(error.message)", cancelled: false)
                }
            }
        } catch {
            failure = error
        }
        var entry = entry
        entry.executionMS = max(0, clockStart.duration(to: .now).milliseconds)
        entry.finishedAt = Date()
        if let failure {
            entry.error = failure.message
            _ = database.state.withLock { $0.append(entry) }
            if failure.cancelled { throw .cancelled(target: target.name, version: step.version) }
            throw stepFailed(step, failure.message, dirty: false)
        }
        entry.success = true
        let committed = schema
        return database.state.withLock { state in
            state.schema = committed
            return state.append(entry)
        }
    }

    /// A dirty-first row, then each statement applied to the live schema as it runs. A script's
    /// own BEGIN … COMMIT is honoured: a failure inside it rolls that part back.
    private func runAsWritten(_ step: StepRequest, entry: HistoryEntry, latency: Duration, on database: MemoryDatabase)
        throws(BackendError) -> HistoryEntry
    {
        var entry = entry
        entry.transactional = false
        entry = database.state.withLock { $0.append(entry) }
        let clockStart = ContinuousClock.now
        // The schema as it was at the script's own BEGIN, while that transaction is open.
        var ownTransaction: MemorySchema?
        var failureMessage: String?
        do throws(StepFailure) {
            try pause(latency, line: nil)
            let statements = MemorySQL.statements(in: step.sql)
            for (index, (line, parsed)) in statements.enumerated() {
                try checkCancelled(line: line)
                switch parsed {
                case .sleep(let duration):
                    try pause(duration, line: line)
                case .begin:
                    if ownTransaction == nil { ownTransaction = database.state.withLock { $0.schema } }
                case .commit:
                    ownTransaction = nil
                case .rollback:
                    if let saved = ownTransaction { database.state.withLock { $0.schema = saved } }
                    ownTransaction = nil
                default:
                    let failure = database.state.withLock { state -> MemorySQL.Failure? in
                        do throws(MemorySQL.Failure) {
                            try MemorySQL.apply(parsed, to: &state.schema)
                            return nil
                        } catch {
                            return error
                        }
                    }
                    if let failure {
                        let progress = StatementProgress(completed: index, total: statements.count, line: line)
                        throw StepFailure(message: "\(progress): \(failure.message)", cancelled: false)
                    }
                }
            }
            if ownTransaction != nil {
                throw StepFailure(
                    message: "the script left a transaction open (BEGIN without COMMIT); it was rolled back",
                    cancelled: false)
            }
        } catch {
            failureMessage = error.message
        }
        if let saved = ownTransaction {
            database.state.withLock { $0.schema = saved }
        }
        entry.executionMS = max(0, clockStart.duration(to: .now).milliseconds)
        entry.finishedAt = Date()
        if let failureMessage {
            entry.error = failureMessage
            let failed = entry
            database.state.withLock { $0.replace(failed) }
            throw stepFailed(step, failureMessage, dirty: true)
        }
        entry.success = true
        let completed = entry
        database.state.withLock { $0.replace(completed) }
        return completed
    }

    /// Why a script stopped.
    private struct StepFailure: Error {
        var message: String
        var cancelled: Bool
    }

    /// Simulated server time: bounded by the statement timeout, ended early by `cancel()`.
    private func pause(_ duration: Duration, line: Int?) throws(StepFailure) {
        guard duration > .zero else { return }
        let place = line.map { "line \($0): " } ?? ""
        switch signal.sleep(duration, timeout: timeouts.statementTimeout) {
        case .completed:
            return
        case .timedOut:
            throw StepFailure(
                message:
                    "\(place)ran longer than the statement timeout (\(timeouts.statementTimeout.milliseconds) ms) and was stopped; raise statement_timeout if it needs longer",
                cancelled: false)
        case .cancelled:
            throw StepFailure(message: "\(place)cancelled while running", cancelled: true)
        }
    }

    private func checkCancelled(line: Int) throws(StepFailure) {
        if signal.isCancelled { throw StepFailure(message: "line \(line): cancelled while running", cancelled: true) }
    }

    private func stepFailed(_ step: StepRequest, _ message: String, dirty: Bool) -> BackendError {
        logger.debug("step failed", metadata: ["target": "\(target.name)", "version": "\(step.version)"])
        return .stepFailed(
            target: target.name, version: step.version, kind: step.kind, message: message, sqlState: nil, dirty: dirty)
    }

    // MARK: Close

    package func close() {
        guard let database else { return }
        releaseLock(of: database)
        self.database = nil
    }

    private func openDatabase() throws(BackendError) -> MemoryDatabase {
        guard let database else { throw .closed(target: target.name) }
        return database
    }

    /// The database, for a change: refused on a read-only connection, as a real backend refuses.
    private func writableDatabase(_ operation: String) throws(BackendError) -> MemoryDatabase {
        let database = try openDatabase()
        guard access == .readWrite else { throw .readOnly(target: target.name, operation: operation) }
        return database
    }
}

/// Lets another thread stop the step a `MemoryConnection` runs. Thread-safe: a `Mutex` for the
/// flags, a semaphore to wake a simulated statement that is sleeping.
final class MemoryCancelSignal: StatementCanceller {
    enum SleepResult {
        case completed, timedOut, cancelled
    }

    private struct State {
        var running = false
        var cancelled = false
        /// A signal was sent and no sleep has consumed it yet.
        var signalPending = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    func cancel() {
        state.withLock { state in
            // A no-op between steps, like cancelling an idle server session.
            guard state.running, !state.cancelled else { return }
            state.cancelled = true
            state.signalPending = true
            wake.signal()
        }
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func begin() {
        state.withLock {
            $0.running = true
            $0.cancelled = false
        }
    }

    func end() {
        let drain = state.withLock { state in
            state.running = false
            defer { state.signalPending = false }
            return state.signalPending
        }
        // Leave the semaphore at zero so a later step does not wake at once.
        if drain { wake.wait() }
    }

    /// Sleeps for `duration`, or until `timeout` has passed (zero or less: no limit, as
    /// `statement_timeout = 0` in PostgreSQL), or until cancelled.
    func sleep(_ duration: Duration, timeout: Duration) -> SleepResult {
        if isCancelled { return .cancelled }
        let timeout = timeout > .zero ? timeout : duration
        let limit = min(duration, timeout)
        let nanoseconds = max(
            0, limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000)
        if wake.wait(timeout: .now() + .nanoseconds(Int(clamping: nanoseconds))) == .success {
            state.withLock { $0.signalPending = false }
            return .cancelled
        }
        if isCancelled { return .cancelled }
        return timeout < duration ? .timedOut : .completed
    }
}

/// Scratch databases for rehearsals in tests: a fresh `memory:` database per call, forgotten
/// on drop. Thread-safe value.
package struct MemoryScratchProvider: ScratchDatabaseProvider {
    package let store: MemoryStore

    package init(store: MemoryStore = MemoryStore()) {
        self.store = store
    }

    package var backend: any Backend { MemoryBackend(store: store) }
    package var location: String { "an in-memory database" }

    package func create() throws(BackendError) -> Target {
        Target(
            name: "scratch", environment: "rehearse",
            connection: .url("memory:rehearse-\(UInt64.random(in: 0...UInt64.max))"))
    }

    package func drop(_ target: Target) {
        store.removeDatabase(of: target)
    }
}

extension BackendKind {
    /// The in-memory test backend's kind: its databases are `memory:NAME` (the scheme names the
    /// kind; Tidemark's own code knows nothing of it).
    package static let memory = BackendKind(rawValue: "memory")
}
