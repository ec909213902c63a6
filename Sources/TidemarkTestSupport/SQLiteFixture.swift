import Foundation
import TidemarkCore
import TidemarkSQLite

/// The SQLite backend under conformance test: one fresh file per target in a temporary folder
/// that is removed when the test process exits. Thread-safe (stateless).
public struct SQLiteFixture: BackendFixture {
    public init() {}

    public var description: String { "sqlite" }

    public var backend: any Backend { SQLiteBackend() }

    /// One folder per test process; removed at exit so runs leave nothing in the temp folder.
    public static let directory: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tidemark-sqlite-conformance-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: SQLiteFixture.directory) }
        return url
    }()

    public func makeTarget(name: String) throws -> Target {
        let path = Self.directory.appendingPathComponent("\(name)-\(UUID().uuidString).db").path
        return Target(name: name, environment: "conformance", connection: .url("sqlite:\(path)"))
    }

    /// SQLite has no schemas: each target is its own file.
    public func makeSiblingTarget(of target: Target, name: String) throws -> Target? { nil }

    public func createTableSQL(_ table: String) -> String {
        "CREATE TABLE \(table) (id INTEGER)"
    }

    /// SQLite resolves table names when the statement is prepared, which happens only after the
    /// statements before it have run, so this fails mid-script as the suite needs.
    public var failingSQL: String { "SELECT * FROM tidemark_missing_table" }

    /// SQLite has no sleep function: a recursive count keeps the engine busy instead. About five
    /// million rows per second on a slow machine, more on a fast one: "about" `seconds`, never
    /// so short that a 300 ms timeout or a cancel after 300 ms could miss it.
    public func slowSQL(seconds: Int) -> String {
        let rows = max(1, seconds) * 5_000_000
        return "WITH RECURSIVE tm_count(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM tm_count WHERE n < \(rows)) SELECT count(*) FROM tm_count"
    }

    public func tableExists(_ table: String, in target: Target) throws -> Bool {
        try SQLiteBackend.tableExists(table, in: target)
    }
}
