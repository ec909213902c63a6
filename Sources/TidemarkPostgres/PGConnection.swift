import CLibPQ
import Foundation
import Logging

/// One row of a query result: each column in libpq's text format, nil for SQL NULL.
typealias PGRow = [String?]

/// A libpq connection handle and the calls Tidemark makes on it: the base that the backend,
/// and later the fingerprint and backup code, build on.
///
/// Not thread-safe, and deliberately not `Sendable`: a `PGconn` must be used by one thread at a
/// time (the executor's worker that opened it). Only `canceller` may be used from other threads.
/// Owns the handle: `PQfinish` runs in `deinit`.
final class PGConnection {
    private let handle: OpaquePointer
    /// libpq keeps only an unretained pointer to the sink, so this object keeps it alive until
    /// `PQfinish` has run (`deinit` runs before stored properties are released).
    private let notices: NoticeSink
    /// Cancels the running statement from another thread; invalidated when the handle closes.
    let canceller: PostgresCanceller

    /// Takes ownership of a connected `PGconn`.
    init(handle: OpaquePointer, logger: Logger) {
        self.handle = handle
        self.notices = NoticeSink(logger: logger)
        self.canceller = PostgresCanceller(cancel: PQgetCancel(handle), logger: logger)
        // Without a receiver libpq prints notices to stderr, which would tear the progress display.
        PQsetNoticeReceiver(handle, receiveNotice, Unmanaged.passUnretained(notices).toOpaque())
    }

    deinit {
        canceller.invalidate()
        PQfinish(handle)
    }

    /// Opens a connection with `PQconnectdbParams` and the keywords libpq's parser read from the
    /// connection string (`expand_dbname=0`: it was parsed once already). Blocks for at most the
    /// `connect_timeout` in `parameters` per host. The error carries libpq's message as is: the
    /// caller redacts it and names the target.
    static func connect(_ parameters: ConnectParameters, logger: Logger) throws(PGError) -> PGConnection {
        if let problem = parameters.problem {
            throw PGError(message: problem, connectionLost: true)
        }
        // libpq wants NULL-terminated arrays of C strings; strdup gives them stable addresses.
        let keywords = parameters.pairs.map { strdup($0.keyword) }
        let values = parameters.pairs.map { strdup($0.value) }
        defer {
            for keyword in keywords { free(keyword) }
            for value in values { free(value) }
        }
        let keywordArray: [UnsafePointer<CChar>?] = keywords.map { $0.map { UnsafePointer($0) } } + [nil]
        let valueArray: [UnsafePointer<CChar>?] = values.map { $0.map { UnsafePointer($0) } } + [nil]
        let connected = keywordArray.withUnsafeBufferPointer { keywordBuffer in
            valueArray.withUnsafeBufferPointer { valueBuffer in
                PQconnectdbParams(keywordBuffer.baseAddress, valueBuffer.baseAddress, 0)
            }
        }
        guard let handle = connected else {
            throw PGError(message: "libpq could not allocate a connection (out of memory)", connectionLost: true)
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = PGError.clean(PQerrorMessage(handle))
            PQfinish(handle)
            throw PGError(message: message.isEmpty ? "connection failed" : message, connectionLost: true)
        }
        return PGConnection(handle: handle, logger: logger)
    }

    /// The server version as libpq reports it (150004 for 15.4).
    var serverVersion: Int { Int(PQserverVersion(handle)) }

    var transactionStatus: PGTransactionStatusType { PQtransactionStatus(handle) }

