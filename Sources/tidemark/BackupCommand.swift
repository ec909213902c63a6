import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFleet
import TidemarkExecutor

extension Tidemark {
    /// `tidemark backup`: a restorable copy of one target (pg_dump -Fc, or SQLite's online backup).
    struct BackupCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup",
            abstract: "Back up one target: pg_dump -Fc of its schema (or database), or a SQLite online backup.",
            discussion: "Writes .tidemark/backups/<target>/<timestamp>.dump unless --out, mode 0600.")

        @OptionGroup var inventoryOption: InventoryOption
        @Option(name: .customLong("target"), help: "The target to back up.")
        var target: String
        @Option(name: .customLong("out"), help: "The backup file (default .tidemark/backups/<target>/<timestamp>.dump).")
        var out: String?
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let inventory = try await inventoryOption.loadFleet(logger: logging.makeLogger())
            let target = try inventory.requireTarget(self.target)
            let path: String
            if let out {
                path = out
            } else {
                switch TargetName.validated(target.name) {
                case .success(let name): path = BackupPolicy().path(for: name, runID: RunIdentity.makeRunID()) ?? ""
                case .failure(let refused): throw CommandFailure(.invalidInput, "\(refused).")
                }
            }
            let runner = BackupRunner(
                registry: Backends.standard, timeouts: inventory.timeouts(for: target),
                logger: logging.makeLogger())
            let pool = DispatchWorkers(count: 1, label: "tidemark-backup")
            if let waits = runner.backupWait(for: target) {
                Terminal.standardOutput.write("backing up \(target.name) to \(path) (\(waits))")
            }
            do {
                let record = try await pool.run { try runner.backup(target, to: path) }
                Terminal.standardOutput.write("backup of \(record.target) written to \(record.path) (\(record.method), \(record.bytes) bytes)")
            } catch let failure as BackupRunner.Failure {
                throw CommandFailure(failure.locked ? .locked : .failed, failure.description)
            }
        }
    }

    /// `tidemark restore`: puts a target back to a backup made by `tidemark backup` or `apply`.
    struct RestoreCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Restore one target from a backup (pg_restore --clean, or SQLite's online backup API).",
            discussion: """
                The target's tables, rows and history become the backup's: its version is the one it had \
                when the backup was taken. A prod target needs --yes.
                """)

        @OptionGroup var inventoryOption: InventoryOption
        @Option(name: .customLong("target"), help: "The target to restore.")
        var target: String
        @Argument(help: "The backup file.")
        var path: String
        @Flag(help: "Confirm restoring a prod target.")
        var yes = false
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let inventory = try await inventoryOption.loadFleet(logger: logging.makeLogger())
            let target = try inventory.requireTarget(self.target)
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure(.invalidInput, "\(path): no such backup file.")
            }
            if inventory.environment(named: target.environment)?.tier == .prod && !yes {
                throw CommandFailure(.invalidInput, "refusing to restore prod target \(target.name) without confirmation: pass --yes.")
            }
            let runner = BackupRunner(
                registry: Backends.standard, timeouts: inventory.timeouts(for: target),
                logger: logging.makeLogger())
            let pool = DispatchWorkers(count: 1, label: "tidemark-restore")
            let path = self.path
            do {
                try await pool.run { try runner.restore(target, from: path) }
                Terminal.standardOutput.write("\(target.name) restored from \(path)")
            } catch let failure as BackupRunner.Failure {
                throw CommandFailure(failure.locked ? .locked : .failed, failure.description)
            }
        }
    }
}
