import Synchronization
import TidemarkCore

/// The databases behind `memory:NAME` targets, with hooks for tests. Thread-safe: the directory
/// of databases is split over shards and each database sits behind its own `Mutex`, so
/// fleet-scale runs touching thousands of databases from many workers rarely wait for each
/// other (one shared directory lock cost a 10,000-target benchmark a sixth of its time in
/// contended `Mutex` slow paths on 2 cores).
///
/// `MemoryStore.shared` is what `MemoryBackend()` uses; tests that must not see each other's
/// databases make their own with `MemoryStore()`.
package final class MemoryStore: Sendable {
    /// The process-wide store.
    package static let shared = MemoryStore()

    private struct Directory {
        /// Backups by path: schema and history as they were (`MemoryBackend.backup`).
        var backups: [String: MemoryDatabase.State] = [:]
    }

    /// Databases by name, in the shard `shard(of:)` picks.
    private let shards: [DatabaseShard] = (0..<16).map { _ in DatabaseShard() }
    private let directory = Mutex(Directory())
    /// The default step latency in nanoseconds: read on every connect, so atomic, not locked.
    private let defaultLatencyNanoseconds = Atomic<Int64>(0)
    private let connectionCounter = Atomic<UInt64>(0)

    /// An empty store, independent of `shared`.
    package init() {}

    /// The database a target lives in: `memory:NAME`, combined with the target's schema when it
    /// has one (`NAME/SCHEMA`), so two schemas of one database are independent targets.
    package static func databaseName(of target: Target) throws(BackendError) -> String {
        let location = target.location
        guard case .other(scheme: "memory", let name) = location else {
            throw .unsupported(target: target.name, message: "not an in-memory target; use `url: memory:NAME`.")
        }
        if let problem = location.problem { throw .unsupported(target: target.name, message: problem) }
        return target.schema.map { "\(name)/\($0)" } ?? name
    }

    // MARK: Inspection

    /// The target's schema (tables, columns, indexes), or nil if nothing ever connected to it.
    package func schema(of target: Target) -> MemorySchema? {
        existingDatabase(of: target)?.state.withLock { $0.schema }
    }

    /// The target's table names, sorted; empty for an unknown database.
    package func tables(of target: Target) -> [String] {
        schema(of: target)?.tableNames ?? []
    }

    /// A table's columns in physical order, or nil when the table does not exist.
    package func columns(of table: String, in target: Target) -> [String]? {
        schema(of: target)?.tables[table]?.columns
    }

    /// Every history row, oldest first, whether or not the history table was created.
    package func history(of target: Target) -> [HistoryEntry] {
        existingDatabase(of: target)?.state.withLock { $0.history } ?? []
    }

    /// Whether some connection holds the target's migration lock.
    package func isLocked(_ target: Target) -> Bool {
        existingDatabase(of: target)?.state.withLock { $0.lockOwner != nil } ?? false
    }

    /// The names of every database the store holds, sorted.
    package var databaseNames: [String] {
        shards.flatMap { shard in shard.databases.withLock { Array($0.keys) } }.sorted()
    }

    // MARK: Test hooks

    /// Gives a target a starting schema and history (e.g. a fleet already at version 3), with the
    /// history table in place. Replaces what the database held.
    package func seed(_ target: Target, schema: MemorySchema = MemorySchema(), history: [HistoryEntry] = [])
        throws(BackendError)
    {
        let database = try database(of: target)
        database.state.withLock {
            $0.schema = schema
            $0.history = history.sorted { $0.id < $1.id }
            $0.nextID = ($0.history.last?.id ?? 0) + 1
            $0.historyTableExists = true
        }
    }

    /// Gives the target a table another tool keeps (`flyway_schema_history`, …) with these rows,
    /// as text; `name` may be `schema.table`. Replaces a table of that name.
    package func setForeignTable(_ name: String, columns: [String], rows: [[String?]], for target: Target)
        throws(BackendError)
    {
        try database(of: target).state.withLock { $0.foreignTables[name] = (columns, rows) }
    }

    /// The rows of a table set with `setForeignTable`, or nil.
    package func foreignRows(of name: String, in target: Target) -> [[String?]]? {
        existingDatabase(of: target)?.state.withLock { $0.foreignTables[name]?.rows }
    }

    /// Makes the next `count` connection attempts to the target fail; `transient` failures are the
    /// kind the executor retries.
    package func failNextConnections(to target: Target, count: Int, transient: Bool = true) throws(BackendError) {
        let database = try database(of: target)
        database.state.withLock {
            $0.pendingConnectFailures = max(0, count)
            $0.connectFailuresAreTransient = transient
        }
    }

    /// How many injected connection failures are still to come for the target.
    package func pendingConnectionFailures(for target: Target) -> Int {
        existingDatabase(of: target)?.state.withLock { $0.pendingConnectFailures } ?? 0
    }

    /// Adds artificial server time to every step run on the target (nil: back to the store's
    /// default). The latency counts against the statement timeout and can be cancelled.
    package func setStepLatency(_ latency: Duration?, for target: Target) throws(BackendError) {
        let database = try database(of: target)
        database.state.withLock { $0.stepLatency = latency }
    }

    /// Sets the catalog estimates the target's connections report (`estimatedRows(of:)`), by relation name.
    package func setEstimatedRows(_ rows: [String: Double], for target: Target) throws(BackendError) {
        let database = try database(of: target)
        database.state.withLock { $0.estimatedRows = rows }
    }

    /// Artificial server time for every step on databases without their own latency.
    package func setDefaultStepLatency(_ latency: Duration) {
        let nanoseconds = latency.components.seconds * 1_000_000_000 + latency.components.attoseconds / 1_000_000_000
        defaultLatencyNanoseconds.store(nanoseconds, ordering: .relaxed)
    }

    /// Forgets one target's database.
    package func removeDatabase(of target: Target) {
        guard let name = try? Self.databaseName(of: target) else { return }
        _ = shard(of: name).databases.withLock { $0.removeValue(forKey: name) }
    }

    /// Forgets every database and resets the default latency.
    package func removeAll() {
        for shard in shards { shard.databases.withLock { $0.removeAll() } }
        directory.withLock { $0 = Directory() }
        defaultLatencyNanoseconds.store(0, ordering: .relaxed)
    }

    // MARK: For the backend

    /// The target's database, created empty on first use (like a SQLite file).
    func database(of target: Target) throws(BackendError) -> MemoryDatabase {
        let name = try Self.databaseName(of: target)
        return shard(of: name).databases.withLock { databases in
            if let database = databases[name] { return database }
            let database = MemoryDatabase(name: name)
            databases[name] = database
            return database
        }
    }

    /// Keeps a copy of the target's schema and history under `path`.
    func saveBackup(of target: Target, at path: String) throws(BackendError) {
        let state = try database(of: target).state.withLock { $0 }
        directory.withLock { $0.backups[path] = state }
    }

    /// Puts the copy saved under `path` back; false when there is none.
    func restoreBackup(of target: Target, from path: String) throws(BackendError) -> Bool {
        guard let saved = directory.withLock({ $0.backups[path] }) else { return false }
        try database(of: target).state.withLock { state in
            let lockOwner = state.lockOwner
            state = saved
            state.lockOwner = lockOwner
        }
        return true
    }

    func defaultStepLatency() -> Duration {
        .nanoseconds(defaultLatencyNanoseconds.load(ordering: .relaxed))
    }

    func nextConnectionID() -> UInt64 {
        connectionCounter.add(1, ordering: .relaxed).newValue
    }

    private func existingDatabase(of target: Target) -> MemoryDatabase? {
        try? storedDatabase(of: target)
    }

    /// The target's database if something created it; never creates one (read-only connections).
    func storedDatabase(of target: Target) throws(BackendError) -> MemoryDatabase? {
        let name = try Self.databaseName(of: target)
        return shard(of: name).databases.withLock { $0[name] }
    }

    private func shard(of name: String) -> DatabaseShard {
        shards[Int(UInt(bitPattern: name.hashValue) % UInt(shards.count))]
    }
}

