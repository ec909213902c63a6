import Foundation
import TidemarkCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Files only their owner reads: reports, pages, saved rollouts and state name hosts, users and
/// errors. A file appears whole or not at all, mode 0600 whatever the umask: it is written
/// beside its place (`.NAME.PID.partial`) and renamed over it (an older file of another mode is
/// replaced, not reused). Folders made on the way are 0700. Thread-safe (stateless).
///
/// The exceptions live elsewhere and say why: the metrics file (its collector reads it), the
/// run-lock folder and its lock files (other users must take the lock).
package enum OwnerOnlyFile {
    /// Writes the file piece by piece, so a large one never sits whole in memory.
    package static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        let folder = url.deletingLastPathComponent()
        try makeFolders(folder)
        let partial = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial")
        unlink(partial.path)
        // O_EXCL: never write through a link or a file someone else put there.
        let descriptor = open(partial.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw posixError(errno, path: partial.path) }
        // The umask can only take bits away; fchmod makes the mode exact.
        fchmod(descriptor, 0o600)
        let file = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
        do {
            do {
                try body(file)
                try file.synchronize()
                close(descriptor)
            } catch {
                close(descriptor)
                throw error
            }
            guard rename(partial.path, url.path) == 0 else { throw posixError(errno, path: url.path) }
        } catch {
            unlink(partial.path)
            throw error
        }
    }

    /// Writes `data` whole.
    package static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { file in try file.write(contentsOf: data) }
    }

    /// Makes `folder` and any missing parent, each new one with mode 0700 (exact, whatever the
    /// umask). Folders that exist are left as they are, except `tightening` ones: Tidemark's own
    /// state folders, made 0755 by older versions, become 0700 when their owner runs it.
    package static func makeFolders(_ folder: URL, tightening: [URL] = []) throws {
        var missing: [String] = []
        var path = folder.standardizedFileURL.path
        while !path.isEmpty, path != "/", !FileManager.default.fileExists(atPath: path) {
            missing.append(path)
            path = (path as NSString).deletingLastPathComponent
        }
        for path in missing.reversed() {
            if mkdir(path, 0o700) != 0 && errno != EEXIST { throw posixError(errno, path: path) }
            chmod(path, 0o700)
        }
        for url in tightening {
            var info = stat()
            if lstat(url.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR && info.st_uid == geteuid()
                && info.st_mode & 0o077 != 0
            {
                chmod(url.path, 0o700)
            }
        }
    }

    private static func posixError(_ code: Int32, path: String) -> CocoaError {
        CocoaError(
            .fileWriteUnknown,
            userInfo: [
                NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO),
            ])
    }
}
