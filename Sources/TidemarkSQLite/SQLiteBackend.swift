import CSQLite
import Foundation
import Logging
import TidemarkCore

/// The embedded backend: one SQLite file per target, `sqlite:PATH`. Thread-safe (stateless).
///
/// Each read-write connection opens the file (creating it and its parent folders on first use), switches
/// it to WAL so readers are not blocked by a running step, and sets `busy_timeout` to the lock
/// timeout. The migration lock is an advisory `flock` on a sidecar file (`PATH.tidemark-lock`)
/// rather than an exclusive transaction, so each step can still commit on its own; the kernel
/// drops the lock when the process dies, so a killed run never leaves a stale lock.
package struct SQLiteBackend: Backend {
    package init() {}

    package var kind: BackendKind { .sqlite }

    /// Opens `target`'s database file (read-only never creates it). Blocks: call it on an
    /// executor-owned thread.
    package func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger)
        throws(BackendError)
        -> any BackendConnection
    {
        try SQLiteConnection(target: target, access: access, timeouts: timeouts, logger: logger)
    }

    /// The absolute database path of a `sqlite:PATH` target (the forms are `ConnectionLocation`'s).
    /// Relative paths resolve against the current directory (inventory loading normally makes
    /// them absolute already).
    package static func databasePath(of target: Target) throws(BackendError) -> String {
        let location = target.location
        guard case .sqlite = location else {
            throw .unsupported(
                target: target.name, message: "not a SQLite target; SQLite targets use `url: sqlite:PATH`.")
        }
        guard let path = location.sqliteFilePath else {
            throw .unsupported(target: target.name, message: location.problem ?? "no database file.")
        }
        if target.schema != nil {
            throw .unsupported(
                target: target.name,
                message: "SQLite has no schemas; remove `schema:` from this target or give it its own file.")
        }
        if let relative = location.relativeSQLitePath {
            return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
                .appendingPathComponent(relative).standardizedFileURL.path
        }
        return path
    }

    /// The path of the sidecar file whose `flock` is the migration lock of `databasePath`.
    package static func lockFilePath(forDatabaseAt databasePath: String) -> String {
        databasePath + ".tidemark-lock"
    }

    /// Whether `table` exists in the target's database, read through a separate read-only
    /// connection (for tests and diagnostics; false when the file does not exist yet).
    /// Thread-safe: each call opens and closes its own handle.
    package static func tableExists(_ table: String, in target: Target) throws(BackendError) -> Bool {
        let path = try databasePath(of: target)
        guard FileManager.default.fileExists(atPath: path) else { return false }
        var handle: OpaquePointer?
        let openCode = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, nil)
        // sqlite3_open_v2 hands back a handle even on failure; it must be closed either way.
        defer { sqlite3_close_v2(handle) }
        guard openCode == SQLITE_OK, let handle else {
            throw .queryFailed(
                target: target.name, message: "cannot open \(path): \(SQLiteError.text(of: openCode))", sqlState: nil)
        }
        sqlite3_busy_timeout(handle, 5_000)
        var statement: OpaquePointer?
        let sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw .queryFailed(target: target.name, message: SQLiteError.message(of: handle), sqlState: nil)
        }
        defer { sqlite3_finalize(statement) }
        sqlite3_bind_text(statement, 1, table, -1, tidemark_sqlite_transient())
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw .queryFailed(target: target.name, message: SQLiteError.message(of: handle), sqlState: nil)
        }
    }
}

/// Turns SQLite result codes into text. Thread-safe (pure functions over a handle the caller owns).
enum SQLiteError {
    /// The handle's last error message, or a generic one.
    static func message(of handle: OpaquePointer?) -> String {
        guard let handle, let text = sqlite3_errmsg(handle) else { return "unknown SQLite error" }
        return String(cString: text)
    }

    /// SQLite's English name for a result code.
    static func text(of code: Int32) -> String {
        guard let text = sqlite3_errstr(code) else { return "SQLite error \(code)" }
        return String(cString: text)
    }

    /// Busy and locked mean another connection holds the database: worth retrying.
    static func isTransient(_ code: Int32) -> Bool {
        let primary = code & 0xFF
        return primary == SQLITE_BUSY || primary == SQLITE_LOCKED
    }
}
