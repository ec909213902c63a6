import Foundation

/// A fixed set of dedicated threads that run blocking work (libpq, sqlite3) for async callers.
///
/// Blocking C calls never run on the Swift concurrency pool or GCD's shared pool: on Linux that
/// pool grows slowly past the core count, so blocking work there caps real concurrency and
/// stalls unrelated async code (progress display, webhook delivery). Each pool thread takes one
/// job at a time, so `threadCount` is exactly the number of jobs in flight.
/// Thread-safe: jobs may be submitted from any thread or task.
public final class WorkerPool: @unchecked Sendable {
    // @unchecked: `jobs` and `stopped` are only touched while `condition` is locked.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopped = false
    public let threadCount: Int

    /// Starts `threadCount` threads named `tidemark-worker-N`.
    public init(threadCount: Int, name: String = "tidemark-worker") {
        self.threadCount = max(1, threadCount)
        for index in 0..<self.threadCount {
            let thread = Thread { [self] in self.workLoop() }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    deinit { shutdown() }

    /// Runs `body` on a pool thread and returns its result to the awaiting task.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// Queues `job`; it runs on the next free thread.
    public func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets queued jobs finish, then ends the threads.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func workLoop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && stopped {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
