import Crypto
import Foundation
import Logging
import Synchronization
import TidemarkCore
import TidemarkTestSupport

/// Log lines captured from a `Logger`, so tests can check what an operator would read.
/// Thread-safe: lines sit behind a `Mutex`.
final class LogCapture: Sendable {
    private let storage = Mutex<[String]>([])

    var lines: [String] { storage.withLock { $0 } }
    var text: String { lines.joined(separator: "\n") }

    var logger: Logger {
        var logger = Logger(label: "tidemark-test") { _ in Handler(capture: self) }
        logger.logLevel = .debug
        return logger
    }

    fileprivate func append(_ line: String) { storage.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.append("\(event.level): \(event.message)")
        }
    }
}

/// Lower-case hex HMAC-SHA256, computed independently of the code under test.
func hmacHex(_ body: Data, secret: String) -> String {
    let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
    return Data(code).map { String(format: "%02x", $0) }.joined()
}

/// Runs the `tidemark` binary on a thread of its own, and says how long the process took as
/// measured on that thread: a test waiting for the process must not hold one of the few threads
/// of Swift's concurrency pool (two on a two-core machine), and the time must not include how
/// long the awaiting test then waits for a pool thread while other suites hold them all.
func runTidemark(_ arguments: [String], in directory: URL, environment: [String: String]) async throws -> (
    result: CommandRunner.Result, elapsed: Duration
) {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            let clock = ContinuousClock()
            let started = clock.now
            do {
                let result = try CommandRunner.run(arguments, in: directory, environment: environment)
                continuation.resume(returning: (result, clock.now - started))
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.start()
    }
}

/// A temporary folder for one test's outbox (or whole workspace), removed by the caller.
func temporaryFolder(_ prefix: String = "tidemark-notify") throws -> URL {
    try CommandRunner.temporaryDirectory(prefix)
}

/// The JSON files in an outbox folder, sorted by name.
func outboxFiles(_ folder: URL) -> [URL] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { $0.hasSuffix(".json") }.sorted().map { folder.appendingPathComponent($0) }
}

/// The POSIX permission bits of a file.
func permissions(_ file: URL) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber)?.intValue
}

/// Events of a small run, for library tests.
enum SampleEvents {
    static let runID = "20261124T230512Z-0000abcd"

    static func target(
        _ kind: EventKind, _ target: String, environment: String, action: Action = .forward, error: String? = nil,
        reason: String? = nil
    ) -> Event {
        Event(
            kind: kind, runID: runID, inventory: "demo", environment: environment, target: target, fromVersion: "3",
            toVersion: kind == .targetSucceeded ? "4" : "3",
            action: action, error: error, reason: reason, startedAt: Date(), finishedAt: Date())
    }

    static func finished(_ outcomes: [(environment: String, outcome: String)]) -> Event {
        let tally = Event.tally(outcomes.map { ($0.environment, $0.outcome) })
        return Event(
            kind: .runFinished, runID: runID, inventory: "demo", toVersion: "4",
            startedAt: Date(timeIntervalSinceNow: -2), finishedAt: Date(),
            counts: tally.counts, environmentCounts: tally.environments)
    }

    static func started(_ environments: [String]) -> Event {
        let tally = Event.tally(environments.map { ($0, "forward") })
        return Event(
            kind: .runStarted, runID: runID, inventory: "demo", toVersion: "4", counts: tally.counts,
            environmentCounts: tally.environments)
    }
}
