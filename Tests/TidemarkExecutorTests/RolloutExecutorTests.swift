import Foundation
import Logging
import Synchronization
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkPlanner
import TidemarkTestSupport

/// Counts steps in flight across every connection of a wrapped backend.
final class InFlightMeter: Sendable {
    private let counts = Mutex((current: 0, maximum: 0))
    private let order = Mutex<[String]>([])

    var maximum: Int { counts.withLock { $0.maximum } }
    var events: [String] { order.withLock { $0 } }

    func enter(_ target: String) {
        counts.withLock { state in
            state.current += 1
            state.maximum = max(state.maximum, state.current)
        }
        order.withLock { $0.append("start \(target)") }
    }

    func leave(_ target: String) {
        counts.withLock { $0.current -= 1 }
        order.withLock { $0.append("end \(target)") }
    }
}

/// A backend whose steps are measured by an `InFlightMeter`, around the in-memory backend.
struct MeteredBackend: Backend {
    let base: MemoryBackend
    let meter: InFlightMeter
    var kind: BackendKind { .memory }

    func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> any BackendConnection
    {
        MeteredConnection(
            base: try base.connect(to: target, access: access, timeouts: timeouts, logger: logger), meter: meter)
    }
}

/// Enters and leaves the meter around each step; forwards everything else.
final class MeteredConnection: ForwardingConnection {
    let base: any BackendConnection
    let meter: InFlightMeter

    init(base: any BackendConnection, meter: InFlightMeter) {
        self.meter = meter
        self.base = base
    }

    func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry {
        meter.enter(target.name)
        defer { meter.leave(target.name) }
        return try base.run(step)
    }
}

@Suite struct RolloutExecutorTests {

    static func plan(_ sql: [String] = ["CREATE TABLE a (id int);", "CREATE TABLE b (id int);"]) -> Plan {
        Plan(
            name: "p", directory: "plans/p", format: .flyway,
            migrations: sql.enumerated().map { index, text in
                Migration(
                    version: Version(numeric: String(index + 1)) ?? Version(numeric: "0")!,
                    description: "v\(index + 1)",
                    forward: Script(path: "V\(index + 1)__x.sql", sql: text, checksum: "c\(index + 1)"), undo: nil)
            })
    }

    struct Fleet {
        var inventory: Inventory
        var store = MemoryStore()
        var meter = InFlightMeter()

        init(
            _ environments: [(
                name: String, tier: Tier, count: Int, concurrency: Int?, canary: Bool, maxFailures: Int?
            )], concurrency: Int
        ) {
            let prefix = UUID().uuidString.prefix(8)
            inventory = Inventory(
                name: "fleet", file: "fleet.yaml", planDirectory: "plans/p", concurrency: concurrency,
                order: environments.map(\.name),
                environments: environments.map { spec in
                    let targets = (1...spec.count).map {
                        Target(
                            name: "\(spec.name)-\($0)", environment: spec.name,
                            connection: .url("memory:\(prefix)-\(spec.name)-\($0)"))
                    }
                    return Environment(
                        name: spec.name, tier: spec.tier, live: spec.tier == .prod, concurrency: spec.concurrency,
                        canary: spec.canary ? targets.first?.name : nil, maxFailures: spec.maxFailures, targets: targets
                    )
                })
        }

        func execute(
            _ plan: Plan, control: RunControl = RunControl(), latency: Duration? = nil,
            onOutcome: @escaping @Sendable (TargetOutcome) -> Void = { _ in }
        ) async -> ([TargetOutcome], [RunEvent]) {
            if let latency { store.setDefaultStepLatency(latency) }
            let rollout = Planner(inventory: inventory, plan: plan).plan(states: [:])
            let executor = RolloutExecutor(
                inventory: inventory, plan: plan,
                registry: BackendRegistry([MeteredBackend(base: MemoryBackend(store: store), meter: meter)]),
                runID: "r", appliedBy: "t", logger: Logger.silent, control: control)
            let events = Mutex<[RunEvent]>([])
            let outcomes = await executor.execute(rollout, onOutcome: onOutcome) { event in
                events.withLock { $0.append(event) }
            }
            return (outcomes, events.withLock { $0 })
        }
    }

