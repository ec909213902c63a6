import Foundation
import TidemarkCore
import TidemarkFiles

/// Where Tidemark keeps what a run leaves behind: `.tidemark/` in the working directory, with
/// `runs/` (reports), `outbox/` (undelivered notifications) and `backups/`. Thread-safe value.
public struct StateDirectory: Sendable, Hashable {
    public var root: URL

    public init(root: URL = URL(fileURLWithPath: ".tidemark")) {
        self.root = root
    }

    public var runs: URL { root.appendingPathComponent("runs") }
    public var outbox: URL { root.appendingPathComponent("outbox") }
    public var backups: URL { root.appendingPathComponent("backups") }

    /// Makes `runs/` (and `.tidemark/`) 0700 when missing, and makes Tidemark's folders that an
    /// older version created 0755 private (0700) when their owner runs it.
    public func prepare() throws {
        try OwnerOnlyFile.makeFolders(runs, tightening: [root, runs, outbox, backups])
    }

    /// `runs/<run-id>.json`.
    public func report(runID: String) -> URL { runs.appendingPathComponent("\(runID).json") }

    /// `runs/<run-id>.html`: the report as a page, beside the JSON.
    public func page(runID: String) -> URL { runs.appendingPathComponent("\(runID).html") }

    /// The page beside a report written elsewhere (`--report out.json`: `out.html`).
    public static func page(besideReport path: String) -> URL {
        let url = URL(fileURLWithPath: path)
        return url.pathExtension == "json" ? url.deletingPathExtension().appendingPathExtension("html") : url.appendingPathExtension("html")
    }
}

/// Who runs, and the id of a run. Thread-safe (stateless).
public enum RunIdentity {
    /// `user@host`, recorded as `applied_by` in every history row (`TIDEMARK_APPLIED_BY` overrides).
    public static func currentOperator(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let user = environment["TIDEMARK_APPLIED_BY"] ?? environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
        return user.contains("@") ? user : "\(user)@\(ProcessInfo.processInfo.hostName)"
    }

    /// A run id that sorts by time: `20261124T230512Z-3fa9c1d2`.
    public static func makeRunID(now: Date = Date()) -> String {
        let stamp = now.formatted(.iso8601.year().month().day().dateSeparator(.omitted).time(includingFractionalSeconds: false).timeSeparator(.omitted))
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(stamp)-\(String(repeating: "0", count: max(0, 8 - suffix.count)))\(suffix)"
    }
}
