import Foundation
import Logging
import Synchronization
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkPlanner
import TidemarkTestSupport

@testable import TidemarkFleet

/// The apply use case driven as a library, on the in-memory backend: no binary, no terminal.
@Suite struct ApplyRunTests {

    /// A plan of three versions and an inventory of dev (2 targets) and live prod (1), on disk.
    struct Workspace {
        let files: TestWorkspace
        let store = MemoryStore()
        var root: URL { files.root }
        var inventory: String { files.inventory }
        var state: StateDirectory { StateDirectory(root: root.appendingPathComponent(".tidemark")) }
        var registry: BackendRegistry { BackendRegistry([MemoryBackend(store: store)]) }

        init() throws {
            files = try TestWorkspace(
                prefix: "tidemark-apply-run",
                scripts: [
                    "V1__users.sql": "CREATE TABLE users (id INTEGER)", "U1__users.sql": "DROP TABLE users",
                    "V2__orders.sql": "CREATE TABLE orders (id INTEGER)", "U2__orders.sql": "DROP TABLE orders",
                    "V3__items.sql": "CREATE TABLE items (id INTEGER)", "U3__items.sql": "DROP TABLE items",
                ]
            ) { id in
                """
                inventory: fleet
                plan: ../plans/app
                concurrency: 4
                order: [dev, prod]
                environments:
                  dev: { tier: dev, targets: [ { name: "dev-{1..2}", url: "memory:\(id)-dev-{1..2}" } ] }
                  prod: { tier: prod, live: true, targets: [ { name: prod-1, url: "memory:\(id)-prod-1" } ] }
                """
            }
        }

        func request(_ source: ApplyRequest.Source, confirmation: ApplyRequest.ProductionConfirmation = .given)
            -> ApplyRequest
        {
            var request = ApplyRequest(
                source: source, confirmation: confirmation, runID: "run-\(UUID().uuidString.prefix(8))",
                appliedBy: "test@host", environment: [:])
            request.stateDirectory = state
            return request
        }

        func run(_ request: ApplyRequest, observer: some ApplyObserver = SilentApplyObserver()) async throws(FleetError)
            -> ApplyResult
        {
            try await ApplyRun(registry: registry, logger: Logger.silent).run(request, observer: observer)
        }

        func tables(of target: String) throws -> Set<String> {
            let inventory = try FleetInputs.inventory(at: inventory)
            guard let target = inventory.target(named: target) else { return [] }
            return Set(["users", "orders", "items"].filter { store.columns(of: $0, in: target) != nil })
        }
    }

    /// Records what the run tells its observer.
    final class Recorder: ApplyObserver {
        let log = Mutex<[String]>([])
        func planned(_ rollout: Rollout, unreachable: [String: BackendError], policy: WavePolicy) {
            log.withLock { $0.append("planned \(rollout.targets.count)") }
        }
        func executionStarted(writes: Int) { log.withLock { $0.append("started \(writes)") } }
        func handle(_ event: RunEvent) {
            if case .targetFinished(let outcome) = event {
                log.withLock { $0.append("finished \(outcome.target) \(outcome.outcome.rawValue)") }
            }
        }
        func finished(_ result: ApplyResult) { log.withLock { $0.append("reported") } }
        var entries: [String] { log.withLock { $0 } }
    }

    @Test func appliesEveryPendingVersionAndWritesTheReport() async throws {
        let workspace = try Workspace()
        let recorder = Recorder()
        let result = try await workspace.run(workspace.request(.inventory(workspace.inventory)), observer: recorder)

        #expect(result.status == .succeeded)
        #expect(result.report?.targets.map(\.outcome) == [.succeeded, .succeeded, .succeeded])
        for target in ["dev-1", "dev-2", "prod-1"] {
            #expect(try workspace.tables(of: target) == ["users", "orders", "items"])
        }
        let path = try #require(result.reportPath)
        let written = try JSONDecoder.iso8601.decode(RunReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written.runID == result.report?.runID)
        // Times are kept to the millisecond: the saved report says how long the run took.
        let report = try #require(result.report)
        #expect(
            abs(
                written.finishedAt.timeIntervalSince(written.startedAt)
                    - report.finishedAt.timeIntervalSince(report.startedAt)) < 0.002)
        #expect(recorder.entries.first == "planned 3")
        #expect(recorder.entries.contains("started 3"))
        #expect(recorder.entries.last == "reported")

