import TidemarkCore

/// A connection that forwards every call to another one. Test types conform and implement only
/// what they change (a defect to catch, a meter around steps); the rest forwards to `base`. When
/// `BackendConnection` gains a requirement, this extension is the one wrapper to extend.
///
/// Not thread-safe, like the connection it wraps; `canceller` may be used from other threads.
public protocol ForwardingConnection: BackendConnection {
    /// The connection every call goes to.
    var base: any BackendConnection { get }
}

extension ForwardingConnection {
    public var target: Target { base.target }
    public var canceller: any StatementCanceller { base.canceller }
    public func tryLock(timeout: Duration) throws(BackendError) -> Bool { try base.tryLock(timeout: timeout) }
    public func unlock() throws(BackendError) { try base.unlock() }
    public func ensureHistoryTable() throws(BackendError) { try base.ensureHistoryTable() }
    public func readHistory() throws(BackendError) -> [HistoryEntry] { try base.readHistory() }
    public func estimatedRows(of relations: [String]) throws(BackendError) -> [String: Double] {
        try base.estimatedRows(of: relations)
    }
    @discardableResult
    public func readRows(of table: ForeignTable) throws(BackendError) -> [[String?]]? { try base.readRows(of: table) }
    public func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry { try base.run(step) }
    public func verify(_ request: VerifyRequest) throws(BackendError) { try base.verify(request) }
    public func fingerprint() throws(BackendError) -> SchemaFingerprint { try base.fingerprint() }
    public func close() { base.close() }
    public var databaseServer: DatabaseServer? { base.databaseServer }
    public func batchTable(_ spec: BatchSpec) throws(BackendError) -> BatchTable { try base.batchTable(spec) }
    public func batchEnd(_ spec: BatchSpec, from start: Int64) throws(BackendError) -> Int64? { try base.batchEnd(spec, from: start) }
    public func beginBatchedStep(_ step: StepRequest, from checkpoint: BatchCheckpoint) throws(BackendError) -> HistoryEntry {
        try base.beginBatchedStep(step, from: checkpoint)
    }
    public func runBatch(_ step: StepRequest, row: Int64, start: Int64, end: Int64) throws(BackendError) -> Int64 {
        try base.runBatch(step, row: row, start: start, end: end)
    }
    public func finishBatchedStep(row: Int64, success: Bool, executionMS: Int64, error: String?) throws(BackendError) -> HistoryEntry {
        try base.finishBatchedStep(row: row, success: success, executionMS: executionMS, error: error)
    }
    public func replicationLag() throws(BackendError) -> ReplicationLag { try base.replicationLag() }
}
