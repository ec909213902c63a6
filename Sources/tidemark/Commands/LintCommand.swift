import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFleet

extension Tidemark {
    /// `tidemark lint`: the lock-risky statements of a plan's scripts, with the lock, rewrite and fix.
    struct LintCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "List the statements of a plan that hold long locks on PostgreSQL, with the safe alternative.",
            discussion: """
                Reads the scripts only; `tidemark plan -i INVENTORY` shows the same risks with each target's table sizes \
                and blocks live targets above lock_risk_rows. Exits 0 (findings are warnings), 2 for invalid input.
                """)

        @OptionGroup var source: PlanSourceOptions
        @Flag(help: "Print the findings as JSON (schema tidemark.lint/v1).")
        var json = false

        func run() async throws {
            let report = PlanLint.report(for: try source.source.load())
            Terminal.standardOutput.write(json ? try renderJSON(report) : Self.render(report))
        }

        static func phrase(_ hold: LockHold) -> String {
            switch hold {
            case .brief: return "held briefly (the danger is the queue behind a long query)"
            case .scan: return "held while every row is scanned"
            case .rewrite: return "held while the table is rewritten"
            }
        }

        /// One line per finding (`file:line: rule: problem`), the lock and fix under it, then counts by rule.
        static func render(_ report: LintReport) -> String {
            var lines: [String] = []
            for finding in report.findings {
                let table = finding.relations.first.map { " on \($0)" } ?? ""
                let others = finding.relations.dropFirst().map { " and \($0)" }.joined()
                lines.append("\(finding.script):\(finding.line): \(finding.rule.rawValue): \(finding.problem)")
                lines.append(
                    "    locks: \(finding.lock.rawValue)\(table)\(others), \(Self.phrase(finding.hold))")
                lines.append("    fix: \(finding.fix)")
                if let reason = finding.acknowledged { lines.append("    acknowledged (lock-ok): \(reason)") }
            }
            let flagged = report.countsByRule.filter { $0.count > 0 }
            lines.append(
                "\(report.findings.count) finding\(report.findings.count == 1 ? "" : "s") in \(report.scripts) script\(report.scripts == 1 ? "" : "s") of plan \(report.plan)"
                    + (flagged.isEmpty ? "" : ": " + flagged.map { "\($0.rule.rawValue) \($0.count)" }.joined(separator: ", ")))
            // Script names, relation names (quoted identifiers) and reasons come from the plan: escaped.
            return lines.map { PrintableText.escaped($0) }.joined(separator: "\n")
        }
    }
}
