import Foundation
import Synchronization

/// Runs a program other than tidemark (python3, chromium) found on `PATH`, as tests use real
/// peers to check what tidemark wrote. Thread-safe: each call starts its own process.
package enum ExternalTool {
    /// What one run printed and how it ended. Thread-safe value.
    package struct Result: Sendable, CustomStringConvertible {
        package var status: Int32
        package var standardOutput: String
        package var standardError: String

        package var description: String {
            "exit \(status)\n--- stdout\n\(standardOutput)--- stderr\n\(standardError)"
        }
    }

    /// Whether `tool` is on `PATH`.
    package static func exists(_ tool: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }

    /// Runs `tool arguments…` with standard input closed, awaited on a thread of its own (never
    /// blocking a Swift concurrency thread).
    package static func run(_ tool: String, _ arguments: [String], in directory: URL? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: try runBlocking(tool, arguments, in: directory))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "tidemark-test-tool"
            thread.start()
        }
    }

    private static func runBlocking(_ tool: String, _ arguments: [String], in directory: URL?) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Standard error on another thread, so neither pipe can fill up and stall the child.
        let errorData = Mutex(Data())
        let errorsRead = DispatchSemaphore(value: 0)
        let reader = Thread {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
            errorsRead.signal()
        }
        reader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        errorsRead.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }
}
