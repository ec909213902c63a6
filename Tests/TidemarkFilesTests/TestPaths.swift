import Foundation

/// Where the tests find their fixtures, the shared corpora and scratch space.
enum TestPaths {
    /// `Tests/TidemarkFilesTests/Fixtures`, as copied into the test bundle.
    static let fixtures: String = {
        if let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) { return url.path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()

    /// A plan directory under `Fixtures/plans/`.
    static func plan(_ name: String) -> String { fixtures + "/plans/" + name }

    /// An inventory file under `Fixtures/inventories/`.
    static func inventory(_ name: String) -> String { fixtures + "/inventories/" + name }

    /// The repository root (three levels above this file).
    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `<repo>/../shared/corpora/lemmy`: real-world migrations, not copied into the repository.
    static let lemmy: String = repository.deletingLastPathComponent()
        .appendingPathComponent("shared/corpora/lemmy").standardizedFileURL.path

    static var lemmyIsPresent: Bool {
        FileManager.default.fileExists(atPath: lemmy + "/0001_diesel_initial_setup.up.sql")
    }

    /// A fresh empty directory, removed by the caller with `remove`.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tidemark-files-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `contents` (bytes as given) to `directory/name`, creating subdirectories.
    static func write(_ contents: String, to name: String, in directory: String) throws {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }
}
