import Foundation
import TidemarkCore
import TidemarkFleet

/// How `tidemark adopt` words its report for people.
extension Tidemark.AdoptCommand {
    /// One block per target, then a count per outcome and where the report is.
    static func render(_ report: AdoptReport) -> String {
        var lines: [String] = []
        for target in report.targets {
            // Versions, notes and reasons come from another tool's history table: escaped.
            lines.append(contentsOf: block(target).map { PrintableText.escaped($0) })
        }
        lines.append("")
        let counts = Dictionary(grouping: report.targets, by: \.outcome).mapValues(\.count)
        let order: [AdoptedTarget.Outcome] = [.adopted, .wouldAdopt, .refused, .locked, .failed]
        let summary = order.compactMap { outcome in counts[outcome].map { "\($0) \(outcome.rawValue)" } }.joined(
            separator: ", ")
        lines.append(
            "\(report.dryRun ? "Dry run, nothing recorded" : "Adopt \(report.runID)"): \(summary.isEmpty ? "no targets" : summary)."
        )
        if let path = report.reportPath { lines.append("Report: \(path)") }
        return lines.joined(separator: "\n")
    }

    /// `shard-1 (prod): adopted from golang-migrate at 5 (5 baseline rows)`, its versions and notes.
    static func block(_ target: AdoptedTarget) -> [String] {
        let head = "\(target.target) (\(target.environment))"
        switch target.outcome {
        case .adopted, .wouldAdopt:
            let verb = target.outcome == .adopted ? "adopted" : "would adopt"
            let at = target.versions.last.map { "at \($0.version)" } ?? "at no version"
            let rows = target.versions.count
            let source = target.source == "baseline" ? "--baseline" : target.source ?? "?"
            var lines = ["\(head): \(verb) \(at) from \(source) (\(rows) baseline row\(rows == 1 ? "" : "s"))"]
            if !target.versions.isEmpty {
                let byEvidence = Dictionary(grouping: target.versions, by: \.evidence)
                for evidence in byEvidence.keys.sorted() {
                    lines.append(
                        "  \(evidence): \((byEvidence[evidence] ?? []).map(\.version).joined(separator: ", "))")
                }
            }
            if let forced = target.forced { lines.append("  forced over: \(forced)") }
            lines.append(contentsOf: target.notes.map { "  note: \($0)" })
            return lines
        case .refused:
            return ["\(head): refused (\(target.refusal ?? "")): \(target.reason ?? "")"]
        case .locked, .failed:
            return ["\(head): \(target.outcome.rawValue): \(target.reason ?? "")"]
        }
    }
}
