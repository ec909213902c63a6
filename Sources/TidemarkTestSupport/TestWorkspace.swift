import Foundation

/// A plan directory (`plans/app`) and an inventory (`inventories/fleet.yaml`) on disk, in a
/// fresh temporary folder, for tests that drive the use cases as a library would.
/// Thread-safe value.
public struct TestWorkspace: Sendable {
    public let root: URL
    /// A unique prefix for `memory:` database names, so workspaces never share a database.
    public let id = UUID().uuidString

    public var inventory: String { root.appendingPathComponent("inventories/fleet.yaml").path }
    public var planDirectory: URL { root.appendingPathComponent("plans/app") }

    /// Writes `scripts` (path in the plan → SQL) into `plans/app` and the inventory `yaml(id)` returns,
    /// whose `plan:` should be `../plans/app`.
    public init(prefix: String = "tidemark-workspace", scripts: [String: String], inventory yaml: (_ id: String) -> String) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: planDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        for (name, sql) in scripts {
            // Diesel scripts live in a folder per version (`<version>_<name>/up.sql`).
            let file = planDirectory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try sql.write(to: file, atomically: true, encoding: .utf8)
        }
        try yaml(id).write(toFile: inventory, atomically: true, encoding: .utf8)
    }
}
