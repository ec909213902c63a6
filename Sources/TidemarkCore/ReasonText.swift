/// Words the planner's decisions: the one place that turns `Decision`, `Rule` and `BlockReason`
/// values into the sentences of `plan` and the rollout file. Thread-safe (no state).
package enum ReasonText {
    /// The one-sentence reason of a target's plan, starting with the target's name.
    /// `inventoryFile` goes into the commands a reason shows (`tidemark repair -i …`); nil only
    /// where no reason can name a command (a group of identical plans: blocked ones are never grouped).
    package static func sentence(for plan: TargetPlan, inventoryFile: String?) -> String {
        guard let decision = plan.decision else { return plan.reason }
        return "\(plan.target) \(clause(decision, plan: plan, inventoryFile: inventoryFile))."
    }

    /// The sentence of a reason found while executing (the drift gate), for the run report.
    package static func sentence(for reason: BlockReason, target: String, inventoryFile: String?) -> String {
        "\(target) \(clause(reason, rule: nil, target: target, inventoryFile: inventoryFile))."
    }

    /// The rule as a clause ("is live production: roll forward keeps the audit trail").
    package static func clause(_ rule: Rule) -> String {
        switch rule {
        case .liveProduction:
            return "is live production: roll forward keeps the audit trail"
        case .audited:
            return "is audited (audit: true): roll forward only, never roll back, so the full history stays"
        case .downtimeWindow:
            return "is production in its downtime window (live: false, no new data written): roll back is clean"
        case .nonProduction(let tier):
            return "is a \(tier.rawValue) environment: roll back is simple and touches no production audit"
        case .forcedRollForward:
            return "is rolled forward as asked (--strategy rollforward)"
        case .undoImpossible(let obstacle):
            return "cannot be rolled back (\(clause(obstacle))): roll forward"
        }
    }

    /// Why an undo is impossible ("version 4 has no undo script").
    package static func clause(_ obstacle: UndoObstacle) -> String {
        switch obstacle {
        case .noUndoScript(let version): return "version \(version) has no undo script"
        case .irreversible(let version, let reason): return "version \(version) is irreversible (\(reason))"
        }
    }

    private static func clause(_ decision: Decision, plan: TargetPlan, inventoryFile: String?) -> String {
        switch decision {
        case .upToDate:
            return
                "is at the desired state\(plan.fromVersion.map { " (version \($0))" } ?? " (nothing to apply)"); nothing to do"
        case .applyPending(let neverRun):
            let forwards = plan.steps.filter { $0.kind == .forward }.map(\.version.text)
            let skips = plan.steps.filter { $0.kind == .skip }.map { step in
                "v\(step.version) as skip (it compensates v\(step.compensates?.text ?? "?"), which this target never ran)"
            }
            var text =
                forwards.isEmpty
                ? "records" : "applies pending version\(forwards.count == 1 ? "" : "s") \(listed(forwards))"
            if !skips.isEmpty {
                text += (forwards.isEmpty ? " " : "; records ") + skips.joined(separator: ", ")
            }
            if !neverRun.isEmpty {
                text += "; quarantined \(neverRun.map { "v\($0)" }.joined(separator: ", ")) never runs here"
            }
            return text
        case .rollBack(let rule, let quarantined):
            let undone = plan.steps.filter { $0.kind == .undo }.map { "v\($0.version)" }
            let way =
                "\(plan.fromVersion.map { "v\($0)" } ?? "empty") → \(plan.lowestVersion.map { "v\($0)" } ?? "empty")"
            return "\(clause(rule)); undoes \(undone.joined(separator: ", ")) (\(way))\(note(quarantined))"
        case .rollForward(let rule, let compensations, let quarantined):
            // The audit trail as the spec writes it: the version before the bad one → the bad one → its compensation.
            let trail = compensations.map {
                "\($0.before.map { "v\($0)" } ?? "empty") → v\($0.reversed) → v\($0.compensation)"
            }
            let reverses = compensations.map { "v\($0.compensation) reverses v\($0.reversed)" }
            return
                "\(clause(rule)) \(trail.joined(separator: ", ")) (\(reverses.joined(separator: ", ")))\(note(quarantined))"
        case .blocked(let reason, let rule):
            return clause(reason, rule: rule, target: plan.target, inventoryFile: inventoryFile)
        }
    }

    /// A blocked reason with the rule it came up against, and what a human can do.
    private static func clause(_ reason: BlockReason, rule: Rule?, target: String, inventoryFile: String?) -> String {
        // "<rule>, but <obstacle>" where a rule required the impossible step.
        let ruleBut = rule.map { "\(clause($0)), but " } ?? ""
        switch reason {
        case .dirty(let version, let row):
            return
                "is dirty: version \(version) failed outside a transaction (history row \(row)) and may be half-applied; \(inventoryFile.map { RepairHint.sentence(inventoryFile: $0, target: target) } ?? "diagnose it with `tidemark repair` for this target")"
        case .unknownVersion(let version, let plan):
            return
                "has version \(version) applied, which plan \(plan) does not know; restore its script to the plan or find which plan this target belongs to"
        case .checksumMismatch(let version, let applied, let script, let current):
            return
                "ran version \(version) with checksum \(applied.prefix(12)), but \(script) now has \(current.prefix(12)); applied scripts must not change: restore the file, or add a new version for the change"
        case .outOfOrderGap(let applied, let missing):
            return
                "has version \(applied) applied but not \(missing), which comes before it (out-of-order gap); apply \(missing) by hand if it is independent, or roll back past it"
        case .cannotUndo(let obstacle):
            let restore =
                inventoryFile.map {
                    "tidemark restore -i \(RepairHint.shellWord($0)) --target \(RepairHint.shellWord(target)) <backup-file>"
                } ?? "tidemark restore"
            return "\(ruleBut)\(clause(obstacle)); only a restore from backup takes it back (`\(restore)`)"
        case .noCompensation(let version):
            return
                "\(ruleBut)version \(version) has no compensating migration in the plan; write one with `\(revert(version, inventoryFile))` (from its undo script) and plan again"
        case .compensationQuarantined(let version, let compensation):
            return
                "\(ruleBut)version \(compensation), which compensates \(version), is quarantined; write a new compensating version with `\(revert(version, inventoryFile))`"
        case .drift(let version, let differences, let count):
            let more = count > differences.count ? "; … \(count - differences.count) more" : ""
            let compare =
                inventoryFile.map {
                    ", or compare with `tidemark status -i \(RepairHint.shellWord($0)) --target \(RepairHint.shellWord(target)) --drift`"
                } ?? ""
            return
                "has drifted: its live schema is not the one recorded for \(version.map { "version \($0)" } ?? "an empty target") (\(differences.joined(separator: "; "))\(more)); someone changed it outside the plan. Undo the change\(compare); drift: block keeps Tidemark off it until then"
        case .lockRisk(let version, let script, let risk, let threshold):
            let table = risk.relations.first.map { " on \($0)" } ?? ""
            let held = risk.rule.rewrites ? "while it rewrites the table" : "while it scans every row"
            return
                "is live, but version \(version) (\(script):\(risk.line)) would hold \(risk.rule.lock.rawValue)\(table) \(held) (\(risk.rule.rawValue)), \(risk.estimatedRows.map { LockRisk.rowCount($0) } ?? "?") estimated rows, over lock_risk_rows \(threshold); instead: \(risk.rule.fix); or, if the lock is acceptable, say so in the script (-- tidemark:lock-ok <reason>) or for one run (--lock-ok \(version) --reason <reason>)"
        case .forcedRollbackRefused:
            return
                "\(rule.map { "\(clause($0)): " } ?? "")a forced roll back (--strategy rollback) is refused; use --strategy auto to roll forward"
        case .adoptFirst(let tool, let table):
            let adopt =
                inventoryFile.map {
                    "`tidemark adopt -i \(RepairHint.shellWord($0)) --target \(RepairHint.shellWord(target))`"
                }
                ?? "`tidemark adopt` for this target"
            return
                "was migrated by \(tool.rawValue) (its \(table) table has rows) and has no Tidemark history: applying the plan from the start would run its versions again; record what is applied first with \(adopt), then plan again"
        case .batchTable(let version, let script, let problem):
            return "cannot run batched version \(version) (\(script)): \(problem)"
        }
    }

    /// `tidemark revert V -i INVENTORY`, runnable as printed.
    private static func revert(_ version: Version, _ inventoryFile: String?) -> String {
        "tidemark revert \(version)" + (inventoryFile.map { " -i \(RepairHint.shellWord($0))" } ?? "")
    }

    private static func note(_ quarantined: [QuarantineEntry]) -> String {
        quarantined.map { "; v\($0.version) is quarantined: \($0.reason)" }.joined()
    }

    private static func listed(_ versions: [String]) -> String {
        versions.count > 4
            ? "\(versions[0])…\(versions[versions.count - 1]) (\(versions.count))" : versions.joined(separator: ", ")
    }
}
