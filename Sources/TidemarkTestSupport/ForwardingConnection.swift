import TidemarkCore

/// A connection that forwards every call to another one. Test types conform and implement only
/// what they change (a defect to catch, a meter around steps); the rest forwards to `base`. When
/// `BackendConnection` gains a requirement, this extension is the one wrapper to extend.
///
/// Not thread-safe, like the connection it wraps; `canceller` may be used from other threads.
package protocol ForwardingConnection: BackendConnection {
    /// The connection every call goes to.
    var base: any BackendConnection { get }
}

extension ForwardingConnection {
    package var target: Target { base.target }
    package var canceller: any StatementCanceller { base.canceller }
    package func tryLock(timeout: Duration) throws(BackendError) -> Bool { try base.tryLock(timeout: timeout) }
    package func unlock() throws(BackendError) { try base.unlock() }
    package func ensureHistoryTable() throws(BackendError) { try base.ensureHistoryTable() }
    package func readHistory() throws(BackendError) -> [HistoryEntry] { try base.readHistory() }
    package func estimatedRows(of relations: [String]) throws(BackendError) -> [String: Double] {
        try base.estimatedRows(of: relations)
    }
    @discardableResult
    package func readRows(of table: ForeignTable) throws(BackendError) -> [[String?]]? { try base.readRows(of: table) }
    package func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry { try base.run(step) }
    package func verify(_ request: VerifyRequest) throws(BackendError) { try base.verify(request) }
    package func fingerprint() throws(BackendError) -> SchemaFingerprint { try base.fingerprint() }
    package func close() { base.close() }
    package var databaseServer: DatabaseServer? { base.databaseServer }
    package func batchTable(_ spec: BatchSpec) throws(BackendError) -> BatchTable { try base.batchTable(spec) }
    package func batchEnd(_ spec: BatchSpec, from start: Int64) throws(BackendError) -> Int64? {
        try base.batchEnd(spec, from: start)
    }
    package func beginBatchedStep(_ step: StepRequest, from checkpoint: BatchCheckpoint) throws(BackendError)
        -> HistoryEntry
    {
        try base.beginBatchedStep(step, from: checkpoint)
    }
    package func runBatch(_ step: StepRequest, row: Int64, start: Int64, end: Int64) throws(BackendError) -> Int64 {
        try base.runBatch(step, row: row, start: start, end: end)
    }
    package func finishBatchedStep(row: Int64, success: Bool, executionMS: Int64, error: String?) throws(BackendError)
        -> HistoryEntry
    {
        try base.finishBatchedStep(row: row, success: success, executionMS: executionMS, error: error)
    }
    package func replicationLag() throws(BackendError) -> ReplicationLag { try base.replicationLag() }
}
