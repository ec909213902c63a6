import TidemarkCore

/// A connection that forwards every call to another one. Tests subclass it and override only
/// what they change: a defect to catch, a meter around steps. When `BackendConnection` gains a
/// requirement, this is the one wrapper to extend.
///
/// Not thread-safe, like the connection it wraps; `canceller` may be used from other threads.
open class ForwardingConnection: BackendConnection {
    /// The connection every call goes to.
    public let base: any BackendConnection

    public init(base: any BackendConnection) {
        self.base = base
    }

    open var target: Target { base.target }
    open var canceller: any StatementCanceller { base.canceller }
    open func tryLock(timeout: Duration) throws(BackendError) -> Bool { try base.tryLock(timeout: timeout) }
    open func unlock() throws(BackendError) { try base.unlock() }
    open func ensureHistoryTable() throws(BackendError) { try base.ensureHistoryTable() }
    open func readHistory() throws(BackendError) -> [HistoryEntry] { try base.readHistory() }
    open func estimatedRows(of relations: [String]) throws(BackendError) -> [String: Double] {
        try base.estimatedRows(of: relations)
    }
    @discardableResult
    open func readRows(of table: ForeignTable) throws(BackendError) -> [[String?]]? { try base.readRows(of: table) }
    open func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry { try base.run(step) }
    open func verify(_ request: VerifyRequest) throws(BackendError) { try base.verify(request) }
    open func fingerprint() throws(BackendError) -> SchemaFingerprint { try base.fingerprint() }
    open func close() { base.close() }
    open func batchTable(_ spec: BatchSpec) throws(BackendError) -> BatchTable { try base.batchTable(spec) }
    open func batchEnd(_ spec: BatchSpec, from start: Int64) throws(BackendError) -> Int64? { try base.batchEnd(spec, from: start) }
    open func beginBatchedStep(_ step: StepRequest, from checkpoint: BatchCheckpoint) throws(BackendError) -> HistoryEntry {
        try base.beginBatchedStep(step, from: checkpoint)
    }
    open func runBatch(_ step: StepRequest, row: Int64, start: Int64, end: Int64) throws(BackendError) -> Int64 {
        try base.runBatch(step, row: row, start: start, end: end)
    }
    open func finishBatchedStep(row: Int64, success: Bool, executionMS: Int64, error: String?) throws(BackendError) -> HistoryEntry {
        try base.finishBatchedStep(row: row, success: success, executionMS: executionMS, error: error)
    }
    open func replicationLag() throws(BackendError) -> ReplicationLag { try base.replicationLag() }
}
