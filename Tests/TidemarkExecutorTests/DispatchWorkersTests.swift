import Foundation
import Synchronization
import Testing
import TidemarkCore

@testable import TidemarkExecutor

@Suite struct DispatchWorkersTests {
    /// Jobs that block their thread, as libpq and sqlite3 calls do.
    private final class Meter: Sendable {
        private let state = Mutex((current: 0, maximum: 0, done: 0))
        func enter() {
            state.withLock {
                $0.current += 1
                $0.maximum = max($0.maximum, $0.current)
            }
        }
        func leave() {
            state.withLock {
                $0.current -= 1
                $0.done += 1
            }
        }
        var maximum: Int { state.withLock { $0.maximum } }
        var current: Int { state.withLock { $0.current } }
        var done: Int { state.withLock { $0.done } }
    }

    @Test func keepsExactlyItsCountOfBlockingJobsInFlightAboveTheCoreCount() async {
        let workers = DispatchWorkers(count: 8, label: "test-workers")
        let meter = Meter()
        // The first 8 jobs block until all 8 run at once (or 20 s pass): on a loaded machine a
        // job that merely slept could end before the eighth started, and prove nothing.
        let allStarted = DispatchSemaphore(value: 0)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<48 {
                group.addTask {
                    await workers.run {
                        meter.enter()
                        if index < 8 {
                            if meter.current == 8 { for _ in 0..<8 { allStarted.signal() } }
                            _ = allStarted.wait(timeout: .now() + 20)
                        } else {
                            Thread.sleep(forTimeInterval: 0.005)
                        }
                        meter.leave()
                    }
                }
            }
        }
        #expect(meter.done == 48)
        #expect(
            meter.maximum == 8,
            "max in flight \(meter.maximum) on \(ProcessInfo.processInfo.activeProcessorCount) cores")
    }

    @Test func waitingJobsStartInTheOrderTheyCame() async {
        let workers = DispatchWorkers(count: 1)
        let order = Mutex<[Int]>([])
        let gate = DispatchSemaphore(value: 0)
        workers.submit { gate.wait() }
        for index in 0..<20 { workers.submit { order.withLock { $0.append(index) } } }
        gate.signal()
        await workers.run { () -> Void in }
        #expect(order.withLock { $0 } == Array(0..<20))
    }

    @Test func rethrowsWhatTheJobThrows() async {
        struct Failure: Error {}
        let workers = DispatchWorkers(count: 2)
        await #expect(throws: Failure.self) { try await workers.run { () throws -> Int in throw Failure() } }
        #expect(await workers.run { 42 } == 42)
    }

    @Test func isReleasedWhenItsLastJobIsDone() async {
        weak var released: DispatchWorkers?
        do {
            let workers = DispatchWorkers(count: 4)
            released = workers
            for _ in 0..<10 { _ = await workers.run { 1 } }
        }
        // A worker drops its reference only after its last job returned its continuation.
        for _ in 0..<100 where released != nil { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(released == nil)
    }

    /// `each`: every target once, by name, with its environment's timeouts, never more than
    /// `count` bodies at a time however many targets there are.
    @Test func eachRunsEveryTargetOnceWithItsTimeoutsAndAtMostCountAtATime() async {
        let slow = Timeouts(lockTimeout: .seconds(7), statementTimeout: .seconds(70), connectTimeout: .seconds(3))
        let targets = (0..<5_000).map {
            Target(name: "t-\($0)", environment: $0 % 2 == 0 ? "even" : "odd", connection: .url("memory:t-\($0)"))
        }
        let inventory = Inventory(
            name: "i", file: "i.yaml", planDirectory: "plans/p",
            environments: [
                Environment(name: "even", tier: .dev, targets: targets.filter { $0.environment == "even" }),
                Environment(
                    name: "odd", tier: .dev, timeouts: slow, targets: targets.filter { $0.environment == "odd" }),
            ])
        let workers = DispatchWorkers(count: 3, label: "test-each")
        let meter = Meter()
        let results = await workers.each(targets, inventory: inventory) { target, timeouts in
            meter.enter()
            defer { meter.leave() }
            return "\(target.name) \(timeouts.lockTimeout == slow.lockTimeout ? "slow" : "standard")"
        }
        #expect(results.count == targets.count && meter.done == targets.count)
        #expect(
            targets.allSatisfy { results[$0.name] == "\($0.name) \($0.environment == "odd" ? "slow" : "standard")" })
        #expect(meter.maximum <= 3)
    }
}
