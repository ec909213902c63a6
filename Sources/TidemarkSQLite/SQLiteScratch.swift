import Foundation
import TidemarkCore

/// Scratch databases for `tidemark rehearse` without a server: a temporary SQLite file per
/// rehearsal, in a private temporary folder, removed afterwards. Thread-safe value.
package struct SQLiteScratchProvider: ScratchDatabaseProvider {
    /// The folder the files go in (default: the system's temporary folder).
    package let folder: String

    package init(folder: String = NSTemporaryDirectory()) {
        self.folder = folder
    }

    package var backend: any Backend { SQLiteBackend() }
    package var location: String { "a temporary SQLite file in \(folder)" }

    package func create() throws(BackendError) -> Target {
        let name = "tidemark-rehearse-\(UUID().uuidString.lowercased()).db"
        let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
        return Target(
            name: "scratch", environment: "rehearse", connection: ConnectionLocation.sqlite(path: path).connection)
    }

    package func drop(_ target: Target) {
        guard let path = try? SQLiteBackend.databasePath(of: target) else { return }
        for suffix in ["", "-wal", "-shm", "-journal", ".tidemark-lock"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }
}
