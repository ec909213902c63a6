import Foundation

/// Runs the built `tidemark` executable as a user would, capturing its output and exit code.
/// Thread-safe: each call starts its own process.
package enum CommandRunner {
    /// What one run of the command produced.
    package struct Result: Sendable, CustomStringConvertible {
        package var status: Int32
        package var standardOutput: String
        package var standardError: String

        package var description: String {
            "exit \(status)\n--- stdout\n\(standardOutput)--- stderr\n\(standardError)"
        }
    }

    /// The repository root (the folder holding Package.swift), found from this source file.
    package static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// The `tidemark` binary beside the running test bundle (SwiftPM builds it with the tests).
    package static var executable: URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // macOS runs tests from inside a .xctest bundle: climb out of it.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS"
            || directory.lastPathComponent == "Contents"
        {
            directory.deleteLastPathComponent()
        }
        let candidate = directory.appendingPathComponent("tidemark")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        return repositoryRoot.appendingPathComponent(".build/debug/tidemark")
    }

    /// Another OS user to run the command as (through `setpriv`; the tests must run as root).
    package struct User: Sendable {
        package var name: String
        package var group: String

        package init(name: String, group: String) {
            self.name = name
            self.group = group
        }

        /// Debian's unprivileged user.
        package static let nobody = User(name: "nobody", group: "nogroup")

        /// Whether this process may run commands as another user.
        package static var canSwitch: Bool {
            geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
        }
    }

    /// Runs `tidemark arguments…` in `directory` with `environment` added to this process's
    /// environment, standard input closed (as under cron or CI), as `user` if one is given.
    package static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], as user: User? = nil
    ) throws -> Result {
        try launch(arguments, in: directory, environment: environment, as: user).collect()
    }

    /// The same, awaited without blocking a Swift concurrency thread: the process is waited for
    /// on a thread of its own. Tests run in parallel on a pool as small as the core count, and a
    /// blocked pool thread stalls every other suite (their timeouts then measure the wait).
    package static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], as user: User? = nil
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(
                        returning: try run(arguments, in: directory, environment: environment, as: user) as Result)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "tidemark-test-command"
            thread.start()
        }
    }

    /// A `tidemark` process started and not waited for: a test can signal it (SIGKILL a runner)
    /// and then collect what it printed. Thread-safe: the process is only signalled and awaited.
    package final class Launched: @unchecked Sendable {
        // @unchecked: Process and Pipe are not Sendable; this type only signals the process and
        // reads each pipe once, on the thread `wait()` starts.
        private let process: Process
        private let output: Pipe
        private let errors: Pipe?
        private let errorFile: URL?

        init(process: Process, output: Pipe, errors: Pipe?, errorFile: URL? = nil) {
            self.process = process
            self.output = output
            self.errors = errors
            self.errorFile = errorFile
        }

        /// What the process has written to standard error so far, when it writes to a file
        /// (`launch(…, standardErrorFile:)`): a test can wait for a line while it runs.
        package var standardErrorSoFar: String {
            errorFile.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
        }

        package var processIdentifier: Int32 { process.processIdentifier }

        /// Whether the process has not ended yet.
        package var isRunning: Bool { process.isRunning }

        /// Sends `signal` (SIGKILL, SIGINT) to the process.
        package func send(_ signal: Int32) {
            kill(process.processIdentifier, signal)
        }

        /// Waits for the process on a thread of its own and returns what it printed.
        package func wait() async -> Result {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
                let thread = Thread { [self] in continuation.resume(returning: collect()) }
                thread.name = "tidemark-test-launched"
                thread.start()
            }
        }

        /// Blocks until the process ends and returns what it printed. Both pipes are read before
        /// waiting, so a large output cannot fill a pipe and deadlock.
        func collect() -> Result {
            let outputData = output.fileHandleForReading.readDataToEndOfFile()
            let errorData = errors?.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(
                status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
                standardError: errorData.map { String(decoding: $0, as: UTF8.self) } ?? standardErrorSoFar)
        }
    }

    /// Starts `tidemark arguments…` in `directory` with `environment` added to this process's
    /// environment, standard input closed (as under cron or CI), as `user` if one is given,
    /// without waiting for it. With `standardErrorFile`, standard error goes to that file (read
    /// while the process runs with `standardErrorSoFar`).
    package static func launch(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], as user: User? = nil,
        standardErrorFile: URL? = nil
    ) throws -> Launched {
        let process = Process()
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments =
                ["--reuid=\(user.name)", "--regid=\(user.group)", "--clear-groups", "--", executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        process.currentDirectoryURL = directory ?? repositoryRoot
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        merged["NO_COLOR"] = "1"
        process.environment = merged
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        if let standardErrorFile {
            guard FileManager.default.createFile(atPath: standardErrorFile.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: standardErrorFile.path])
            }
            let handle = try FileHandle(forWritingTo: standardErrorFile)
            defer { try? handle.close() }
            process.standardError = handle
            try process.run()
            return Launched(process: process, output: output, errors: nil, errorFile: standardErrorFile)
        }
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        return Launched(process: process, output: output, errors: errors)
    }

    /// A fresh temporary directory, removed by the caller.
    package static func temporaryDirectory(_ prefix: String = "tidemark-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