    @Test func exactlyTheFleetLimitIsInFlightAboveTheCoreCount() async {
        let fleet = Fleet([("dev", .dev, 40, nil, false, nil)], concurrency: 8)
        let (outcomes, _) = await fleet.execute(Self.plan(), latency: .milliseconds(40))
        #expect(outcomes.count == 40)
        #expect(outcomes.allSatisfy { $0.outcome == .succeeded })
        #expect(
            fleet.meter.maximum == 8,
            "max in flight \(fleet.meter.maximum) on \(ProcessInfo.processInfo.activeProcessorCount) cores")
    }

    @Test func environmentLimitCapsItsWave() async {
        let fleet = Fleet([("dev", .dev, 12, 3, false, nil)], concurrency: 8)
        let (outcomes, _) = await fleet.execute(Self.plan(), latency: .milliseconds(30))
        #expect(outcomes.allSatisfy { $0.outcome == .succeeded })
        #expect(fleet.meter.maximum == 3)
    }

    @Test func canaryRunsAloneBeforeTheRestOfItsWave() async {
        let fleet = Fleet([("prod", .prod, 6, nil, true, nil)], concurrency: 8)
        let (outcomes, _) = await fleet.execute(Self.plan(), latency: .milliseconds(10))
        #expect(outcomes.allSatisfy { $0.outcome == .succeeded })
        let events = fleet.meter.events
        let lastCanaryEvent = events.lastIndex { $0.hasSuffix(" prod-1") } ?? -1
        let firstOther = events.firstIndex { !$0.hasSuffix(" prod-1") } ?? Int.max
        #expect(lastCanaryEvent < firstOther, "\(events)")
    }

    @Test func failedCanaryHaltsItsWaveAndEveryLaterWave() async throws {
        let fleet = Fleet([("prod", .prod, 4, nil, true, nil), ("later", .prod, 2, nil, false, nil)], concurrency: 4)
        // The canary already has table a, so v1's CREATE TABLE a fails there.
        let canary = try #require(fleet.inventory.target(named: "prod-1"))
        try fleet.store.seed(canary, schema: MemorySchema(tables: ["a": MemoryTable(name: "a", columns: ["id"])]))
        let (outcomes, events) = await fleet.execute(Self.plan())
        let byName = Dictionary(uniqueKeysWithValues: outcomes.map { ($0.target, $0) })
        #expect(byName["prod-1"]?.outcome == .failed)
        for name in ["prod-2", "prod-3", "prod-4", "later-1", "later-2"] {
            #expect(byName[name]?.outcome == .skipped, "\(name)")
        }
        #expect(byName["prod-2"]?.reason.contains("canary prod-1 of wave prod failed") == true)
        #expect(
            events.contains { if case .waveHalted(environment: "prod", _) = $0 { return true } else { return false } })
        #expect(fleet.meter.events.allSatisfy { $0.hasSuffix(" prod-1") })
    }

    /// A non-prod wave over its budget finishes its own targets (they say how far the failure
    /// reaches); the later waves do not start.
    @Test func failuresBeyondTheBudgetStopTheLaterWavesWhileADevWaveFinishesItsOwn() async throws {
        let fleet = Fleet([("dev", .dev, 5, 1, false, 1), ("test", .test, 2, nil, false, nil)], concurrency: 1)
        for name in ["dev-1", "dev-2", "dev-3"] {
            try fleet.store.seed(
                try #require(fleet.inventory.target(named: name)),
                schema: MemorySchema(tables: ["a": MemoryTable(name: "a", columns: ["id"])]))
        }
        let (outcomes, _) = await fleet.execute(Self.plan())
        #expect(outcomes.map(\.outcome) == [.failed, .failed, .failed, .succeeded, .succeeded, .skipped, .skipped])
        #expect(outcomes[5].reason.contains("wave dev halted after 2 failures (max_failures: 1)"))
    }

    /// No `max_failures` anywhere: one failed dev target keeps prod from starting (the default
    /// budget is 0 in every environment), and dev finishes its own targets.
    @Test func aDevFailureStopsTheLaterWavesByDefault() async throws {
        let fleet = Fleet([("dev", .dev, 3, 1, false, nil), ("prod", .prod, 3, 1, false, nil)], concurrency: 1)
        try fleet.store.seed(
            try #require(fleet.inventory.target(named: "dev-1")),
            schema: MemorySchema(tables: ["a": MemoryTable(name: "a", columns: ["id"])]))
        let (outcomes, _) = await fleet.execute(Self.plan())
        #expect(outcomes.map(\.outcome) == [.failed, .succeeded, .succeeded, .skipped, .skipped, .skipped])
        #expect(outcomes[3].reason == "not run: wave dev halted after 1 failure (max_failures: 0)")
    }

    /// A prod wave starts no new target of its own once its budget is spent.
    @Test func aProdWaveStartsNoNewTargetAfterItsFirstFailure() async throws {
        let fleet = Fleet([("prod", .prod, 3, 1, false, nil)], concurrency: 1)
        try fleet.store.seed(
            try #require(fleet.inventory.target(named: "prod-1")),
            schema: MemorySchema(tables: ["a": MemoryTable(name: "a", columns: ["id"])]))
        let (outcomes, _) = await fleet.execute(Self.plan())
        #expect(outcomes.map(\.outcome) == [.failed, .skipped, .skipped])
    }

    /// `max_failures: 1`: one failure lets the later waves run.
    @Test func aBudgetLetsLaterWavesRunDespiteThatManyFailures() async throws {
        let fleet = Fleet([("dev", .dev, 3, 1, false, 1), ("test", .test, 2, nil, false, nil)], concurrency: 1)
        try fleet.store.seed(
            try #require(fleet.inventory.target(named: "dev-1")),
            schema: MemorySchema(tables: ["a": MemoryTable(name: "a", columns: ["id"])]))
        let (outcomes, _) = await fleet.execute(Self.plan())
        #expect(outcomes.map(\.outcome) == [.failed, .succeeded, .succeeded, .succeeded, .succeeded])
    }

    @Test func aStopRequestStartsNoNewTarget() async {
        let fleet = Fleet([("dev", .dev, 6, 1, false, nil), ("test", .test, 2, nil, false, nil)], concurrency: 1)
        let control = RunControl()
        let (outcomes, _) = await fleet.execute(Self.plan(), control: control) { outcome in
            if outcome.target == "dev-2" { control.requestStop() }
        }
        #expect(outcomes.prefix(2).allSatisfy { $0.outcome == .succeeded })
        #expect(outcomes.dropFirst(2).allSatisfy { $0.outcome == .skipped }, "\(outcomes.map(\.outcome))")
        #expect(outcomes.count == 8)
    }

    @Test func transientConnectionFailuresAreRetriedBeforeAnyStep() async throws {
        let fleet = Fleet([("dev", .dev, 2, nil, false, nil)], concurrency: 2)
        let flaky = try #require(fleet.inventory.target(named: "dev-1"))
        try fleet.store.failNextConnections(to: flaky, count: 2, transient: true)
        let (outcomes, _) = await fleet.execute(Self.plan())
        #expect(outcomes.allSatisfy { $0.outcome == .succeeded }, "\(outcomes)")
        #expect(fleet.store.pendingConnectionFailures(for: flaky) == 0)
    }

    @Test func aTargetLockedByAnotherRunIsReportedAndLeftAlone() async throws {
        let fleet = Fleet([("dev", .dev, 2, nil, false, nil)], concurrency: 2)
        let held = try #require(fleet.inventory.target(named: "dev-2"))
        let other = try MemoryBackend(store: fleet.store).connect(to: held, timeouts: .standard, logger: Logger.silent)
        #expect(try other.tryLock(timeout: .milliseconds(100)))
        defer { other.close() }
        var inventory = fleet.inventory
        inventory.defaults.lockTimeout = .milliseconds(200)
        inventory.environments[0].timeouts.lockTimeout = .milliseconds(200)
        var locked = fleet
        locked.inventory = inventory
        let (outcomes, _) = await locked.execute(Self.plan())
        #expect(outcomes.first { $0.target == "dev-1" }?.outcome == .succeeded)
        #expect(outcomes.first { $0.target == "dev-2" }?.outcome == .locked)
        #expect(fleet.store.history(of: held).isEmpty)
    }
}
