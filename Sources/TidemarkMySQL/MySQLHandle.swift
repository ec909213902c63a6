import CMariaDB
import Foundation
import TidemarkCore

/// One row of a result: each column as text, nil for SQL NULL.
typealias MySQLRow = [String?]

/// What the server or the client library said went wrong. Thread-safe value.
struct MySQLFailure: Error, Sendable {
    /// The server's error number (1146: no such table), or the client's (2013: lost).
    var code: UInt32
    var sqlState: String?
    var message: String

    /// Whether the connection is gone (the server closed it, the network failed).
    var connectionLost: Bool { [2006, 2013, 2055, 2002, 2003, 4031].contains(code) }

    /// A lock wait gave up (1205) or InnoDB chose this transaction as a deadlock victim (1213).
    var isLockWait: Bool { code == 1205 || code == 1213 }

    /// The statement was cancelled (`KILL QUERY`: 1317) or ran past `max_statement_time` (1969).
    var isInterrupted: Bool { code == 1317 || code == 1969 }

    /// The state Tidemark reports: a lock wait as `MYSQL_1205` or `MYSQL_1213` (their SQLSTATEs,
    /// HY000 and 40001, say less), so the executor knows a rolled-back step may be retried.
    var reportedState: String? { isLockWait ? "MYSQL_\(code)" : sqlState }

    /// `message (MySQL error 1146)`.
    var fullMessage: String { "\(message) (MySQL error \(code))" }
}

/// What a connection needs to reach its server: the parsed URL and the target's settings.
/// Thread-safe value, so a canceller can open its own connection with it.
struct MySQLConnectOptions: Sendable {
    var url: MySQLURL
    var password: String?
    var optionFile: String?
    var optionGroup: String?
    var connectTimeoutSeconds: UInt32
}

/// A Connector/C handle and the calls Tidemark makes on it.
///
/// Not thread-safe, and deliberately not `Sendable`: a `MYSQL` handle must be used by one thread
/// at a time (the executor's worker that opened it). Owns the handle: `mysql_close` runs in
/// `deinit`.
final class MySQLHandle {
    private let handle: UnsafeMutablePointer<MYSQL>

    private init(handle: UnsafeMutablePointer<MYSQL>) {
        self.handle = handle
    }

    deinit {
        mysql_close(handle)
    }

    /// Opens a connection. Blocks for at most the connect timeout (per address tried).
    ///
    /// Option files are read first (the client library reads them inside `mysql_real_connect`);
    /// what the URL names is passed to `mysql_real_connect` itself, so it wins over them.
    static func connect(_ options: MySQLConnectOptions) throws(MySQLFailure) -> MySQLHandle {
        guard let handle = mysql_init(nil) else {
            throw MySQLFailure(
                code: 2008, sqlState: nil, message: "Connector/C could not allocate a connection (out of memory)")
        }
        _ = tidemark_mysql_set_uint(handle, MYSQL_OPT_CONNECT_TIMEOUT, options.connectTimeoutSeconds)
        if let file = options.optionFile { _ = tidemark_mysql_set_string(handle, MYSQL_READ_DEFAULT_FILE, file) }
        if options.optionFile != nil || options.optionGroup != nil {
            // A group alone reads the client library's default files under that group.
            _ = tidemark_mysql_set_string(handle, MYSQL_READ_DEFAULT_GROUP, options.optionGroup ?? "client")
        } else if options.password == nil {
            // docs/mysql.md#targets: no password from the URL or password_env: the [client]
            // group of the client's default files (~/.my.cnf among them), as the mysql client
            // reads it. The URL still wins for what it names.
            _ = tidemark_mysql_set_string(handle, MYSQL_READ_DEFAULT_GROUP, "client")
        }
        let url = options.url
        if let charset = url.charset { _ = tidemark_mysql_set_string(handle, MYSQL_SET_CHARSET_NAME, charset) }
        switch url.effectiveSSLMode {
        case .disabled:
            break
        case .preferred:
            // TLS when offered: Connector/C falls back to plain when the server has none.
            mysql_ssl_set(handle, nil, nil, nil, nil, nil)
        case .required:
            mysql_ssl_set(handle, nil, nil, nil, nil, nil)
            _ = tidemark_mysql_set_bool(handle, MYSQL_OPT_SSL_ENFORCE, 1)
        case .verifyCA, .verifyIdentity: // Connector/C checks the chain and the host name together
            mysql_ssl_set(handle, nil, nil, nil, nil, nil)
            _ = tidemark_mysql_set_bool(handle, MYSQL_OPT_SSL_ENFORCE, 1)
            _ = tidemark_mysql_set_bool(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, 1)
        }
        if url.socket != nil {
            _ = tidemark_mysql_set_uint(handle, MYSQL_OPT_PROTOCOL, UInt32(MYSQL_PROTOCOL_SOCKET.rawValue))
        }
        let connected = mysql_real_connect(
            handle, url.host, url.user, options.password, nil, UInt32(url.port ?? 0), url.socket,
            TIDEMARK_CLIENT_MULTI_RESULTS)
        guard connected != nil else {
            let failure = Self.failure(of: handle)
            mysql_close(handle)
            throw failure
        }
        // Connector/C 3.3 falls back to plain text when the server offers no TLS even with
        // MYSQL_OPT_SSL_ENFORCE (measured against MariaDB 10.11 without certificates), so
        // REQUIRED is enforced here: no cipher, no connection.
        if url.effectiveSSLMode == .required, mysql_get_ssl_cipher(handle) == nil {
            mysql_close(handle)
            throw MySQLFailure(
                code: 2026, sqlState: "HY000",
                message:
                    "ssl-mode=REQUIRED, but the server did not use TLS (it does not offer it); enable TLS on the server or use ssl-mode=PREFERRED"
            )
        }
        // The URL's charset wins over one an option file set while connecting.
        if let charset = url.charset, mysql_set_character_set(handle, charset) != 0 {
            let failure = Self.failure(of: handle)
            mysql_close(handle)
            throw failure
        }
        return MySQLHandle(handle: handle)
    }

