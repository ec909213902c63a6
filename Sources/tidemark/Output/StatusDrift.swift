import Foundation
import TidemarkCore
import TidemarkFleet

/// `status --drift`: one line per target, after the status table.
enum StatusDrift {
    /// One line per target checked, after the status table.
    static func render(_ rows: [StatusRow]) -> String {
        let lines = ["", "drift (live schema vs fingerprints.json):"] + rows.map { PrintableText.escaped(line($0)) }
        return "\n" + lines.joined(separator: "\n")
    }

    /// One target's line, before escaping (the error and the differences come from a server).
    private static func line(_ row: StatusRow) -> String {
        guard let drift = row.drift else { return "  \(row.target): -" }
        switch drift.status {
        case .none: return "  \(row.target): none"
        case .unrecorded, .unreadable: return "  \(row.target): \(drift.status.rawValue): \(drift.error ?? "")"
        case .drift, .columnOrder:
            let more =
                drift.differenceCount > drift.differences.count
                ? "; … \(drift.differenceCount - drift.differences.count) more" : ""
            return
                "  \(row.target): \(drift.status == .drift ? "DRIFT" : "column-order"): \(drift.differences.joined(separator: "; "))\(more)"
        }
    }
}
