import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles

/// `status --drift`: each target's live fingerprint against `plans/<name>/fingerprints.json`.
enum StatusDrift {
    /// Fills in `drift` for every row at a version; a missing fingerprints file is an input error.
    static func attach(to rows: inout [StatusRow], snapshot: FleetSnapshot, logger: Logger) async throws {
        let file: FingerprintFile
        do {
            guard let loaded = try FingerprintFile.load(inPlan: snapshot.plan.directory) else {
                throw CommandFailure(
                    .invalidInput,
                    "\(FingerprintFile.path(inPlan: snapshot.plan.directory)): no recorded fingerprints; run `tidemark rehearse --plan \(snapshot.plan.directory) --record` first.")
            }
            file = loaded
        } catch let error as PlanError {
            throw CommandFailure(.invalidInput, error.description)
        }
        var versions: [String: String] = [:]
        for row in rows where row.error == nil { versions[row.target] = row.version }
        let pool = DispatchWorkers(count: min(max(snapshot.inventory.concurrency, 1), 16), label: "tidemark-drift")
        let results = await DriftCheck(registry: Backends.standard, logger: logger).check(
            snapshot.targets, versions: versions, inventory: snapshot.inventory, pool: pool,
            recorded: { version, backend in file.fingerprint(of: version, backend: backend) })
        for index in rows.indices { rows[index].drift = results[rows[index].target] }
    }

    /// One line per target checked, after the status table.
    static func render(_ rows: [StatusRow]) -> String {
        var lines = ["", "drift (live schema vs fingerprints.json):"]
        for row in rows {
            guard let drift = row.drift else {
                lines.append("  \(row.target): -")
                continue
            }
            switch drift.status {
            case .none: lines.append("  \(row.target): none")
            case .unrecorded, .unreadable: lines.append("  \(row.target): \(drift.status.rawValue): \(drift.error ?? "")")
            case .drift, .columnOrder:
                let more = drift.differenceCount > drift.differences.count ? "; … \(drift.differenceCount - drift.differences.count) more" : ""
                lines.append("  \(row.target): \(drift.status == .drift ? "DRIFT" : "column-order"): \(drift.differences.joined(separator: "; "))\(more)")
            }
        }
        return "\n" + lines.joined(separator: "\n")
    }
}
