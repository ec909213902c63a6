import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The per-process folder where fuzz targets write their input as files, because the parsers
/// under test read files. Not thread-safe: one input at a time.
enum ScratchDirectory {
    /// `$TIDEMARK_FUZZ_SCRATCH` or `$TMPDIR` (else /tmp), plus `tidemark-fuzz-<pid>`; created on
    /// first use.
    static let path: String = {
        let environment = ProcessInfo.processInfo.environment
        let base =
            [environment["TIDEMARK_FUZZ_SCRATCH"], environment["TMPDIR"]].compactMap { $0 }.first { !$0.isEmpty }
            ?? "/tmp"
        let path = "\(base)/tidemark-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// The folder `name` inside the scratch folder, created when missing.
    static func folder(_ name: String) -> String {
        let folder = "\(path)/\(name)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// An empty folder `name` inside the scratch folder (emptied when it exists).
    static func emptyFolder(_ name: String) -> String {
        let folder = "\(path)/\(name)"
        try? FileManager.default.removeItem(atPath: folder)
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Writes `bytes` to `file`, replacing it; false when the file system refused. Plain
    /// `fwrite`: no temporary file and no sync, which would make each input cost milliseconds.
    @discardableResult
    static func write(_ bytes: [UInt8], to file: String) -> Bool {
        guard let stream = fopen(file, "wb") else { return false }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stream) }
        return fclose(stream) == 0 && written == bytes.count
    }
}
