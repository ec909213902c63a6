import Foundation

/// One lock-risky statement of a planned step, with the target's size estimate of the relation
/// it changes. Thread-safe value.
package struct LockRisk: Sendable, Hashable, Codable {
    package var rule: LockRule
    /// Line of the statement in the script.
    package var line: Int
    /// The relation the statement changes first, then any other it locks.
    package var relations: [String]
    /// The target's catalog estimate of the rows of `relations.first`; nil when unknown.
    package var estimatedRows: Double?

    package init(rule: LockRule, line: Int, relations: [String], estimatedRows: Double? = nil) {
        self.rule = rule
        self.line = line
        self.relations = relations
        self.estimatedRows = estimatedRows
    }

    package init(_ finding: LockRiskFinding) {
        self.init(rule: finding.rule, line: finding.line, relations: finding.relations)
    }

    /// A MySQL ALTER that copies or rebuilds its table; nil for INSTANT and INPLACE without rebuild.
    package init?(_ finding: OnlineDDLFinding) {
        switch finding.onlineClass {
        case .copy: self.init(rule: .mysqlCopy, line: finding.line, relations: [finding.table])
        case .inplaceRebuild: self.init(rule: .mysqlInplaceRebuild, line: finding.line, relations: [finding.table])
        case .instant, .inplace: return nil
        }
    }

    /// Whether this risk, on a live environment with threshold `rows`, blocks the target: the lock
    /// is held for a scan or rewrite, and the table is estimated larger than the threshold.
    package func exceeds(_ rows: Int) -> Bool {
        guard rule.hold.scalesWithRows, let estimatedRows else { return false }
        return estimatedRows > Double(rows)
    }

    /// `ACCESS EXCLUSIVE on orders, rewrite, ~12.4M rows`: what the plan shows on the step.
    package var summary: String {
        var parts = ["\(rule.lock.rawValue)\(relations.first.map { " on \($0)" } ?? "")"]
        switch rule.hold {
        case .rewrite: parts.append("rewrite")
        case .scan: parts.append("full scan")
        case .brief: parts.append("brief")
        }
        parts.append(estimatedRows.map { "\(Self.rowCount($0)) rows" } ?? "size unknown")
        return parts.joined(separator: ", ")
    }

    /// `~12.4M`, `~200k`, `~10`: an estimate, rounded for reading.
    package static func rowCount(_ rows: Double) -> String {
        func short(_ value: Double, _ unit: String) -> String {
            let rounded = (value * 10).rounded() / 10
            let text = rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
            return "~\(text)\(unit)"
        }
        if rows >= 1_000_000_000 { return short(rows / 1_000_000_000, "G") }
        if rows >= 1_000_000 { return short(rows / 1_000_000, "M") }
        if rows >= 1_000 { return short(rows / 1_000, "k") }
        return "~\(Int(rows.rounded()))"
    }
}
