import Foundation
import Testing
import TidemarkCore
import TidemarkFiles

#if canImport(Glibc)
    import Glibc
#endif

/// `FileContents` reads what `Data(contentsOf:)` reads, without Foundation's 4 KB lost per empty
/// file on Linux (found by the plan fuzzer: its memory grew until libFuzzer's limit).
@Suite struct FileContentsTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tidemark-file-contents-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    @Test func readsEmptyAndNonEmptyFilesAsFoundationDoes() throws {
        let empty = folder.appendingPathComponent("empty.sql")
        let script = folder.appendingPathComponent("V1__a.sql")
        try Data().write(to: empty)
        try Data("CREATE TABLE a (id int);\n".utf8).write(to: script)
        #expect(try FileContents.data(atPath: empty.path) == Data())
        #expect(try FileContents.data(at: script) == Data(contentsOf: script))
        #expect(throws: (any Error).self) {
            try FileContents.data(atPath: folder.appendingPathComponent("missing.sql").path)
        }
        try FileManager.default.removeItem(at: folder)
    }

    @Test func readsProcFilesThatReportNoSize() throws {
        let status = try FileContents.data(atPath: "/proc/self/status")
        #expect(String(decoding: status, as: UTF8.self).contains("VmRSS:"))
    }

    /// `Data(contentsOf:)` keeps 4 KB for every empty file it reads: 10,000 reads, 40 MB of
    /// resident memory. Through `FileContents`, nothing. Other suites run beside this one in the
    /// same process and may grow it too, so the smallest growth of three rounds is what counts.
    @Test func readingEmptyFilesKeepsNoMemory() throws {
        let empty = folder.appendingPathComponent("empty.sql")
        try Data().write(to: empty)
        func residentKB() throws -> Int {
            let status = String(decoding: try FileContents.data(atPath: "/proc/self/status"), as: UTF8.self)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
            return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        }
        var growths: [Int] = []
        for _ in 0..<3 {
            let before = try residentKB()
            for _ in 0..<10_000 { _ = try FileContents.data(atPath: empty.path) }
            growths.append(try residentKB() - before)
        }
        #expect(
            try #require(growths.min()) < 20_000, "resident memory grew \(growths) KB per 10,000 reads of an empty file"
        )
        try FileManager.default.removeItem(at: folder)
    }
}
