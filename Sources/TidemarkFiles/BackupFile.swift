import Foundation
import TidemarkCore

/// Backup files, created one way for every backend: folders made (mode 0700), the backup
/// written to `PATH.partial` (created empty with mode 0600 before any byte is written), and
/// renamed to `PATH` only once the backend has checked it, so a failed or empty backup never
/// replaces a good file and never passes for one. Every failure is a
/// `BackendError.backupFailed` naming the path. Thread-safe (stateless).
///
/// The one piece of file-system code in Core: backups hold a copy of a target's data, so a
/// backend that forgets to check a step here leaves data readable by other users.
package enum BackupFile {
    /// Where a backup of `path` is written until it is checked.
    package static func partialPath(for path: String) -> String { path + ".partial" }

    /// Creates `path`'s folder and an empty `PATH.partial` readable only by its owner (a
    /// partial file left by an earlier, killed run is replaced), and returns that partial path.
    /// `path` itself is not touched.
    package static func prepare(_ path: String, target: String) throws(BackendError) -> String {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .backupFailed(
                target: target, message: "cannot create the folder \(folder): \(error.localizedDescription)")
        }
        let partial = partialPath(for: path)
        unlink(partial)
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .backupFailed(
                target: target, message: "cannot create \(partial): \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        try restrict(partial, target: target)
        return partial
    }

    /// Moves a checked backup from `partial` to `path` (replacing a file there at once, never
    /// emptying it first). An empty file is no backup: it is refused.
    package static func commit(_ partial: String, to path: String, target: String) throws(BackendError) {
        try restrict(partial, target: target)
        guard size(of: partial) > 0 else {
            throw .backupFailed(target: target, message: "the backup written to \(partial) is empty, so it is not kept")
        }
        guard rename(partial, path) == 0 else {
            throw .backupFailed(
                target: target, message: "cannot move \(partial) to \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Removes a partial backup that failed or was refused.
    package static func discard(_ partial: String) {
        unlink(partial)
    }

    /// Sets mode 0600: a file that existed keeps its old mode when overwritten, and a tool that
    /// replaces the file may not keep ours.
    package static func restrict(_ path: String, target: String) throws(BackendError) {
        guard chmod(path, 0o600) == 0 else {
            throw .backupFailed(
                target: target, message: "cannot make \(path) private (mode 0600): \(String(cString: strerror(errno)))")
        }
    }

    /// The file's size in bytes; 0 when it cannot be read.
    package static func size(of path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
