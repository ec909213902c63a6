import Foundation
import TidemarkCore
import TidemarkFiles

/// Where Tidemark keeps what a run leaves behind: `.tidemark/` in the working directory, with
/// `runs/` (reports), `outbox/` (undelivered notifications) and `backups/`. Thread-safe value.
package struct StateDirectory: Sendable, Hashable {
    package var root: URL

    package init(root: URL = URL(fileURLWithPath: ".tidemark")) {
        self.root = root
    }

    package var runs: URL { root.appendingPathComponent("runs") }
    package var outbox: URL { root.appendingPathComponent("outbox") }
    package var backups: URL { root.appendingPathComponent("backups") }

    /// Makes `runs/` (and `.tidemark/`) 0700 when missing, and makes Tidemark's folders that an
    /// older version created 0755 private (0700) when their owner runs it.
    package func prepare() throws {
        try OwnerOnlyFile.makeFolders(runs, tightening: [root, runs, outbox, backups])
    }

    /// `runs/<run-id>.json`.
    package func report(runID: String) -> URL { runs.appendingPathComponent("\(runID).json") }

    /// `runs/<run-id>.html`: the report as a page, beside the JSON.
    package func page(runID: String) -> URL { runs.appendingPathComponent("\(runID).html") }

    /// The page beside a report written elsewhere (`--report out.json`: `out.html`).
    package static func page(besideReport path: String) -> URL {
        let url = URL(fileURLWithPath: path)
        return url.pathExtension == "json"
            ? url.deletingPathExtension().appendingPathExtension("html") : url.appendingPathExtension("html")
    }
}

/// Who runs, and the id of a run. Thread-safe (stateless).
package enum RunIdentity {
    /// `user@host`, recorded as `applied_by` in every history row (`TIDEMARK_APPLIED_BY` overrides).
    /// The user is the process's OS account (its effective user id's entry in the password
    /// database), not `$USER`, which cron, containers and `sudo -u` leave unset or wrong.
    package static func currentOperator(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let user =
            environment["TIDEMARK_APPLIED_BY"] ?? osUser() ?? environment["USER"] ?? environment["LOGNAME"]
            ?? "uid \(geteuid())"
        return user.contains("@") ? user : "\(user)@\(ProcessInfo.processInfo.hostName)"
    }

    /// The name of the process's effective user id in the password database (nil: no entry, as
    /// for a container's arbitrary uid).
    package static func osUser() -> String? {
        let size = max(sysconf(Int32(_SC_GETPW_R_SIZE_MAX)), 1024)
        var buffer = [CChar](repeating: 0, count: size)
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        let status = getpwuid_r(geteuid(), &entry, &buffer, buffer.count, &found)
        guard status == 0, let found, let name = found.pointee.pw_name else { return nil }
        let text = String(cString: name)
        return text.isEmpty ? nil : text
    }

    /// A runner's name when `--runner` is not given: the pod's or host's name (`HOSTNAME`, which
    /// Kubernetes sets to the pod's name), else the system's host name.
    package static func defaultRunnerName(environment: [String: String] = ProcessInfo.processInfo.environment) -> String
    {
        if let name = environment["HOSTNAME"], RunnerName.problem(name) == nil { return name }
        let host = ProcessInfo.processInfo.hostName
        return RunnerName.problem(host) == nil ? host : "runner"
    }

    /// A run id that sorts by time: `20261124T230512Z-3fa9c1d2`.
    package static func makeRunID(now: Date = Date()) -> String {
        let stamp = now.formatted(
            .iso8601.year().month().day().dateSeparator(.omitted).time(includingFractionalSeconds: false).timeSeparator(
                .omitted))
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(stamp)-\(String(repeating: "0", count: max(0, 8 - suffix.count)))\(suffix)"
    }
}

/// `--runner NAME`: what a runner of a shared run is called; its id in the control database is
/// `NAME/<pid>-<random>` (two runners on one host never collide). Thread-safe (stateless).
package enum RunnerName {
    /// Why `name` cannot name a runner (nil: it can): 1 to 64 letters, digits, `.`, `_`, `-`, `@`.
    package static func problem(_ name: String) -> String? {
        if name.isEmpty { return "a runner name cannot be empty" }
        if name.count > 64 { return "a runner name has at most 64 characters" }
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-@".unicodeScalars.contains(scalar))
        }
        return allowed ? nil : "a runner name holds only letters, digits, '.', '_', '-' and '@'"
    }

    /// `NAME/<pid>-<random>`.
    package static func runnerID(name: String, processIdentifier: Int32 = ProcessInfo.processInfo.processIdentifier)
        -> String
    {
        "\(name)/\(processIdentifier)-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
    }
}
