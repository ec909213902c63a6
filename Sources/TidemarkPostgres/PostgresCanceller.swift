import CLibPQ
import Logging
import Synchronization
import TidemarkCore

/// Cancels the statement running on one PostgreSQL connection, from any thread.
///
/// Thread-safe: the `PGcancel` handle sits behind a `Mutex`, and `PQcancel` is libpq's
/// thread-safe cancel call (it opens its own socket). Once the connection closes the handle is
/// freed and `cancel()` does nothing.
final class PostgresCanceller: StatementCanceller {
    /// A `PGcancel*`. It may cross threads: it is a copy of the connection's address and cancel
    /// key, independent of the `PGconn`, and libpq documents `PQcancel` as safe to call from any
    /// thread; the mutex keeps `PQcancel` and `PQfreeCancel` from overlapping.
    private struct CancelHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private let handle: Mutex<CancelHandle?>
    private let logger: Logger

    init(cancel: OpaquePointer?, logger: Logger) {
        self.handle = Mutex(cancel.map(CancelHandle.init(pointer:)))
        self.logger = logger
    }

    deinit {
        invalidate()
    }

    func cancel() {
        handle.withLock { cancel in
            guard let cancel else { return }
            var buffer = [CChar](repeating: 0, count: 256)
            if PQcancel(cancel.pointer, &buffer, Int32(buffer.count)) == 0 {
                let reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                logger.debug("cancel request failed: \(reason)")
            }
        }
    }

    /// Frees the handle; later `cancel()` calls are no-ops. Waits for a cancel in flight.
    func invalidate() {
        handle.withLock { cancel in
            if let current = cancel { PQfreeCancel(current.pointer) }
            cancel = nil
        }
    }
}