        let again = try await workspace.run(workspace.request(.inventory(workspace.inventory)))
        #expect(again.report?.targets.map(\.outcome) == [.unchanged, .unchanged, .unchanged])
    }

    @Test func prodWritesNeedConfirmationAndNothingRunsWithoutIt() async throws {
        let workspace = try Workspace()
        await #expect {
            try await workspace.run(workspace.request(.inventory(workspace.inventory), confirmation: .unavailable))
        } throws: { error in
            guard case FleetError.confirmationRequired(let targets) = error else { return false }
            return targets == ["prod-1"]
        }
        let asked = Mutex<[String]>([])
        await #expect(throws: FleetError.self) {
            try await workspace.run(
                workspace.request(
                    .inventory(workspace.inventory),
                    confirmation: .ask { targets, _ in
                        asked.withLock { $0 = targets }
                        return false
                    }))
        }
        #expect(asked.withLock { $0 } == ["prod-1"])
        // Refused before anything was written, dev included.
        #expect(try workspace.tables(of: "dev-1").isEmpty)
        #expect(try workspace.tables(of: "prod-1").isEmpty)

        // Dev alone needs no confirmation.
        let dev = try await workspace.run(
            workspace.request(
                .inventory(workspace.inventory, selection: TargetSelection(environments: ["dev"])),
                confirmation: .unavailable))
        #expect(dev.status == .succeeded)
        #expect(try workspace.tables(of: "dev-2") == ["users", "orders", "items"])
    }

    @Test func dryRunChangesNothingAndWritesNoReport() async throws {
        let workspace = try Workspace()
        let result = try await workspace.run(
            {
                var request = workspace.request(
                    .inventory(workspace.inventory, desiredVersion: "2"), confirmation: .unavailable)
                request.dryRun = true
                return request
            }())
        #expect(result.report == nil)
        #expect(result.writes.map(\.target) == ["dev-1", "dev-2", "prod-1"])
        #expect(result.rollout.desiredVersion?.text == "2")
        #expect(try workspace.tables(of: "dev-1").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: workspace.state.runs.path))
    }

    @Test func savedRolloutRunsAsPlannedAndAStaleOneRunsNothing() async throws {
        let workspace = try Workspace()
        let snapshot = try await FleetSnapshot.load(
            inventoryFile: workspace.inventory, selection: TargetSelection(environments: ["dev"]),
            registry: workspace.registry,
            logger: .silent)
        let path = workspace.root.appendingPathComponent("rollout.json").path
        try RolloutFile.write(try snapshot.rollout(to: "1"), to: path)

        // Someone moves dev-2 on after the rollout was saved: the saved rollout is stale.
        _ = try await workspace.run(
            workspace.request(
                .inventory(workspace.inventory, selection: TargetSelection(targets: ["dev-2"]), desiredVersion: "2")))
        await #expect {
            try await workspace.run(workspace.request(.savedRollout(path: path)))
        } throws: { error in
            guard case FleetError.staleRollout(_, let changes) = error else { return false }
            return changes.count == 1 && changes[0].hasPrefix("dev-2: its history changed")
        }
        #expect(try workspace.tables(of: "dev-1").isEmpty)

        let fresh = try await FleetSnapshot.load(
            inventoryFile: workspace.inventory, selection: TargetSelection(targets: ["dev-1"]),
            registry: workspace.registry, logger: .silent)
        try RolloutFile.write(try fresh.rollout(to: "1"), to: path)
        let result = try await workspace.run(workspace.request(.savedRollout(path: path)))
        #expect(result.status == .succeeded)
        #expect(try workspace.tables(of: "dev-1") == ["users"])
    }

    @Test func aSecondRunOfTheSameInventoryIsRefusedWhileTheFirstHoldsTheLock() async throws {
        let workspace = try Workspace()
        let held = try RunLock.acquire(inventoryFile: workspace.inventory, runID: "first", appliedBy: "someone@else")
        await #expect {
            try await workspace.run(workspace.request(.inventory(workspace.inventory)))
        } throws: { error in
            guard case FleetError.runLockHeld(let holder) = error else { return false }
            return holder.holder.contains("run first") && (error as? FleetError)?.category == .locked
        }
        withExtendedLifetime(held) {}
        #expect(try workspace.tables(of: "dev-1").isEmpty)
    }

    /// Partitions of one inventory are disjoint: each has its own run lock, and the same
    /// partition twice is refused naming it.
    @Test func eachPartitionHasItsOwnRunLock() async throws {
        let workspace = try Workspace()
        let held = try RunLock.acquire(
            inventoryFile: workspace.inventory, scope: "partition 0/2", runID: "first", appliedBy: "someone@else")
        await #expect {
            try await workspace.run(
                workspace.request(
                    .inventory(
                        workspace.inventory, selection: TargetSelection(partition: try Partition(index: 0, count: 2)))))
        } throws: { error in
            guard case FleetError.runLockHeld(let holder) = error else { return false }
            return holder.description.contains("(partition 0/2)") && holder.holder.contains("run first")
        }
        let other = try await workspace.run(
            workspace.request(
                .inventory(
                    workspace.inventory, selection: TargetSelection(partition: try Partition(index: 1, count: 2)))))
        #expect(other.status == .succeeded)
        withExtendedLifetime(held) {}
    }

    @Test func unreadableTargetsAreFailedOutcomesAndTheRunFails() async throws {
        let workspace = try Workspace()
        // A backend registry without the memory backend cannot read any target.
        let result = try await ApplyRun(registry: BackendRegistry([]), logger: .silent).run(
            workspace.request(.inventory(workspace.inventory, selection: TargetSelection(environments: ["dev"]))))
        #expect(result.status == .failed)
        #expect(result.unreachable.keys.sorted() == ["dev-1", "dev-2"])
        #expect(result.report?.targets.map(\.outcome) == [.failed, .failed])
        #expect(result.report?.targets.allSatisfy { $0.reason == "its state could not be read" } == true)
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601Milliseconds
        return decoder
    }
}

