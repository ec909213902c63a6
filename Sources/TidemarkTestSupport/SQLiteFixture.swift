import Foundation
import TidemarkCore
import TidemarkSQLite

/// The SQLite backend under conformance test: one fresh file per target in a temporary folder
/// that is removed when the test process exits. Thread-safe (stateless).
package struct SQLiteFixture: BackendFixture {
    package init() {}

    package var description: String { "sqlite" }

    package var backend: any Backend { SQLiteBackend() }

    /// One folder per test process; removed at exit so runs leave nothing in the temp folder.
    package static let directory: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent(
                "tidemark-sqlite-conformance-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: SQLiteFixture.directory) }
        return url
    }()

    package func makeTarget(name: String) throws -> Target {
        let path = Self.directory.appendingPathComponent("\(name)-\(UUID().uuidString).db").path
        return Target(name: name, environment: "conformance", connection: .url("sqlite:\(path)"))
    }

    /// SQLite has no schemas: each target is its own file.
    package func makeSiblingTarget(of target: Target, name: String) throws -> Target? { nil }

    package func createTableSQL(_ table: String) -> String {
        "CREATE TABLE \(table) (id INTEGER)"
    }

    /// SQLite resolves table names when the statement is prepared, which happens only after the
    /// statements before it have run, so this fails mid-script as the suite needs.
    package var failingSQL: String { "SELECT * FROM tidemark_missing_table" }

    /// SQLite has no sleep function: a recursive count keeps the engine busy instead. About five
    /// million rows per second on a slow machine, more on a fast one: "about" `seconds`, never
    /// so short that a 300 ms timeout or a cancel after 300 ms could miss it.
    package func slowSQL(seconds: Int) -> String {
        let rows = max(1, seconds) * 5_000_000
        return
            "WITH RECURSIVE tm_count(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM tm_count WHERE n < \(rows)) SELECT count(*) FROM tm_count"
    }

    /// Written by the `sqlite3` shell, a writer outside Tidemark, as another tool would.
    package func createForeignTable(_ table: String, columns: [String], rows: [[String?]], in target: Target) throws {
        try SQLiteShell.run(
            ForeignTableSQL.statements(table, columns: columns, rows: rows),
            on: try SQLiteBackend.databasePath(of: target))
    }

    package func tableExists(_ table: String, in target: Target) throws -> Bool {
        try SQLiteBackend.tableExists(table, in: target)
    }
}

/// Runs SQL through the `sqlite3` command-line shell, outside Tidemark. Thread-safe (stateless).
package enum SQLiteShell {
    /// Runs `sql` on the database file at `path` (created if missing); throws with the shell's
    /// error output when it fails.
    package static func run(_ sql: String, on path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", "-bail", path]
        let input = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(sql.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw BackendError.queryFailed(target: path, message: "sqlite3: \(message)", sqlState: nil)
        }
    }
}
