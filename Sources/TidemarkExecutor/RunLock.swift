import Foundation
import TidemarkCore

/// Keeps two `apply` runs of the same inventory from running at once on one machine.
///
/// An exclusive `flock` on a file named after the inventory's absolute path, in the system's
/// temporary folder (so runs from any working directory, cron included, see each other). The
/// kernel drops the lock when the process ends, even by `kill -9`, so it never goes stale. The
/// file holds who took it, for the message the second run prints. Not thread-safe: one owner.
public final class RunLock {
    /// Another run holds the lock.
    public struct Held: Error, Sendable, CustomStringConvertible {
        public var inventory: String
        /// What the holder wrote: pid, user, host, run id, start time.
        public var holder: String
        public var description: String {
            "another tidemark apply of \(inventory) is running (\(holder.isEmpty ? "holder unknown" : holder)); it holds the run lock until it ends."
        }
    }

    private let descriptor: Int32
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Takes the lock for `inventoryFile` or throws `Held` at once (never waits).
    public static func acquire(inventoryFile: String, runID: String, appliedBy: String) throws -> RunLock {
        let absolute = URL(fileURLWithPath: inventoryFile).standardizedFileURL.path
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-locks")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = URL(fileURLWithPath: absolute).deletingPathExtension().lastPathComponent
        let path = directory.appendingPathComponent("\(name)-\(stableHash(absolute)).lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw Held(inventory: inventoryFile, holder: holder)
        }
        let started = Date().formatted(.iso8601)
        let text = "pid \(getpid()), \(appliedBy), run \(runID), started \(started)\n"
        ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return RunLock(descriptor: descriptor, path: path)
    }

    /// FNV-1a: stable across runs and machines, unlike Swift's seeded `Hasher`.
    static func stableHash(_ text: String) -> String {
        String(StableHash.fnv1a64(text), radix: 16)
    }
}
