import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The migration lock of one SQLite database: an exclusive `flock` on `PATH.tidemark-lock`.
///
/// Not thread-safe: owned by one `SQLiteConnection`. `flock` locks belong to the open file
/// description, so two connections in one process exclude each other just as two processes
/// do, and the kernel releases the lock when the descriptor closes or the process dies.
/// The sidecar file is never deleted: removing it while another run has it open would let two
/// runs hold "the" lock on two different files.
final class SQLiteLockFile {
    let path: String
    private var descriptor: Int32 = -1

    init(path: String) {
        self.path = path
    }

    deinit {
        release()
    }

    var isHeld: Bool { descriptor >= 0 }

    /// Tries to take the lock, polling until `timeout` has passed. Returns false when another
    /// holder keeps it; throws the `errno` text when the file cannot be opened or locked.
    func acquire(timeout: Duration) throws(SQLiteLockError) -> Bool {
        if isHeld { return true }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SQLiteLockError(operation: "open \(path)", code: errno) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                descriptor = fd
                return true
            }
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(fd)
                throw SQLiteLockError(operation: "lock \(path)", code: code)
            }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else {
                close(fd)
                return false
            }
            // flock has no timed wait; a short poll keeps the wait close to the timeout.
            Thread.sleep(forTimeInterval: min(0.02, Double(remaining.milliseconds) / 1000 + 0.001))
        }
    }

    /// Releases the lock; a no-op when not held.
    func release() {
        guard descriptor >= 0 else { return }
        // Closing the only descriptor of the open file description drops the flock.
        close(descriptor)
        descriptor = -1
    }
}

/// Opening or locking the sidecar file failed. Thread-safe value.
struct SQLiteLockError: Error, Sendable {
    var operation: String
    var code: Int32

    var message: String { "cannot \(operation): \(String(cString: strerror(code)))" }
}
