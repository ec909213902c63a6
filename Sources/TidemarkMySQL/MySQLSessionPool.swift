import Foundation
import TidemarkCore

/// Sessions shared by MySQL targets that differ only in database (docs/tenants.md#on-mysql-and-mariadb):
/// at most `per_server` sessions open on one server (host and port, or socket) at once, whatever
/// the concurrency; a session that served one target is reset (`mysql_reset_connection`) and
/// serves the next target with the same connection settings (user, password, option files, TLS).
///
/// Thread-safe: the state sits behind one `NSCondition`, which also lets a worker wait for a
/// session. A `MySQLHandle` is handed from the thread that released it to the one that takes it
/// through that lock, and is never used by two threads at once: in the pool it is idle, taken it
/// belongs to one `MySQLConnection` (or one batched history read), used by one worker. That
/// hand-off is why the box is `@unchecked Sendable`.
final class MySQLSessionPool: @unchecked Sendable {
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

    private struct Server {
        var inUse = 0
        var idle: [SessionKey: [MySQLHandle]] = [:]
        var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }
    }

    private let condition = NSCondition()
    private var servers: [ServerKey: Server] = [:]

    init() {}

    static func keys(of options: MySQLConnectOptions) -> (SessionKey, ServerKey) {
        var url = options.url
        url.database = nil
        let session = SessionKey(
            url: url, password: options.password, optionFile: options.optionFile, optionGroup: options.optionGroup)
        let host = options.url.socket.map { "socket=\($0)" } ?? options.url.host ?? "localhost"
        return (session, ServerKey(host: host, port: options.url.port ?? 3306))
    }

    /// A session for `options`: an idle one with the same settings, else a new one while the
    /// server has fewer than `limit` open, else (closing an idle session of other settings on the
    /// same server first) the first one released. Blocks while the server is at its limit.
    func take(_ options: MySQLConnectOptions, limit: Int) throws(MySQLFailure) -> MySQLHandle {
        let (sessionKey, serverKey) = Self.keys(of: options)
        let limit = max(1, limit)
        var closing: [MySQLHandle] = []
        condition.lock()
        while true {
            var server = servers[serverKey] ?? Server()
            if var idle = server.idle[sessionKey], let session = idle.popLast() {
                server.idle[sessionKey] = idle.isEmpty ? nil : idle
                server.inUse += 1
                servers[serverKey] = server
                condition.unlock()
                return session
            }
            if server.inUse + server.idleCount < limit {
                server.inUse += 1
                servers[serverKey] = server
                break
            }
            if let other = server.idle.first(where: { !$0.value.isEmpty })?.key, var idle = server.idle[other],
                let surplus = idle.popLast()
            {
                closing.append(surplus)
                server.idle[other] = idle.isEmpty ? nil : idle
                server.inUse += 1
                servers[serverKey] = server
                break
            }
            condition.wait()
        }
        condition.unlock()
        closing.removeAll() // mysql_close of a surplus idle session, outside the lock
        do {
            return try MySQLHandle.connect(options)
        } catch {
            giveBack(nil, options: options)
            throw error
        }
    }

    /// Returns a session taken with `take`: reset and kept for the next target when it is
    /// healthy, closed otherwise (a broken session fails only the target it served).
    func giveBack(_ session: MySQLHandle?, options: MySQLConnectOptions) {
        var kept = session
        if let session {
            if session.isBroken {
                kept = nil
            } else {
                do {
                    // The GET_LOCK lock, an open transaction, session variables, temporary
                    // tables: nothing of one target's session reaches the next.
                    try session.reset()
                } catch {
                    kept = nil
                }
            }
        }
        let (sessionKey, serverKey) = Self.keys(of: options)
        condition.lock()
        var server = servers[serverKey] ?? Server()
        server.inUse = max(0, server.inUse - 1)
        if let kept { server.idle[sessionKey, default: []].append(kept) }
        servers[serverKey] = server
        condition.broadcast()
        condition.unlock()
    }
}
