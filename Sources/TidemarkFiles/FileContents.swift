import Foundation
import TidemarkCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads whole files as `Data`, the way every Tidemark reader does (inventories, plans, saved
/// rollouts, reports, the outbox, fingerprints).
///
/// `Data(contentsOf:)` on Linux reads a file whose size is 0 into a 4 KB buffer it never frees
/// (swift-foundation's zero-size path, there for /proc files that report no size but have
/// content): 4 KB lost per empty file read. The plan fuzzer found it: its memory grew by 2 KB an
/// input until libFuzzer's 2 GB limit stopped it. A regular file reporting size 0 is read here
/// with read(2) instead, so an empty script costs nothing and a /proc file still reads whole.
package enum FileContents {
    package static func data(atPath path: String) throws -> Data {
        var status = stat()
        if stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_size == 0,
            let bytes = readToEnd(path)
        {
            return Data(bytes)
        }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    package static func data(at url: URL) throws -> Data {
        try data(atPath: url.path)
    }

    /// The file's bytes by read(2) until end of file; nil when it cannot be opened or read
    /// (the caller then lets Foundation say why).
    private static func readToEnd(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }
}