/// A saved rollout of a Diesel plan whose versions are all digits runs as planned: the file keeps
/// only a version's text, which alone would read back as a numeric version.
@Suite struct SavedDieselRolloutTests {
    @Test func allDigitDieselVersionsMatchTheirPlanWhenReadBack() async throws {
        let files = try TestWorkspace(
            prefix: "tidemark-diesel-rollout",
            scripts: [
                "20190301000000_users/up.sql": "CREATE TABLE users (id INTEGER)",
                "20190301000000_users/down.sql": "DROP TABLE users",
                "20190302000000_orders/up.sql": "CREATE TABLE orders (id INTEGER)",
                "20190302000000_orders/down.sql": "DROP TABLE orders",
            ]
        ) { id in
            """
            inventory: fleet
            plan: ../plans/app
            environments:
              dev: { tier: dev, targets: [ { name: dev-1, url: "memory:\(id)-dev-1" } ] }
            """
        }
        let store = MemoryStore()
        let registry = BackendRegistry([MemoryBackend(store: store)])
        let snapshot = try await FleetSnapshot.load(
            inventoryFile: files.inventory, selection: .all, registry: registry, logger: .silent)
        #expect(snapshot.plan.versionStyle == .diesel)
        let path = files.root.appendingPathComponent("rollout.json").path
        try RolloutFile.write(try snapshot.rollout(), to: path)

        var request = ApplyRequest(
            source: .savedRollout(path: path), confirmation: .given, runID: "diesel", appliedBy: "test@host",
            environment: [:])
        request.stateDirectory = StateDirectory(root: files.root.appendingPathComponent(".tidemark"))
        let result = try await ApplyRun(registry: registry, logger: .silent).run(request)
        #expect(result.status == .succeeded, "\(result.report?.targets.map { $0.error ?? "" } ?? [])")
        let target = try #require(try FleetInputs.inventory(at: files.inventory).target(named: "dev-1"))
        #expect(store.columns(of: "orders", in: target) == ["id"])
    }
}
