import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles

#if canImport(Glibc)
    import Glibc
#endif

/// `tidemark backup` and `tidemark restore` as use cases: one target, one file, on a dedicated
/// thread, with the same backup runner `apply` uses before a data-losing step. Thread-safe value.
package struct BackupRun: Sendable {
    package var inventory: Inventory
    package var registry: BackendRegistry
    package var logger: Logger

    package init(inventory: Inventory, registry: BackendRegistry, logger: Logger) {
        self.inventory = inventory
        self.registry = registry
        self.logger = logger
    }

    /// Where a backup of `target` goes when no `--out` is given:
    /// `.tidemark/backups/<target>/<timestamp>.dump`.
    package func defaultPath(for target: Target) throws(FleetError) -> String {
        switch TargetName.validated(target.name) {
        case .success(let name): return BackupPolicy().path(for: name, runID: RunIdentity.makeRunID()) ?? ""
        case .failure(let refused): throw .backup("\(refused).", locked: false)
        }
    }

    /// The sentence to print before a backup that may wait for locks (nil: it never waits).
    package func waitNotice(for target: Target) -> String? { runner(for: target).backupWait(for: target) }

    /// Backs `target` up to `path`.
    package func backup(_ target: Target, to path: String) async throws(FleetError) -> BackupRecord {
        let runner = runner(for: target)
        do {
            return try await DispatchWorkers(count: 1, label: "tidemark-backup").run {
                try runner.backup(target, to: path)
            }
        } catch let failure as BackupRunner.Failure {
            throw .backup(failure.description, locked: failure.locked)
        } catch {
            throw .backup("\(error)", locked: false)
        }
    }

    /// Puts `target` back to the backup at `path`; a prod target needs `confirmed`.
    package func restore(_ target: Target, from path: String, confirmed: Bool) async throws(FleetError) {
        guard access(path, F_OK) == 0 else { throw .noBackupFile(path) }
        if inventory.environment(named: target.environment)?.tier == .prod && !confirmed {
            throw .restoreNeedsConfirmation(target: target.name)
        }
        let runner = runner(for: target)
        do {
            try await DispatchWorkers(count: 1, label: "tidemark-restore").run {
                try runner.restore(target, from: path)
            }
        } catch let failure as BackupRunner.Failure {
            throw .backup(failure.description, locked: failure.locked)
        } catch {
            throw .backup("\(error)", locked: false)
        }
    }

    private func runner(for target: Target) -> BackupRunner {
        BackupRunner(registry: registry, timeouts: inventory.timeouts(for: target), logger: logger)
    }
}
