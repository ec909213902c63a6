import CLibPQ
import Foundation
import Logging

/// Sessions shared by targets that differ only in schema (docs/tenants.md#shared-sessions-per-server):
/// at most `per_server` sessions open on one server (host and port) at once, whatever the
/// concurrency; a session that served one target is reset (`DISCARD ALL`) and serves the next
/// target with the same connection settings (database, user, password).
///
/// Thread-safe: the state sits behind one `NSCondition`, which also lets a worker wait for a
/// session. A `PGConnection` is handed from the thread that released it to the one that takes it
/// through that lock, and is never used by two threads at once: in the pool it is idle, taken it
/// belongs to one `PostgresConnection`, used by one worker. That hand-off is why the box is
/// `@unchecked Sendable`.
final class PostgresSessionPool: @unchecked Sendable {
    /// Which sessions can serve a target: every connection keyword but the schema (which is
    /// never one: it is set per target).
    struct SessionKey: Hashable {
        var pairs: [ConnectParameters.Pair]
    }

    /// What `per_server` counts: host and port as parsed, or the service name.
    struct ServerKey: Hashable {
        var host: String
        var port: String
    }

    private struct Server {
        var inUse = 0
        var idle: [SessionKey: [PGConnection]] = [:]
        var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }
    }

    private let condition = NSCondition()
    private var servers: [ServerKey: Server] = [:]
    /// The most sessions one server had open at once: what tests and the benchmark read.
    private(set) var highWater: [ServerKey: Int] = [:]

    init() {}

    static func keys(of parameters: ConnectParameters) -> (SessionKey, ServerKey) {
        let pairs = parameters.pairs
        func value(_ keyword: String) -> String { pairs.last { $0.keyword == keyword }?.value ?? "" }
        let host =
            value("service").isEmpty
            ? (value("hostaddr").isEmpty ? value("host") : value("hostaddr")) : "service=\(value("service"))"
        return (SessionKey(pairs: pairs), ServerKey(host: host, port: value("port")))
    }

    /// A session for `parameters`: an idle one with the same settings, else a new one while the
    /// server has fewer than `limit` open, else (closing an idle session of other settings on the
    /// same server first) the first one released. Blocks while the server is at its limit.
    func take(_ parameters: ConnectParameters, limit: Int, logger: Logger) throws(PGError) -> PGConnection {
        let (sessionKey, serverKey) = Self.keys(of: parameters)
        let limit = max(1, limit)
        var closing: [PGConnection] = []
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
                highWater[serverKey] = max(highWater[serverKey] ?? 0, server.inUse + server.idleCount)
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
        closing.removeAll() // PQfinish of a surplus idle session, outside the lock
        do {
            return try PGConnection.connect(parameters, logger: logger)
        } catch {
            giveBack(nil, parameters: parameters)
            throw error
        }
    }

    /// Returns a session taken with `take`: reset and kept for the next target when it is
    /// healthy and idle, closed otherwise (a broken session fails only the target it served).
    func giveBack(_ session: PGConnection?, parameters: ConnectParameters) {
        var kept = session
        if let session {
            if session.isBroken || session.transactionStatus != PQTRANS_IDLE {
                kept = nil
            } else {
                do {
                    // Locks, settings, prepared statements, temporary tables: nothing of one
                    // target's session reaches the next.
                    try session.execute("DISCARD ALL")
                } catch {
                    kept = nil
                }
            }
        }
        let (sessionKey, serverKey) = Self.keys(of: parameters)
        condition.lock()
        var server = servers[serverKey] ?? Server()
        server.inUse = max(0, server.inUse - 1)
        if let kept { server.idle[sessionKey, default: []].append(kept) }
        servers[serverKey] = server
        condition.broadcast()
        condition.unlock()
    }
}
