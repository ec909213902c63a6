import Foundation

/// A plan directory (`plans/app`) and an inventory (`inventories/fleet.yaml`) on disk, in a
/// fresh temporary folder, for tests that drive the use cases as a library would.
/// Thread-safe value.
package struct TestWorkspace: Sendable {
    package let root: URL
    /// A unique prefix for `memory:` database names, so workspaces never share a database.
    package let id = UUID().uuidString

    package var inventory: String { root.appendingPathComponent("inventories/fleet.yaml").path }
    package var planDirectory: URL { root.appendingPathComponent("plans/app") }

    /// Writes `scripts` (path in the plan → SQL) into `plans/app` and the inventory `yaml(id)` returns,
    /// whose `plan:` should be `../plans/app`.
    package init(
        prefix: String = "tidemark-workspace", scripts: [String: String], inventory yaml: (_ id: String) -> String
    ) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: planDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        for (name, sql) in scripts {
            // Diesel scripts live in a folder per version (`<version>_<name>/up.sql`).
            let file = planDirectory.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try sql.write(to: file, atomically: true, encoding: .utf8)
        }
        try yaml(id).write(toFile: inventory, atomically: true, encoding: .utf8)
    }

    /// Writes each `relative path → text` below `root`, making the folders: a plan and an
    /// inventory for the command-line tests in one call.
    package static func write(_ files: [String: String], under root: URL) throws {
        for (path, text) in files {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
    }

    /// `plans/shop`: v1 creates `orders` with two rows and their totals (1750 in all), v2 drops
    /// the totals (data-losing: only a backup brings them back).
    package static let dataLosingShopPlan = [
        "plans/shop/1_orders.up.sql":
            "CREATE TABLE orders (id integer PRIMARY KEY, total_cents integer NOT NULL);\nINSERT INTO orders VALUES (1, 500), (2, 1250);\n",
        "plans/shop/1_orders.down.sql": "DROP TABLE orders;\n",
        "plans/shop/2_drop_totals.up.sql": "ALTER TABLE orders DROP COLUMN total_cents;\n",
        "plans/shop/2_drop_totals.down.sql": "ALTER TABLE orders ADD COLUMN total_cents integer NOT NULL DEFAULT 0;\n",
    ]
}
