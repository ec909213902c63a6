import Foundation
import Testing
import TidemarkExecutor
import TidemarkTestSupport

/// The run lock keeps one apply per inventory per machine, whichever OS user runs it: root's
/// cron run must not lock every other user out for good (they ran as two real users here).
@Suite(.enabled(if: CommandRunner.User.canSwitch, "needs root and setpriv to run as a second OS user"))
struct RunLockUserTests {
    /// A demo fleet every user may write: inventories, plans, SQLite files and `.tidemark/`.
    func workspace() throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-run-lock")
        for folder in ["inventories", "plans"] {
            try FileManager.default.copyItem(
                at: CommandRunner.repositoryRoot.appendingPathComponent(folder), to: root.appendingPathComponent(folder)
            )
        }
        let opened = Process()
        opened.executableURL = URL(fileURLWithPath: "/bin/chmod")
        opened.arguments = ["-R", "a+rwX", root.path]
        try opened.run()
        opened.waitUntilExit()
        return root
    }

    @Test func anotherUserWaitsForRootsRunThenTakesTheLockItLeft() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let locks = root.appendingPathComponent("locks").path
        let environment = ["TIDEMARK_LOCK_DIR": locks]
        let inventory = root.appendingPathComponent("inventories/demo.yaml").path

        // Root holds the lock (its cron run, say): the other user is told who holds it, exit 4.
        var held: RunLock? = try RunLock.acquire(
            inventoryFile: inventory, runID: "root-cron-run", appliedBy: "root@host", directory: locks)
        let refused = try await CommandRunner.run(
            ["apply", "-i", "inventories/demo.yaml", "--env", "dev"], in: root, environment: environment, as: .nobody)
        #expect(refused.status == 4, "\(refused)")
        #expect(refused.standardError.contains("run root-cron-run"), "\(refused)")
        withExtendedLifetime(held) {}
        held = nil

        // Root's run ended: the lock folder and file root made serve the other user now.
        let applied = try await CommandRunner.run(
            ["apply", "-i", "inventories/demo.yaml", "--env", "dev"], in: root, environment: environment, as: .nobody)
        #expect(applied.status == 0, "\(applied)")
        // And root after the other user.
        let again = try await CommandRunner.run(
            ["apply", "-i", "inventories/demo.yaml", "--env", "dev"], in: root, environment: environment)
        #expect(again.status == 0, "\(again)")
    }

    @Test func aLockFileLeftOwnerOnlyByAnOlderVersionStillLocks() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        // What earlier versions left behind: a 0755 folder and 0644 lock files owned by root.
        let locks = root.appendingPathComponent("old-locks")
        try FileManager.default.createDirectory(
            at: locks, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let inventory = root.appendingPathComponent("inventories/demo.yaml").path
        var held: RunLock? = try RunLock.acquire(
            inventoryFile: inventory, runID: "old-run", appliedBy: "root@host", directory: locks.path)
        let lockFile = try #require(held?.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locks.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: lockFile)

        let refused = try await CommandRunner.run(
            ["apply", "-i", "inventories/demo.yaml", "--env", "dev"], in: root,
            environment: ["TIDEMARK_LOCK_DIR": locks.path], as: .nobody)
        #expect(refused.status == 4, "\(refused)")
        withExtendedLifetime(held) {}
        held = nil
        let applied = try await CommandRunner.run(
            ["apply", "-i", "inventories/demo.yaml", "--env", "dev"], in: root,
            environment: ["TIDEMARK_LOCK_DIR": locks.path], as: .nobody)
        #expect(applied.status == 0, "\(applied)")
    }
}
