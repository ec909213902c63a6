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
}
