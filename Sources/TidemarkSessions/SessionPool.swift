import Foundation

/// Sessions shared by targets on one server (docs/tenants.md#shared-sessions-per-server): at
/// most `limit` sessions open on one server at once, whatever the concurrency; a session that
/// served one target goes back reset and serves the next target with the same connection
/// settings. The backends that pool (PostgreSQL, MySQL) say what a session is, what makes two
/// targets share one (`SessionKey`), what `per_server` counts (`ServerKey`), how a session opens
/// and how it is reset.
///
/// Thread-safe: the state sits behind one `NSCondition`, which also lets a worker wait for a
/// session. A session is handed from the thread that released it to the one that takes it
/// through that lock, and is never used by two threads at once: in the pool it is idle, taken it
/// belongs to one connection, used by one worker. That hand-off is why the box is
/// `@unchecked Sendable`. A session is closed by dropping it (its deinit closes it).
package final class SessionPool<SessionKey: Hashable, ServerKey: Hashable, Session: AnyObject>: @unchecked Sendable {
    private struct Server {
        var inUse = 0
        var idle: [SessionKey: [Session]] = [:]
        var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }
    }

    private let condition = NSCondition()
    private var servers: [ServerKey: Server] = [:]

    package init() {}

    /// A session for `key` on `server`: an idle one with the same settings, else a new one
    /// (`connect`) while the server has fewer than `limit` open, else (closing an idle session of
    /// other settings on the same server first) the first one released. Blocks while the server
    /// is at its limit.
    package func take<Failure: Error>(
        _ key: SessionKey, on server: ServerKey, limit: Int, connect: () throws(Failure) -> Session
    ) throws(Failure) -> Session {
        let limit = max(1, limit)
        var closing: [Session] = []
        condition.lock()
        while true {
            var state = servers[server] ?? Server()
            if var idle = state.idle[key], let session = idle.popLast() {
                state.idle[key] = idle.isEmpty ? nil : idle
                state.inUse += 1
                servers[server] = state
                condition.unlock()
                return session
            }
            if state.inUse + state.idleCount < limit {
                state.inUse += 1
                servers[server] = state
                break
            }
            if let other = state.idle.first(where: { !$0.value.isEmpty })?.key, var idle = state.idle[other],
                let surplus = idle.popLast()
            {
                closing.append(surplus)
                state.idle[other] = idle.isEmpty ? nil : idle
                state.inUse += 1
                servers[server] = state
                break
            }
            condition.wait()
        }
        condition.unlock()
        closing.removeAll() // closes a surplus idle session, outside the lock
        do {
            return try connect()
        } catch {
            giveBack(nil, key, on: server, reset: { _ in false })
            throw error
        }
    }

    /// Returns a session taken with `take` (nil: its `connect` failed): kept for the next target
    /// when `reset` says it is healthy and reset, closed otherwise (a broken session fails only
    /// the target it served). `reset` runs outside the lock.
    package func giveBack(_ session: Session?, _ key: SessionKey, on server: ServerKey, reset: (Session) -> Bool) {
        var kept = session
        if let session, !reset(session) { kept = nil }
        condition.lock()
        var state = servers[server] ?? Server()
        state.inUse = max(0, state.inUse - 1)
        if let kept { state.idle[key, default: []].append(kept) }
        servers[server] = state
        condition.broadcast()
        condition.unlock()
    }
}
