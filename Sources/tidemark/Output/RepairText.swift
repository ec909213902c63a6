import Foundation
import TidemarkCore
import TidemarkFleet

/// How `tidemark repair` words its report for people.
extension Tidemark.RepairCommand {
    /// The report as people read it: one block per dirty target, then a fleet-wide table
    /// when there are several, then what to run next.
    static func render(_ report: RepairReport, inventoryFile: String) -> String {
        var lines: [String] = []
        for name in report.unreachable.keys.sorted() {
            lines.append(PrintableText.escaped("\(name): cannot be read: \(report.unreachable[name] ?? "")"))
        }
        guard !report.targets.isEmpty else {
            lines.append("No dirty targets among the \(report.clean.count) selected; nothing to repair.")
            return lines.joined(separator: "\n")
        }
        for dirty in report.targets {
            // Errors, notes and names come from the database: each line escaped.
            lines.append(contentsOf: block(dirty, inventoryFile: inventoryFile).map { PrintableText.escaped($0) })
            lines.append("")
        }
        if report.targets.count > 1 {
            lines.append(contentsOf: fleetTable(report.targets))
            lines.append("")
        }
        lines.append(contentsOf: summary(report, inventoryFile: inventoryFile))
        return lines.joined(separator: "\n")
    }

    /// One target: the failed step, its error, the verdict with the first differences, invalid indexes, what was done.
    static func block(_ dirty: DirtyTarget, inventoryFile: String) -> [String] {
        var lines = [
            "\(dirty.target) (\(dirty.environment)): version \(dirty.version) \(dirty.kind.rawValue) failed outside a transaction (history row \(dirty.historyRow), \(ISO8601Timestamp.string(from: dirty.failedAt)))"
        ]
        lines.append("  error:  \(dirty.error ?? "none recorded (the run died before the row was completed)")")
        lines.append("  schema: \(verdict(dirty, inventoryFile: inventoryFile))")
        let diagnosis = dirty.diagnosis
        if diagnosis.verdict == .neither || diagnosis.verdict == .indistinguishable {
            if let diff = diagnosis.differencesFromBefore, !diff.isEmpty {
                lines.append("    against \(name(diagnosis.beforeVersion)): \(diff.summary(limit: 4))")
            }
            if let diff = diagnosis.differencesFromAfter, !diff.isEmpty {
                lines.append("    against \(name(diagnosis.afterVersion)): \(diff.summary(limit: 4))")
            }
        }
        if let statements = dirty.statements {
            // docs/mysql.md#a-half-applied-step: each statement against information_schema.
            lines.append("  statements (MySQL committed each one as it ran; checked against the live schema):")
            for check in statements.statements {
                let state: String
                switch check.state {
                case .applied: state = "in place"
                case .notApplied: state = "not there"
                case .unknown: state = "cannot tell"
                }
                // A row left by a killed run has no failing statement: the step stopped before this one.
                let stopped =
                    dirty.error?.hasPrefix("none recorded: the run died") == true ? " (stopped here)" : " (failed)"
                let failed = check.number == statements.failedAt ? stopped : ""
                lines.append("    \(check.number). line \(check.line): \(state)\(failed): \(check.summary)")
            }
            if statements.nothingApplied {
                lines.append("  proven: none of its statements took effect; `--auto` records it rolled back")
            } else if statements.isCleanBreak {
                let undo =
                    statements.undo == nil ? "" : ", or, if that fails again, undoes 1-\(statements.failedAt - 1)"
                lines.append(
                    "  proven: statements 1-\(statements.failedAt - 1) took effect and the rest did not; `--auto` finishes the step (runs \(statements.failedAt)-\(statements.statements.count))\(undo)"
                )
            }
        }
        for index in dirty.invalidIndexes {
            lines.append(
                "  INVALID index \(index.name) on \(index.table) (a failed CREATE INDEX CONCURRENTLY); drop it with: \(index.dropStatement)"
            )
        }
        switch dirty.outcome {
        case .diagnosed: break
        case .repaired:
            lines.append(
                "  recorded: \(dirty.resolution?.rawValue ?? "") (history row \(dirty.repairRow.map(String.init) ?? "?")); the target is no longer dirty"
            )
            if let note = dirty.note { lines.append("  \(note)") }
        case .leftDirty: lines.append("  left dirty: \(dirty.note ?? "")")
        case .locked: lines.append("  locked: \(dirty.note ?? "")")
        case .failed: lines.append("  failed: \(dirty.note ?? "")")
        }
        return lines
    }

