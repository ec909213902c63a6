import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFleet

extension Tidemark {
    /// `tidemark lint`: the lock-risky statements of a plan's scripts, with the lock, rewrite and fix.
    struct LintCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract:
                "List the statements of a plan that hold long locks (PostgreSQL) or commit as they go (MySQL), with the safe alternative.",
            discussion: """
                Reads the scripts only; `tidemark plan -i INVENTORY` shows the same risks with each target's table sizes \
                and blocks live targets above lock_risk_rows. The dialect is --dialect, else one per kind of target in \
                the inventory, else postgres. Exits 0 (findings are warnings), 2 for invalid input.
                """)

        @OptionGroup var source: PlanSourceOptions
        @Option(
            help:
                "The rules: postgres, sqlite, mysql (8.0), mysql-VERSION, mariadb (10.11), mariadb-VERSION (default: from the inventory's targets, else postgres)."
        )
        var dialect: String?
        @Flag(help: "Print the findings as JSON (schema tidemark.lint/v1; an array when the inventory mixes dialects).")
        var json = false

        func validate() throws {
            if let dialect, DatabaseServer(dialect: dialect) == nil {
                throw ValidationError(
                    "--dialect '\(dialect)' is not one of \(DatabaseServer.dialectNames.joined(separator: ", ")) (a version may follow: mariadb-10.6)."
                )
            }
        }

        func run() async throws {
            let plan = try source.source.load()
            let dialects: [DatabaseServer]
            if let dialect, let named = DatabaseServer(dialect: dialect) {
                dialects = [named]
            } else if case .inventory(let path) = source.source {
                dialects = PlanLint.dialects(of: try FleetInputs.inventory(at: path))
            } else {
                dialects = [DatabaseServer(product: .postgresql, version: "")]
            }
            let reports = dialects.map { PlanLint.report(for: plan, dialect: $0) }
            if json {
                Terminal.standardOutput.write(reports.count == 1 ? try renderJSON(reports[0]) : try renderJSON(reports))
            } else {
                Terminal.standardOutput.write(
                    reports.map { Self.render($0, titled: reports.count > 1) }.joined(separator: "\n\n"))
            }
        }

        static func phrase(_ hold: LockHold) -> String {
            switch hold {
            case .brief: return "held briefly (the danger is the queue behind a long query)"
            case .scan: return "held while every row is scanned"
            case .rewrite: return "held while the table is rewritten"
            }
        }

        /// One line per finding (`file:line: rule: problem`), the lock and fix under it, then counts by rule.
        static func render(_ report: LintReport, titled: Bool = false) -> String {
            var lines: [String] = []
            if titled || report.dialect != "PostgreSQL" { lines.append("dialect \(report.dialect):") }
            for script in report.nonTransactional {
                lines.append(
                    "\(script.script):\(script.firstLine): non-transactional on MySQL: \(script.statements) statement\(script.statements == 1 ? "" : "s") run one by one, each committed as it runs"
                )
                lines.append(
                    "    if it fails at statement N, statements 1..N-1 stay applied and the target is dirty until `tidemark repair`; keep each DDL step small, or split DML into its own version"
                )
            }
            for item in report.onlineDDL {
                let finding = item.finding
                let dml = finding.concurrentDML ? "reads and writes go on" : "writes wait until it is done"
                lines.append(
                    "\(item.script):\(finding.line): \(finding.onlineClass.rawValue) on \(finding.table) (\(finding.operations.joined(separator: ", "))): \(dml)"
                )
                if finding.onlineClass != .instant { lines.append("    safe form: \(finding.safeForm)") }
                if let caveat = finding.caveat { lines.append("    note: \(caveat)") }
                if let reason = item.acknowledged, finding.onlineClass >= .inplaceRebuild {
                    lines.append("    acknowledged (lock-ok): \(reason)")
                }
            }
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
            var counts: [String] = []
            for onlineClass in OnlineDDLClass.allCases {
                let count = report.onlineDDL.filter { $0.finding.onlineClass == onlineClass }.count
                if count > 0 { counts.append("\(count) \(onlineClass.rawValue)") }
            }
            let classes = counts.isEmpty ? "" : "online DDL: \(counts.joined(separator: ", ")); "
            let nonTransactional =
                classes
                + (report.nonTransactional.isEmpty
                    ? "" : "\(report.nonTransactional.count) non-transactional on MySQL; ")
            lines.append(
                nonTransactional
                    + "\(report.findings.count) finding\(report.findings.count == 1 ? "" : "s") in \(report.scripts) script\(report.scripts == 1 ? "" : "s") of plan \(report.plan)"
                    + (flagged.isEmpty
                        ? "" : ": " + flagged.map { "\($0.rule.rawValue) \($0.count)" }.joined(separator: ", ")))
            // Script names, relation names (quoted identifiers) and reasons come from the plan: escaped.
            return lines.map { PrintableText.escaped($0) }.joined(separator: "\n")
        }
    }
}
