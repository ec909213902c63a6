import Foundation
import Logging
import TidemarkCore

/// `tidemark backup` and `tidemark restore` for one target: under the target's migration lock,
/// so neither races an `apply`. Blocking: run it on an executor-owned thread. Thread-safe value.
package struct BackupRunner: Sendable {
    package var registry: BackendRegistry
    package var timeouts: Timeouts
    package var logger: Logger

    package init(registry: BackendRegistry, timeouts: Timeouts, logger: Logger) {
        self.registry = registry
        self.timeouts = timeouts
        self.logger = logger
    }

    /// What went wrong, in one sentence naming the target. Thread-safe value.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package var description: String
        /// Another run holds the target's lock (exit 4).
        package var locked: Bool
    }

    /// What a backup of `target` may wait for (`pg_dump waits at most 5s for a lock on each
    /// table`), to say before it starts; nil when its backend cannot back up.
    package func backupWait(for target: Target) -> String? {
        guard let backend = try? registry.backend(for: target) as? any BackupCapableBackend else { return nil }
        return backend.backupWait(timeouts: timeouts)
    }

    package func backup(_ target: Target, to path: String) throws(Failure) -> BackupRecord {
        try underLock(target) { backend throws(BackendError) in
            try backend.backup(target, to: path, timeouts: timeouts, logger: logger)
        }
    }

    package func restore(_ target: Target, from path: String) throws(Failure) {
        try underLock(target) { backend throws(BackendError) in
            try backend.restore(target, from: path, timeouts: timeouts, logger: logger)
        }
    }

    private func underLock<T>(_ target: Target, _ body: (any BackupCapableBackend) throws(BackendError) -> T)
        throws(Failure) -> T
    {
        do {
            let backend = try registry.backend(for: target)
            guard let capable = backend as? any BackupCapableBackend else {
                throw BackendError.unsupported(
                    target: target.name, message: "the \(backend.kind.rawValue) backend cannot make backups")
            }
            let connection = try backend.connect(to: target, timeouts: timeouts, logger: logger)
            defer { connection.close() }
            guard try connection.tryLock(timeout: timeouts.lockTimeout) else {
                throw Failure(
                    description:
                        "\(target.name): another run holds this target's lock; try again when it has finished.",
                    locked: true)
            }
            defer { try? connection.unlock() }
            return try body(capable)
        } catch let failure as Failure {
            throw failure
        } catch let error as BackendError {
            throw Failure(description: error.description, locked: false)
        } catch {
            throw Failure(description: "\(target.name): \(error)", locked: false)
        }
    }
}
