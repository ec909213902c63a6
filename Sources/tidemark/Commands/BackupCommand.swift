import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFleet

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
        @Option(
            name: .customLong("out"), help: "The backup file (default .tidemark/backups/<target>/<timestamp>.dump).")
        var out: String?
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let inventory = try await inventoryOption.loadFleet(logger: logging.makeLogger())
            let target = try inventory.requireTarget(self.target)
            let backups = BackupRun(inventory: inventory, registry: Backends.standard, logger: logging.makeLogger())
            let path = try out ?? backups.defaultPath(for: target)
            if let waits = backups.waitNotice(for: target) {
                Terminal.standardOutput.write("backing up \(target.name) to \(path) (\(waits))")
            }
            let record = try await backups.backup(target, to: path)
            Terminal.standardOutput.write(
                "backup of \(record.target) written to \(record.path) (\(record.method), \(record.bytes) bytes)")
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
            let backups = BackupRun(inventory: inventory, registry: Backends.standard, logger: logging.makeLogger())
            try await backups.restore(target, from: path, confirmed: yes)
            Terminal.standardOutput.write("\(target.name) restored from \(path)")
        }
    }
}
