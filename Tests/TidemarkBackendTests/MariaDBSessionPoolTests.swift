import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkMySQL

/// Shared sessions on the real MariaDB server (docs/tenants.md#shared-sessions-on-mysql): a
/// session that goes back to the pool keeps nothing of the target it served (its `GET_LOCK`,
/// read-only mode, its database), and one whose connection broke is never handed out again.
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBSessionPoolTests {
    static var shared: Timeouts {
        var timeouts = BackendConformance.timeouts
        timeouts.sessionsPerServer = 1
        return timeouts
    }

    func target(_ name: String, database: String) throws -> Target {
        Target(name: name, environment: "test", connection: .url(try TestMariaDB.requireURL()), schema: database)
    }

    func connect(_ target: Target, pool: MySQLSessionPool?, access: ConnectionAccess = .readWrite) throws
        -> MySQLConnection
    {
        try MySQLConnection(
            target: target, access: access, timeouts: Self.shared, logger: .silent, environment: [:], pool: pool)
    }

    func threadID(_ connection: MySQLConnection) throws -> String? {
        try connection.catalogRows("SELECT CONNECTION_ID()").first?.first ?? nil
    }

    @Test func aSessionGoesBackWithoutTheLockTheReadOnlyModeOrTheDatabaseOfItsLastTarget() throws {
        let first = try TestMariaDB.createDatabase(for: "pool_a")
        let second = try TestMariaDB.createDatabase(for: "pool_b")
        defer {
            try? TestMariaDB.dropDatabase(first)
            try? TestMariaDB.dropDatabase(second)
        }
        let pool = MySQLSessionPool()
        let a = try connect(target("a", database: first), pool: pool, access: .readOnly)
        let session = try threadID(a)
        a.close()
        let writer = try connect(target("a", database: first), pool: pool)
        #expect(try threadID(writer) == session, "per_server 1: the one session is shared")
        #expect(try writer.tryLock(timeout: .zero))
        // The read-only mode of the last target is gone: this one may write.
        try writer.ensureHistoryTable()
        writer.close()

        // The lock went with the reset: a session of its own takes it at once.
        let other = try connect(target("a-again", database: first), pool: nil)
        defer { other.close() }
        #expect(try other.tryLock(timeout: .zero), "the shared session still held a's GET_LOCK")

        let b = try connect(target("b", database: second), pool: pool)
        defer { b.close() }
        #expect(try threadID(b) == session)
        #expect(try b.catalogRows("SELECT DATABASE()").first?.first == second)
    }

    @Test func aSessionWhoseConnectionBrokeIsClosedNotReused() throws {
        let database = try TestMariaDB.createDatabase(for: "pool_broken")
        defer { try? TestMariaDB.dropDatabase(database) }
        let pool = MySQLSessionPool()
        let victim = try connect(target("victim", database: database), pool: pool)
        let session = try threadID(victim)
        #expect(throws: BackendError.self) { try victim.catalogRows("KILL CONNECTION_ID()") }
        _ = try? victim.catalogRows("SELECT 1")
        victim.close()
        let next = try connect(target("next", database: database), pool: pool)
        defer { next.close() }
        #expect(try threadID(next) != session)
        #expect(try next.catalogRows("SELECT 1").first?.first == "1")
    }
}
