import Foundation

/// Backup files, created one way for every backend: folders made (mode 0700), the file created
/// empty with mode 0600 before any byte is written, and every failure a
/// `BackendError.backupFailed` naming the path. Thread-safe (stateless).
///
/// The one piece of file-system code in Core: backups hold a copy of a target's data, so a
/// backend that forgets to check a step here leaves data readable by other users.
public enum BackupFile {
    /// Creates `path`'s folder and an empty file readable only by its owner; an existing file
    /// is emptied and made private.
    public static func prepare(_ path: String, target: String) throws(BackendError) {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .backupFailed(target: target, message: "cannot create the folder \(folder): \(error.localizedDescription)")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw .backupFailed(target: target, message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        try restrict(path, target: target)
    }

    /// Sets mode 0600: a file that existed keeps its old mode when overwritten, and a tool that
    /// replaces the file may not keep ours.
    public static func restrict(_ path: String, target: String) throws(BackendError) {
        guard chmod(path, 0o600) == 0 else {
            throw .backupFailed(target: target, message: "cannot make \(path) private (mode 0600): \(String(cString: strerror(errno)))")
        }
    }

    /// The file's size in bytes; 0 when it cannot be read.
    public static func size(of path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
