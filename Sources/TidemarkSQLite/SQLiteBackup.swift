import CSQLite
import Foundation
import Logging
import TidemarkCore
import TidemarkFiles

extension SQLiteBackend: BackupCapableBackend {
    package func backupWait(timeouts: Timeouts) -> String {
        "the copy waits at most \(DurationText.text(max(.seconds(1), timeouts.lockTimeout))) for another connection's write to finish"
    }

    /// Copies the target's database to `path` with SQLite's online backup API: a consistent
    /// copy even while other connections read, page by page, without stopping them.
    package func backup(_ target: Target, to path: String, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> BackupRecord
    {
        let source = try Self.databasePath(of: target)
        guard FileManager.default.fileExists(atPath: source) else {
            throw .backupFailed(
                target: target.name, message: "cannot back up \(source): the database file does not exist.")
        }
        let partial = try BackupFile.prepare(path, target: target.name)
        do throws(BackendError) {
            try Self.copy(from: source, to: partial, target: target, timeouts: timeouts)
            try BackupFile.commit(partial, to: path, target: target.name)
        } catch {
            BackupFile.discard(partial)
            throw error
        }
        logger.info("backup written", metadata: ["target": "\(target.name)", "path": "\(path)"])
        return BackupRecord(
            target: target.name, path: path, method: "sqlite3 online backup", bytes: BackupFile.size(of: path))
    }

    /// Overwrites the target's database with the backup at `path`, through the same API (the
    /// destination is locked while pages are copied, so no reader sees half a database).
    package func restore(_ target: Target, from path: String, timeouts: Timeouts, logger: Logger) throws(BackendError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .backupFailed(target: target.name, message: "cannot restore from \(path): the file does not exist.")
        }
        let destination = try Self.databasePath(of: target)
        try Self.copy(from: path, to: destination, target: target, timeouts: timeouts)
        logger.info("restored", metadata: ["target": "\(target.name)", "path": "\(path)"])
    }

    /// Runs `sqlite3_backup_*` from one file to another, waiting for busy pages within the lock timeout.
    private static func copy(from sourcePath: String, to destinationPath: String, target: Target, timeouts: Timeouts)
        throws(BackendError)
    {
        var sourceHandle: OpaquePointer?
        var destinationHandle: OpaquePointer?
        // sqlite3_open_v2 hands back a handle even on failure; both are closed either way.
        defer {
            sqlite3_close_v2(sourceHandle)
            sqlite3_close_v2(destinationHandle)
        }
        let sourceCode = sqlite3_open_v2(sourcePath, &sourceHandle, SQLITE_OPEN_READONLY, nil)
        guard sourceCode == SQLITE_OK, let source = sourceHandle else {
            throw .backupFailed(
                target: target.name, message: "cannot open \(sourcePath): \(SQLiteError.text(of: sourceCode))")
        }
        let destinationCode = sqlite3_open_v2(
            destinationPath, &destinationHandle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil)
        guard destinationCode == SQLITE_OK, let destination = destinationHandle else {
            throw .backupFailed(
                target: target.name, message: "cannot open \(destinationPath): \(SQLiteError.text(of: destinationCode))"
            )
        }
        let wait = Int32(clamping: max(1_000, timeouts.lockTimeout.milliseconds))
        sqlite3_busy_timeout(source, wait)
        sqlite3_busy_timeout(destination, wait)
        guard let backup = sqlite3_backup_init(destination, "main", source, "main") else {
            throw .backupFailed(
                target: target.name,
                message: "cannot copy \(sourcePath) to \(destinationPath): \(SQLiteError.message(of: destination))")
        }
        var code: Int32
        // Busy pages are waited for within the lock timeout, not forever: a backup never waits
        // silently for a writer that does not finish.
        let deadline = ContinuousClock.now + .milliseconds(Int64(wait))
        repeat {
            code = sqlite3_backup_step(backup, -1)
            if code == SQLITE_BUSY || code == SQLITE_LOCKED {
                if ContinuousClock.now >= deadline { break }
                sqlite3_sleep(50)
            }
        } while code == SQLITE_OK || code == SQLITE_BUSY || code == SQLITE_LOCKED
        let finish = sqlite3_backup_finish(backup)
        guard code == SQLITE_DONE, finish == SQLITE_OK else {
            throw .backupFailed(
                target: target.name,
                message:
                    "cannot copy \(sourcePath) to \(destinationPath): \(SQLiteError.text(of: code == SQLITE_DONE ? finish : code))"
            )
        }
    }
}
