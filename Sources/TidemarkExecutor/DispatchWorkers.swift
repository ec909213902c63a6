import Dispatch
import Synchronization
import TidemarkCore

/// N concurrent Dispatch workers for blocking work (libpq, sqlite3), awaited from async code.
///
/// Each worker is a serial `DispatchQueue`; such a queue targets libdispatch's overcommitting
/// root queue, so a worker blocked in a C call never keeps another from starting (measured on a
/// 2-core Linux machine: 8 workers kept 8 of 8 blocking jobs in flight). Blocking work must not
/// run on the Swift concurrency pool or `DispatchQueue.global()`, which grow slowly past the core
/// count and stall unrelated async code (progress display, webhook delivery).
///
/// A job runs on an idle worker at once, or waits in first-in, first-out order for the next
/// worker that finishes, so `count` is exactly the number of jobs in flight. Nothing needs shutting
/// down: a worker holds a reference only while it runs a job, and the queues go when the last
/// reference does. Thread-safe: jobs may be submitted from any thread or task.
package final class DispatchWorkers: Sendable {
    private struct State {
        var idle: [DispatchQueue]
        var waiting: [@Sendable () -> Void] = []
        /// Index of the oldest waiting job: popping from the front stays O(1).
        var head = 0

        mutating func nextWaiting() -> (@Sendable () -> Void)? {
            guard head < waiting.count else { return nil }
            let job = waiting[head]
            head += 1
            if head == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                head = 0
            }
            return job
        }
    }

    package let count: Int
    private let state: Mutex<State>

    /// `count` workers (at least one) labelled `<label>-N`.
    package init(count: Int, label: String = "tidemark-worker") {
        self.count = max(1, count)
        state = Mutex(State(idle: (0..<self.count).reversed().map { DispatchQueue(label: "\(label)-\($0)") }))
    }

    /// Runs `body` on a worker and returns its result to the awaiting task.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// Runs `body`, which does not throw, on a worker.
    package func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            submit { continuation.resume(returning: body()) }
        }
    }

    /// Queues `job`: it starts on an idle worker now, or on the next one to finish.
    package func submit(_ job: @escaping @Sendable () -> Void) {
        let worker = state.withLock { state -> DispatchQueue? in
            guard let worker = state.idle.popLast() else {
                state.waiting.append(job)
                return nil
            }
            return worker
        }
        if let worker { start(job, on: worker) }
    }

    /// Runs `job`, then the waiting jobs one by one on the same worker, until none waits.
    private func start(_ job: @escaping @Sendable () -> Void, on worker: DispatchQueue) {
        worker.async {
            var next: (@Sendable () -> Void)? = job
            while let current = next {
                current()
                next = self.state.withLock { state in
                    if let waiting = state.nextWaiting() { return waiting }
                    state.idle.append(worker)
                    return nil
                }
            }
        }
    }
}

extension DispatchWorkers {
    /// Runs `body` for each target on a worker, with the target's timeouts, and returns the
    /// results by target name, the targets taken in order.
    ///
    /// A job takes a run of consecutive targets: at most 64, and few enough that every worker
    /// gets eight jobs or more, so a small fleet still has `count` targets in flight and a slow
    /// target holds back at most its own run. A job, a continuation and a thread wake-up per
    /// target were most of the time taken to read 100,000 in-memory targets (1.0 s with runs of
    /// 64, 2.5 s one by one). The jobs are awaited through a sliding window of a few child tasks
    /// per worker, because the Swift runtime keeps a task group's children in a list it walks to
    /// remove each finished one: 100,000 children at once cost quadratic time (115 s to read
    /// 100,000 in-memory targets' states, 0.24 s for 10,000).
    package func each<Value: Sendable>(
        _ targets: [Target], inventory: Inventory, _ body: @escaping @Sendable (Target, Timeouts) -> Value
    ) async -> [String: Value] {
        let run = max(1, min(64, targets.count / (count * 8)))
        return await withTaskGroup(of: [(String, Value)].self) { group in
            var next = 0
            func addNext() {
                guard next < targets.count else { return }
                let indices = next..<min(next + run, targets.count)
                next = indices.upperBound
                group.addTask {
                    await self.run {
                        indices.map { index in
                            (targets[index].name, body(targets[index], inventory.timeouts(for: targets[index])))
                        }
                    }
                }
            }
            for _ in 0..<count * 2 { addNext() }
            var results: [String: Value] = [:]
            results.reserveCapacity(targets.count)
            for await part in group {
                for (name, value) in part { results[name] = value }
                addNext()
            }
            return results
        }
    }
}
