import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkPlanner
import TidemarkTestSupport

/// The backup gate in `TargetRunner`: prod targets are backed up once, before their first
/// data-losing step; other tiers and `--no-backup` are not; a backend that cannot back up
/// stops the step.
@Suite struct BackupGateTests {

    /// v1 creates two tables, v2 and v3 each drop one (both data-losing).
    static let plan = Plan(
        name: "p", directory: "plans/p", format: .flyway,
        migrations: [
            ("1", "CREATE TABLE a (id int); CREATE TABLE b (id int);"), ("2", "DROP TABLE a;"), ("3", "DROP TABLE b;"),
        ].compactMap { version, sql in
            Version(numeric: version).map { parsed in
                Migration(
                    version: parsed, description: "v\(version)",
                    forward: Script(path: "V\(version)__x.sql", sql: sql, checksum: "c\(version)"),
                    undo: nil)
            }
        })

    func run(tier: Tier, backups: BackupPolicy, backend: (MemoryStore) -> any Backend = { MemoryBackend(store: $0) })
        throws
        -> (TargetOutcome, MemoryStore, Target)
    {
        let store = MemoryStore()
        let target = Target(name: "t", environment: "e", connection: .url("memory:gate-\(UUID().uuidString)"))
        let inventory = Inventory(
            name: "i", file: "i.yaml", planDirectory: "plans/p",
            environments: [Environment(name: "e", tier: tier, targets: [target])])
        let rollout = Planner(inventory: inventory, plan: Self.plan).plan(states: [:])
        let targetPlan = try #require(rollout.targets.first)
        let runner = TargetRunner(
            plan: Self.plan, runID: "run-1", appliedBy: "test", logger: Logger.silent, backups: backups)
        return (runner.run(targetPlan, on: target, backend: backend(store), timeouts: .standard), store, target)
    }

    @Test func prodTargetIsBackedUpOnceBeforeItsFirstDataLosingStep() throws {
        let (outcome, store, target) = try run(tier: .prod, backups: BackupPolicy(directory: "backups"))
        #expect(outcome.outcome == .succeeded, "\(outcome)")
        #expect(outcome.backup?.path.hasSuffix("backups/t/run-1.dump") == true)
        #expect(outcome.restoreOnlySteps == ["2 forward (DROP TABLE at line 1)", "3 forward (DROP TABLE at line 1)"])
        // Restoring the snapshot brings back the state before v2: both tables, history through v1.
        try MemoryBackend(store: store).restore(
            target, from: outcome.backup?.path ?? "", timeouts: .standard, logger: Logger.silent)
        #expect(store.tables(of: target) == ["a", "b"])
        #expect(store.history(of: target).map(\.version) == ["1"])
    }

    @Test func otherTiersAndNoBackupRunWithoutOne() throws {
        let (dev, _, _) = try run(tier: .dev, backups: BackupPolicy(directory: "backups"))
        #expect(dev.outcome == .succeeded && dev.backup == nil)
        let (unguarded, _, _) = try run(tier: .prod, backups: .disabled)
        #expect(unguarded.outcome == .succeeded && unguarded.backup == nil)
    }

    @Test func backendThatCannotBackUpStopsTheDataLosingStep() throws {
        struct PlainBackend: Backend {
            let base: MemoryBackend
            var kind: BackendKind { .memory }
            func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger)
                throws(BackendError) -> any BackendConnection
            {
                try base.connect(to: target, access: access, timeouts: timeouts, logger: logger)
            }
        }
        let (outcome, store, target) = try run(tier: .prod, backups: BackupPolicy(directory: "backups")) {
            PlainBackend(base: MemoryBackend(store: $0))
        }
        #expect(outcome.outcome == .failed)
        #expect(
            outcome.error?.contains("the backup before data-losing version 2 failed, so that step did not run") == true,
            "\(outcome)")
        #expect(outcome.steps.map(\.version) == ["1"])
        #expect(store.tables(of: target) == ["a", "b"])
    }
}