/// One part of a store's directory of databases. Thread-safe: its `Mutex`.
private final class DatabaseShard: Sendable {
    let databases = Mutex<[String: MemoryDatabase]>([:])
}

/// One in-memory database. Thread-safe: everything sits behind its `Mutex`.
final class MemoryDatabase: Sendable {
    struct State {
        var schema = MemorySchema()
        var historyTableExists = false
        var history: [HistoryEntry] = []
        var nextID: Int64 = 1
        /// The connection holding the migration lock.
        var lockOwner: UInt64?
        var pendingConnectFailures = 0
        var connectFailuresAreTransient = true
        var stepLatency: Duration?
        /// What `estimatedRows(of:)` answers, by relation name (set by tests).
        var estimatedRows: [String: Double] = [:]
        /// Tables another tool keeps (a foreign history), by `ForeignTable.qualifiedName`: their
        /// columns and rows as text (set by tests; the dialect stores no rows).
        var foreignTables: [String: (columns: [String], rows: [[String?]])] = [:]

        /// Appends a row, giving it the next id; returns the row as stored.
        mutating func append(_ entry: HistoryEntry) -> HistoryEntry {
            var entry = entry
            entry.id = nextID
            nextID += 1
            // Room for one more row at a time while histories are short (a fleet of 100,000 targets
            // keeps 100,000 of them; doubling growth left a third of each unused), doubling beyond.
            if history.count == history.capacity {
                history.reserveCapacity(history.count < 16 ? history.count + 1 : history.count * 2)
            }
            history.append(entry)
            return entry
        }

        /// Replaces the row with `entry.id` (rows are appended in id order, so it is near the end).
        mutating func replace(_ entry: HistoryEntry) {
            if let index = history.lastIndex(where: { $0.id == entry.id }) { history[index] = entry }
        }
    }

    let name: String
    let state: Mutex<State>

    init(name: String) {
        self.name = name
        state = Mutex(State())
    }
}