    /// `10.11.19-MariaDB-0+deb12u1` or `8.0.36`.
    var serverVersion: String { mysql_get_server_info(handle).map { String(cString: $0) } ?? "" }

    /// The session's id on the server, for `KILL QUERY`.
    var threadID: UInt { UInt(mysql_thread_id(handle)) }

    /// Set once a call failed because the connection is gone: a shared session that broke is
    /// closed, never handed to another target.
    private(set) var isBroken = false

    /// Runs one statement and returns the rows of its first result set (empty when it returns
    /// none); the further results of a `CALL` are read and dropped.
    @discardableResult
    func query(_ sql: String) throws(MySQLFailure) -> [MySQLRow] {
        try queryWithColumns(sql).rows
    }

    /// `query`, with the first result set's column names (a catalog query's rows become JSON
    /// objects by them).
    func queryWithColumns(_ sql: String) throws(MySQLFailure) -> (columns: [String], rows: [MySQLRow]) {
        let bytes = Array(sql.utf8)
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                mysql_real_query(handle, chars.baseAddress, UInt(chars.count))
            }
        }
        guard status == 0 else { throw failure() }
        var rows: [MySQLRow] = []
        var columns: [String] = []
        var first = true
        while true {
            if let result = mysql_store_result(handle) {
                if first {
                    rows = Self.rows(of: result)
                    columns = Self.columns(of: result)
                }
                mysql_free_result(result)
            } else if mysql_field_count(handle) != 0 {
                throw failure()
            }
            first = false
            let next = mysql_next_result(handle)
            if next == -1 { break }
            if next > 0 { throw failure() }
        }
        return (columns, rows)
    }

    /// `mysql_reset_connection`: rolls back an open transaction, releases `GET_LOCK` locks and
    /// table locks, drops temporary tables and prepared statements, and sets the session's
    /// variables back to the server's defaults, without a new connection.
    func reset() throws(MySQLFailure) {
        guard mysql_reset_connection(handle) == 0 else { throw failure() }
    }

    private func failure() -> MySQLFailure {
        let failure = Self.failure(of: handle)
        if failure.connectionLost { isBroken = true }
        return failure
    }

    private static func columns(of result: UnsafeMutablePointer<MYSQL_RES>) -> [String] {
        let count = Int(mysql_num_fields(result))
        guard let fields = mysql_fetch_fields(result) else { return [] }
        return (0..<count).map { fields[$0].name.map { String(cString: $0) } ?? "" }
    }

    /// Runs one statement and returns its first result set's rows keyed by column name
    /// (`SHOW REPLICA STATUS`, whose columns differ by server and version).
    func namedRows(_ sql: String) throws(MySQLFailure) -> [[String: String?]] {
        let bytes = Array(sql.utf8)
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                mysql_real_query(handle, chars.baseAddress, UInt(chars.count))
            }
        }
        guard status == 0 else { throw Self.failure(of: handle) }
        guard let result = mysql_store_result(handle) else {
            if mysql_field_count(handle) != 0 { throw Self.failure(of: handle) }
            return []
        }
        defer { mysql_free_result(result) }
        var names: [String] = []
        if let fields = mysql_fetch_fields(result) {
            for index in 0..<Int(mysql_num_fields(result)) {
                names.append(fields[index].name.map { String(cString: $0) } ?? "")
            }
        }
        return Self.rows(of: result).map { row in
            var named: [String: String?] = [:]
            for (index, name) in names.enumerated() where index < row.count { named[name] = row[index] }
            return named
        }
    }

    private static func rows(of result: UnsafeMutablePointer<MYSQL_RES>) -> [MySQLRow] {
        let columns = Int(mysql_num_fields(result))
        var rows: [MySQLRow] = []
        while let row = mysql_fetch_row(result) {
            guard let lengths = mysql_fetch_lengths(result) else { break }
            rows.append(
                (0..<columns).map { column -> String? in
                    guard let value = row[column] else { return nil }
                    let buffer = UnsafeRawBufferPointer(start: value, count: Int(lengths[column]))
                    return String(decoding: buffer, as: UTF8.self)
                })
        }
        return rows
    }

    private static func failure(of handle: UnsafeMutablePointer<MYSQL>) -> MySQLFailure {
        let code = mysql_errno(handle)
        let state = mysql_sqlstate(handle).map { String(cString: $0) }
        let message = mysql_error(handle).map { String(cString: $0) } ?? ""
        return MySQLFailure(
            code: code, sqlState: state == "00000" ? nil : state,
            message: message.isEmpty ? "MySQL error \(code)" : message)
    }
}
