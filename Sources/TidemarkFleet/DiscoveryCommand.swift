import Foundation
import TidemarkCore

/// Runs a command source (docs/tenants.md#command-sources): the program in the inventory's
/// folder, within a timeout, its standard output returned as text. Stateless; thread-safe.
///
/// Output goes to temporary files, not pipes: a program that leaves a child holding the pipe
/// open, or that is killed at its timeout, can never leave Tidemark waiting on a read.
enum DiscoveryCommand {
    /// The most output a command may print (a 100,000-tenant list is about 15 MB).
    static let outputLimit = 64 * 1024 * 1024
    /// How much of standard error a failure shows: its last lines.
    static let shownErrorLines = 20

    /// Blocks until the command exits or `timeout` passes: call it on a worker thread.
    static func run(
        _ arguments: [String], in directory: String, timeout: Duration, environment: [String: String]
    ) -> Result<String, DiscoveryProblem> {
        guard let program = arguments.first else { return .failure(DiscoveryProblem("its command is empty")) }
        guard let executable = resolve(program, in: directory, path: environment["PATH"] ?? "/usr/bin:/bin") else {
            return .failure(
                DiscoveryProblem(
                    "the program '\(PrintableText.escaped(program))' is not an executable file (looked \(program.contains("/") ? "in \(directory)" : "on PATH"))"
                ))
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tidemark-discover-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        } catch {
            return .failure(
                DiscoveryProblem("cannot make a temporary folder for its output: \(error.localizedDescription)"))
        }
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil, attributes: [.posixPermissions: 0o600])
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil, attributes: [.posixPermissions: 0o600])

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            let out = try FileHandle(forWritingTo: outURL)
            let err = try FileHandle(forWritingTo: errURL)
            defer {
                try? out.close()
                try? err.close()
            }
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
        } catch {
            return .failure(
                DiscoveryProblem("cannot start '\(PrintableText.escaped(program))': \(error.localizedDescription)"))
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        if finished.wait(timeout: .now() + seconds) == .timedOut {
            process.terminate()
            if finished.wait(timeout: .now() + 2) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                finished.wait()
            }
            return .failure(
                DiscoveryProblem(
                    "'\(PrintableText.escaped(program))' did not finish within \(DurationText.text(timeout)) and was stopped; make it faster or set timeout: on the source\(stderrText(errURL))"
                ))
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how =
                process.terminationReason == .exit
                ? "exited with status \(process.terminationStatus)"
                : "was killed by signal \(process.terminationStatus)"
            return .failure(DiscoveryProblem("'\(PrintableText.escaped(program))' \(how)\(stderrText(errURL))"))
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: outURL.path)[.size] as? Int) ?? 0
        guard size <= outputLimit else {
            return .failure(
                DiscoveryProblem(
                    "'\(PrintableText.escaped(program))' printed \(size) bytes, more than the \(outputLimit) a command source may print"
                ))
        }
        guard let data = FileManager.default.contents(atPath: outURL.path),
            let text = String(data: data, encoding: .utf8)
        else {
            return .failure(DiscoveryProblem("the output of '\(PrintableText.escaped(program))' is not UTF-8 text"))
        }
        return .success(text)
    }

    /// `; it printed on standard error:` and its last lines, escaped; "" when it printed nothing.
    static func stderrText(_ url: URL) -> String {
        guard let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else { return "" }
        let text = String(decoding: data.suffix(16 * 1024), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(shownErrorLines)
        return "; it printed on standard error:\n"
            + lines.map { "    " + PrintableText.escaped(String($0)) }.joined(separator: "\n")
    }

    /// The program's path: a name with a `/` against the inventory's folder, a bare name on PATH.
    static func resolve(_ program: String, in directory: String, path: String) -> String? {
        let manager = FileManager.default
        if program.contains("/") {
            let full =
                program.hasPrefix("/")
                ? program : URL(fileURLWithPath: directory).appendingPathComponent(program).standardized.path
            return manager.isExecutableFile(atPath: full) ? full : nil
        }
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(program)"
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                manager.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }
}