    /// `equals version 1 (nothing of 2 remains)`, `equals version 2 (it completed)`, `neither (partly applied)`.
    static func verdict(_ dirty: DirtyTarget, inventoryFile: String) -> String {
        let diagnosis = dirty.diagnosis
        let undo = dirty.kind == .undo
        switch diagnosis.verdict {
        case .equalsBefore:
            return
                "equals \(name(diagnosis.beforeVersion)) (\(undo ? "the undo of \(dirty.version) left nothing" : "nothing of \(dirty.version) remains"))"
        case .equalsAfter:
            return "equals \(name(diagnosis.afterVersion)) (\(undo ? "the undo completed" : "it completed"))"
        case .neither:
            return "neither \(name(diagnosis.beforeVersion)) nor \(name(diagnosis.afterVersion)) (partly applied)"
        case .indistinguishable:
            return
                "cannot tell: \(name(diagnosis.beforeVersion)) and \(name(diagnosis.afterVersion)) have the same recorded fingerprint"
        case .unrecorded:
            return
                "unknown: no recorded fingerprint for version \(diagnosis.unrecordedVersions.joined(separator: ", ")) (run `\(RepairHint.rehearseRecord(inventoryFile: inventoryFile, planDirectory: ""))`)"
        case .unreadable:
            return "unknown: \(diagnosis.error ?? "the schema could not be read")"
        }
    }

    private static func name(_ version: String?) -> String {
        version.map { "version \($0)" } ?? "the empty schema (no version)"
    }

    /// Targets grouped by failed version, kind and verdict: the same bad version usually hits every shard.
    static func fleetTable(_ targets: [DirtyTarget]) -> [String] {
        struct Key: Hashable {
            var version: String, kind: StepKind, verdict: String, outcome: String
        }
        var groups: [Key: [String]] = [:]
        var order: [Key] = []
        for dirty in targets {
            let outcome =
                dirty.outcome == .repaired ? "recorded \(dirty.resolution?.rawValue ?? "")" : dirty.outcome.rawValue
            let key = Key(
                version: dirty.version, kind: dirty.kind, verdict: shortVerdict(dirty.diagnosis.verdict),
                outcome: outcome)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(dirty.target)
        }
        var table = TextTable("version", "step", "schema", "outcome", "targets")
        for key in order {
            let names = groups[key] ?? []
            let shown =
                names.count > 6
                ? names.prefix(6).joined(separator: ", ") + ", … (\(names.count))" : names.joined(separator: ", ")
            table.add([key.version, key.kind.rawValue, key.verdict, key.outcome, shown])
        }
        return ["\(targets.count) dirty targets:", table.render()]
    }

    private static func shortVerdict(_ verdict: DirtyDiagnosis.Verdict) -> String {
        switch verdict {
        case .equalsBefore: return "equals before (nothing remains)"
        case .equalsAfter: return "equals after (completed)"
        case .neither: return "neither (partly applied)"
        case .indistinguishable: return "cannot tell"
        case .unrecorded: return "no fingerprint"
        case .unreadable: return "unreadable"
        }
    }

    /// What to run next, with commands that work as printed.
    static func summary(_ report: RepairReport, inventoryFile: String) -> [String] {
        let inventory = RepairHint.shellWord(inventoryFile)
        let diagnosed = report.targets.filter { $0.outcome == .diagnosed }
        let remaining = report.targets.filter { $0.outcome == .diagnosed || $0.outcome == .leftDirty }
        var lines: [String] = []
        let repaired = report.targets.filter { $0.outcome == .repaired }
        if !repaired.isEmpty {
            lines.append(
                "Repaired \(repaired.count) of \(report.targets.count); `tidemark apply -i \(inventory)` takes them on from here (rolled-back versions run again)."
            )
        }
        if report.mode == "diagnose" && !diagnosed.isEmpty {
            lines.append("Nothing was changed.")
            let provable = diagnosed.filter {
                $0.diagnosis.provenResolution != nil || $0.statements?.autoResolution != nil
            }
            if !provable.isEmpty {
                lines.append(
                    "The schema proves \(provable.count) of \(diagnosed.count): `tidemark repair -i \(inventory) --auto` records them."
                )
            }
            if let first = remaining.first(where: { $0.diagnosis.provenResolution == nil }) ?? remaining.first {
                let target = RepairHint.shellWord(first.target)
                lines.append(
                    "To decide by hand, e.g.: `tidemark repair -i \(inventory) --target \(target) --mark-failed-step rolled-back` (or `--mark-failed-step resolved`)."
                )
            }
        } else if report.mode != "diagnose" {
            let left = report.targets.filter { $0.outcome == .leftDirty }
            if let first = left.first {
                lines.append(
                    "\(left.count) still dirty; fix each by hand (the differences above), then mark it, e.g. `tidemark repair -i \(inventory) --target \(RepairHint.shellWord(first.target)) --mark-failed-step rolled-back` (or `--mark-failed-step resolved`)."
                )
            }
        }
        return lines
    }
}
