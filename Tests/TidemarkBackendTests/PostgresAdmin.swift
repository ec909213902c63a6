import Logging
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkPostgres

extension PostgresFixture {
    /// Runs `body` on a fresh libpq connection to the test database, outside any target: for the
    /// roles, settings and catalog rows these backend tests read or set up, which the public
    /// backend has no call for (the shared fixture in TidemarkTestSupport goes through it only).
    @discardableResult
    func admin<T>(_ body: (PGConnection) throws -> T) throws -> T {
        let target = Target(name: "fixture", environment: "test", connection: .url(url))
        let parameters = ConnectParameters(target: target, timeouts: .standard, environment: [:])
        let connection = try PGConnection.connect(parameters, logger: .silent)
        return try body(connection)
    }
}
