import Foundation
import TidemarkCore

/// Keeps two `apply` runs of the same inventory from running at once on one machine, whoever
/// runs them.
///
/// An exclusive `flock` on a file named after the inventory's absolute path, in one folder for
/// the whole machine: `TIDEMARK_LOCK_DIR`, else `/tmp/tidemark-locks` (not `$TMPDIR`, which
/// differs between users and would let two users' runs miss each other). The folder is made
/// world-writable and sticky like `/tmp` and each lock file readable and writable by all, so once
/// root has run from cron every other user can still take the lock; a user who cannot write a
/// file another made still locks it through a read-only descriptor. The kernel drops the lock
/// when the process ends, even by `kill -9`, so it never goes stale. The file holds who took it,
/// for the message the second run prints. Not thread-safe: one owner.
package final class RunLock {
    /// Another run holds the lock.
    package struct Held: Error, Sendable, CustomStringConvertible {
        package var inventory: String
        /// What the holder wrote: pid, user, host, run id, start time.
        package var holder: String
        /// The part of the inventory the lock covers (`partition 1/4`); nil for all of it.
        package var scope: String?
        package var description: String {
            "another tidemark apply of \(inventory)\(scope.map { " (\($0))" } ?? "") is running (\(holder.isEmpty ? "holder unknown" : holder)); it holds the run lock until it ends."
        }
    }

    /// The lock cannot be taken for a reason other than another run holding it.
    package struct Unavailable: Error, Sendable, CustomStringConvertible {
        package var path: String
        package var reason: String
        package var description: String { "\(path): \(reason)" }
    }

    /// `TIDEMARK_LOCK_DIR`, else `/tmp/tidemark-locks`.
    package static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["TIDEMARK_LOCK_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp/tidemark-locks"
    }

    private let descriptor: Int32
    package let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Takes the lock for `inventoryFile` or throws `Held` at once (never waits). A `scope`
    /// (`partition 1/4`) locks only that part of the inventory: runs of disjoint partitions may
    /// share a machine (each target's own lock still guards every step).
    package static func acquire(
        inventoryFile: String, scope: String? = nil, runID: String, appliedBy: String, directory: String = directory()
    ) throws -> RunLock {
        let absolute = URL(fileURLWithPath: inventoryFile).standardizedFileURL.path
        try prepare(directory: directory)
        let name = URL(fileURLWithPath: absolute).deletingPathExtension().lastPathComponent
        let key = scope.map { "\(absolute)\u{0}\($0)" } ?? absolute
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(name)-\(stableHash(key)).lock").path
        var writable = true
        var descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o666)
        if descriptor >= 0 {
            // The umask took bits off the mode; give them back so the next user can write it too.
            var info = stat()
            if fstat(descriptor, &info) == 0 && info.st_uid == geteuid() { fchmod(descriptor, 0o666) }
        } else if errno == EACCES {
            // Another user's file we may not write: flock works through a read-only descriptor too.
            writable = false
            descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        }
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw Unavailable(
                path: path,
                reason:
                    "\(reason); the lock folder must be writable by every user who runs tidemark (chmod 1777 \(directory), or set TIDEMARK_LOCK_DIR)."
            )
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder =
                (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                ?? ""
            close(descriptor)
            throw Held(inventory: inventoryFile, holder: holder, scope: scope)
        }
        if writable {
            let text = "pid \(getpid()), \(appliedBy), run \(runID), started \(Date().formatted(.iso8601))\n"
            ftruncate(descriptor, 0)
            _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        }
        return RunLock(descriptor: descriptor, path: path)
    }

    /// Creates the lock folder world-writable and sticky (like `/tmp`: anyone may add a lock file,
    /// nobody may remove another's), and repairs the mode of a folder this user owns.
    private static func prepare(directory: String) throws {
        if mkdir(directory, 0o1777) != 0 && errno != EEXIST {
            let reason = String(cString: strerror(errno))
            throw Unavailable(
                path: directory,
                reason:
                    "cannot create the run lock folder: \(reason); set TIDEMARK_LOCK_DIR to a folder every user of tidemark may write."
            )
        }
        var info = stat()
        if stat(directory, &info) == 0 && info.st_uid == geteuid() && info.st_mode & 0o7777 != 0o1777 {
            chmod(directory, 0o1777)
        }
    }

    /// FNV-1a: stable across runs and machines, unlike Swift's seeded `Hasher`.
    static func stableHash(_ text: String) -> String {
        String(StableHash.fnv1a64(text), radix: 16)
    }
}
