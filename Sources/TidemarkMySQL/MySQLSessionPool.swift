import Foundation
import TidemarkCore
import TidemarkSessions

/// Sessions shared by MySQL targets that differ only in database (docs/tenants.md#on-mysql-and-mariadb):
/// at most `per_server` sessions open on one server (host and port, or socket) at once, whatever
/// the concurrency; a session that served one target is reset (`mysql_reset_connection`) and
/// serves the next target with the same connection settings (user, password, option files, TLS).
///
/// The pooling itself is `SessionPool`'s, shared with PostgreSQL; a `MySQLHandle` taken from it
/// belongs to one `MySQLConnection` (or one batched history read), used by one worker. Thread-safe.
final class MySQLSessionPool: Sendable {
    /// Which sessions can serve a target: everything the connection was opened with (the
    /// database is never part of it: it is chosen per target with `USE`).
    struct SessionKey: Hashable {
        var url: MySQLURL
        var password: String?
        var optionFile: String?
        var optionGroup: String?
    }

    /// What `per_server` counts: host and port as parsed, or the socket.
    struct ServerKey: Hashable {
        var host: String
        var port: Int
    }

    private let pool = SessionPool<SessionKey, ServerKey, MySQLHandle>()

    init() {}

    static func keys(of options: MySQLConnectOptions) -> (SessionKey, ServerKey) {
        var url = options.url
        url.database = nil
        let session = SessionKey(
            url: url, password: options.password, optionFile: options.optionFile, optionGroup: options.optionGroup)
        let host = options.url.socket.map { "socket=\($0)" } ?? options.url.host ?? "localhost"
        return (session, ServerKey(host: host, port: options.url.port ?? 3306))
    }

    /// A session for `options`, at most `limit` open on its server (`SessionPool.take`).
    func take(_ options: MySQLConnectOptions, limit: Int) throws(MySQLFailure) -> MySQLHandle {
        let (sessionKey, serverKey) = Self.keys(of: options)
        return try pool.take(sessionKey, on: serverKey, limit: limit) { () throws(MySQLFailure) in
            try MySQLHandle.connect(options)
        }
    }

    /// Returns a session taken with `take`: reset and kept for the next target when it is
    /// healthy, closed otherwise (a broken session fails only the target it served).
    func giveBack(_ session: MySQLHandle?, options: MySQLConnectOptions) {
        let (sessionKey, serverKey) = Self.keys(of: options)
        pool.giveBack(session, sessionKey, on: serverKey) { session in
            guard !session.isBroken else { return false }
            do {
                // The GET_LOCK lock, an open transaction, session variables, temporary tables:
                // nothing of one target's session reaches the next.
                try session.reset()
                return true
            } catch {
                return false
            }
        }
    }
}