    /// Whether a transaction block is open on the session (idle in it, or aborted by an error).
    var inTransactionBlock: Bool {
        let status = transactionStatus
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Whether the connection is gone (server closed it, network failure).
    var isBroken: Bool { PQstatus(handle) == CONNECTION_BAD }

    /// Runs `sql` with the simple query protocol, as one query string like `PQexec`: it may hold
    /// several statements, which the server runs in order, stopping at the first error (and, without
    /// an explicit `BEGIN`, as one implicit transaction). Returns the rows of the last statement
    /// that returned any.
    @discardableResult
    func execute(_ sql: String) throws(PGError) -> [PGRow] {
        // PQsendQuery + PQgetResult is what PQexec does, but it also lets a COPY inside the script
        // be ended instead of leaving the connection stuck in COPY mode.
        guard PQsendQuery(handle, sql) == 1 else { throw PGError(result: nil, connection: handle) }
        return try collectResults()
    }

    /// Runs one statement whose values travel as parameters `$1…` (never spliced into the SQL).
    @discardableResult
    func query(_ sql: String, _ parameters: [String?] = []) throws(PGError) -> [PGRow] {
        let copies: [UnsafeMutablePointer<CChar>?] = parameters.map { value in value.flatMap { strdup($0) } }
        defer { for copy in copies { free(copy) } }
        let values: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
        let sent = values.withUnsafeBufferPointer { buffer in
            PQsendQueryParams(handle, sql, Int32(buffer.count), nil, buffer.baseAddress, nil, nil, 0)
        }
        guard sent == 1 else { throw PGError(result: nil, connection: handle) }
        return try collectResults()
    }

    /// The rows the last statement of the last query changed (`PQcmdTuples`: UPDATE, DELETE,
    /// INSERT); 0 for statements that report none.
    private(set) var affectedRows: Int64 = 0

    /// Reads every result of the query just sent; the first error wins, as in PQexec.
    private func collectResults() throws(PGError) -> [PGRow] {
        var rows: [PGRow] = []
        affectedRows = 0
        var failure: PGError?
        var completed = 0 // one final result per statement; COPY's intermediate ones not counted
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            let status = PQresultStatus(result)
            switch status {
            case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
                rows = Self.rows(of: result)
                affectedRows = PQcmdTuples(result).flatMap { Int64(String(cString: $0)) } ?? 0
                completed += 1
            case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                affectedRows = PQcmdTuples(result).flatMap { Int64(String(cString: $0)) } ?? 0
                completed += 1
            case PGRES_COPY_IN, PGRES_COPY_BOTH:
                // A script has no data to feed: end the COPY with an error so the statement fails.
                PQputCopyEnd(handle, "Tidemark does not feed COPY FROM STDIN; use INSERT or COPY FROM a server file")
            case PGRES_COPY_OUT:
                drainCopyOut()
            default:
                if failure == nil {
                    failure = PGError(result: result, connection: handle)
                    failure?.completedStatements = completed
                }
            }
        }
        if let failure { throw failure }
        if isBroken { throw PGError(result: nil, connection: handle) }
        return rows
    }

    /// Reads and drops the rows of a `COPY … TO STDOUT`; a migration has nowhere to put them.
    private func drainCopyOut() {
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let count = PQgetCopyData(handle, &buffer, 0)
            if let buffer { PQfreemem(buffer) }
            if count < 0 { return } // -1: done, -2: error, reported by the next PQgetResult
        }
    }

    private static func rows(of result: OpaquePointer) -> [PGRow] {
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        return (0..<rowCount).map { row in
            (0..<columnCount).map { column -> String? in
                guard PQgetisnull(result, row, column) == 0, let value = PQgetvalue(result, row, column) else {
                    return nil
                }
                return String(cString: value)
            }
        }
    }
}

/// Logs the server's notices for one connection. Not thread-safe: libpq calls it on the
/// connection's own thread, from inside the call that received the notice.
final class NoticeSink {
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func receive(_ result: OpaquePointer) {
        let severity = PGError.field(result, TIDEMARK_PG_DIAG_SEVERITY_NONLOCALIZED) ?? "NOTICE"
        let message =
            PGError.field(result, TIDEMARK_PG_DIAG_MESSAGE_PRIMARY) ?? PGError.clean(PQresultErrorMessage(result))
        var metadata: Logger.Metadata = ["postgres.severity": "\(severity)"]
        if let state = PGError.field(result, TIDEMARK_PG_DIAG_SQLSTATE) { metadata["postgres.sqlstate"] = "\(state)" }
        if let detail = PGError.field(result, TIDEMARK_PG_DIAG_MESSAGE_DETAIL) {
            metadata["postgres.detail"] = "\(detail)"
        }
        if let hint = PGError.field(result, TIDEMARK_PG_DIAG_MESSAGE_HINT) { metadata["postgres.hint"] = "\(hint)" }
        // A WARNING is something an operator should see; NOTICE/INFO chatter ("… does not exist,
        // skipping") is routine in idempotent scripts and stays at debug.
        logger.log(level: severity == "WARNING" ? .notice : .debug, "\(message)", metadata: metadata)
    }
}

/// libpq's notice receiver: a C function, so the sink travels as an unretained context pointer.
private func receiveNotice(_ context: UnsafeMutableRawPointer?, _ result: OpaquePointer?) {
    guard let context, let result else { return }
    Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue().receive(result)
}
