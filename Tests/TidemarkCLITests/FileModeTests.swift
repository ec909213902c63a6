import Foundation
import Testing
import TidemarkTestSupport

/// What Tidemark writes is readable by its owner only, whatever the umask: reports, pages,
/// saved rollouts, fleet pages and the SQLite databases it creates are 0600, the folders it
/// makes 0700. The metrics file is the one documented exception (0644: its collector reads it).
@Suite struct FileModeTests {
    /// A scratch copy of the demo fleet.
    func workspace() throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-modes")
        for folder in ["inventories", "plans"] {
            try FileManager.default.copyItem(
                at: CommandRunner.repositoryRoot.appendingPathComponent(folder), to: root.appendingPathComponent(folder)
            )
        }
        return root
    }

    /// Runs `tidemark` under umask 000, so any mode left to the umask would come out world-writable.
    func runPermissive(_ arguments: [String], in root: URL) async throws -> ExternalTool.Result {
        try await ExternalTool.run(
            "sh", ["-c", "umask 000; exec \"$0\" \"$@\"", CommandRunner.executable.path] + arguments, in: root)
    }

    func mode(_ path: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path.path)
        return try #require(attributes[.posixPermissions] as? Int) & 0o7777
    }

    @Test func everythingARunWritesIsOwnerOnlyWhateverTheUmask() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let apply = try await runPermissive(
            ["apply", "-i", "inventories/demo.yaml", "--yes", "--metrics-file", "metrics/tidemark.prom"], in: root)
        #expect(apply.status == 0, "\(apply)")
        let plan = try await runPermissive(
            ["plan", "-i", "inventories/demo.yaml", "--env", "dev", "--to", "3", "--out", "rollout.json"], in: root)
        #expect(plan.status == 0, "\(plan)")
        let status = try await runPermissive(
            ["status", "-i", "inventories/demo.yaml", "--html", "fleet.html"], in: root)
        #expect(status.status == 0, "\(status)")

        let state = root.appendingPathComponent(".tidemark")
        for folder in [state, state.appendingPathComponent("runs"), state.appendingPathComponent("demo")] {
            let actual = try mode(folder)
            #expect(actual == 0o700, "\(folder.path) is \(String(actual, radix: 8))")
        }
        let runs = try FileManager.default.contentsOfDirectory(
            at: state.appendingPathComponent("runs"), includingPropertiesForKeys: nil)
        #expect(runs.contains { $0.pathExtension == "json" } && runs.contains { $0.pathExtension == "html" }, "\(runs)")
        var files = runs
        files += ["dev.db", "prod-eu-1.db", "prod-shard-3.db"].map { state.appendingPathComponent("demo/\($0)") }
        files += [root.appendingPathComponent("rollout.json"), root.appendingPathComponent("fleet.html")]
        for file in files {
            let actual = try mode(file)
            #expect(actual == 0o600, "\(file.path) is \(String(actual, radix: 8))")
        }
        // The documented exception: node_exporter's textfile collector runs as another user.
        #expect(try mode(root.appendingPathComponent("metrics/tidemark.prom")) == 0o644)
    }

    @Test func stateFoldersAnOlderVersionMadeOpenBecomePrivate() async throws {
        let root = try workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let state = root.appendingPathComponent(".tidemark")
        for folder in [state, state.appendingPathComponent("runs")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        }
        let old = state.appendingPathComponent("runs/old.json")
        try Data("{}".utf8).write(to: old)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: old.path)

        let apply = try await runPermissive(["apply", "-i", "inventories/demo.yaml", "--env", "dev"], in: root)
        #expect(apply.status == 0, "\(apply)")
        #expect(try mode(state) == 0o700)
        #expect(try mode(state.appendingPathComponent("runs")) == 0o700)
    }
}
