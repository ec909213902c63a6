import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet

/// `status --drift`: one line per target, after the status table.
enum StatusDrift {
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
