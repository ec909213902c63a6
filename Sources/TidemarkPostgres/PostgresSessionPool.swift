import CLibPQ
import Foundation
import Logging
import TidemarkSessions

/// Sessions shared by targets that differ only in schema (docs/tenants.md#shared-sessions-per-server):
/// at most `per_server` sessions open on one server (host and port) at once, whatever the
/// concurrency; a session that served one target is reset (`DISCARD ALL`) and serves the next
/// target with the same connection settings (database, user, password).
///
/// The pooling itself is `SessionPool`'s, shared with MySQL; a `PGConnection` taken from it
/// belongs to one `PostgresConnection`, used by one worker. Thread-safe.
final class PostgresSessionPool: Sendable {
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

    private let pool = SessionPool<SessionKey, ServerKey, PGConnection>()

    init() {}

    static func keys(of parameters: ConnectParameters) -> (SessionKey, ServerKey) {
        let pairs = parameters.pairs
        func value(_ keyword: String) -> String { pairs.last { $0.keyword == keyword }?.value ?? "" }
        let host =
            value("service").isEmpty
            ? (value("hostaddr").isEmpty ? value("host") : value("hostaddr")) : "service=\(value("service"))"
        return (SessionKey(pairs: pairs), ServerKey(host: host, port: value("port")))
    }

    /// A session for `parameters`, at most `limit` open on its server (`SessionPool.take`).
    func take(_ parameters: ConnectParameters, limit: Int, logger: Logger) throws(PGError) -> PGConnection {
        let (sessionKey, serverKey) = Self.keys(of: parameters)
        return try pool.take(sessionKey, on: serverKey, limit: limit) { () throws(PGError) in
            try PGConnection.connect(parameters, logger: logger)
        }
    }

    /// Returns a session taken with `take`: reset and kept for the next target when it is
    /// healthy and idle, closed otherwise (a broken session fails only the target it served).
    func giveBack(_ session: PGConnection?, parameters: ConnectParameters) {
        let (sessionKey, serverKey) = Self.keys(of: parameters)
        pool.giveBack(session, sessionKey, on: serverKey) { session in
            guard !session.isBroken, session.transactionStatus == PQTRANS_IDLE else { return false }
            do {
                // Locks, settings, prepared statements, temporary tables: nothing of one
                // target's session reaches the next.
                try session.execute("DISCARD ALL")
                return true
            } catch {
                return false
            }
        }
    }
}
