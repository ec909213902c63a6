import TidemarkCore
import TidemarkObserve
import TidemarkPlanner

/// Renders a rollout for people: per wave, each target's (or group of identical targets')
/// action, versions, reason and steps, data-losing steps marked.
enum RolloutText {
    /// Targets with identical plans are one entry (`shard-{01..40} (40 targets)`) unless `perTarget`.
    static func render(
        _ rollout: Rollout, unreachable: [String: BackendError] = [:], policy: WavePolicy? = nil,
        perTarget: Bool = false,
        terminal: Terminal = .standardOutput
    ) -> String {
        var lines: [String] = []
        let desired = rollout.desiredVersion.map { "version \($0)" } ?? "no version"
        lines.append(
            "rollout of plan \(PrintableText.escaped(rollout.plan)) to \(desired) (strategy \(rollout.strategy.rawValue))"
        )
        for (index, wave) in rollout.waves.enumerated() {
            var flags = [wave.tier.rawValue]
            if wave.tier == .prod { flags.append(wave.live ? "live" : "downtime window") }
            if wave.audit { flags.append("audit") }
            if let canary = wave.canary { flags.append("canary \(PrintableText.escaped(canary))") }
            lines.append("")
            lines.append(
                terminal.styled(
                    "wave \(index + 1): \(PrintableText.escaped(wave.environment)) (\(flags.joined(separator: ", ")))",
                    .bold))
            // What a failure here stops, before anything runs (it names the environment: escaped).
            if let said = policy?.rule(for: wave).summary(last: index == rollout.waves.count - 1) {
                lines.append("  \(PrintableText.escaped(said))")
            }
            // docs/windows.md: why this wave writes nothing now, and when it may.
            if let deferral = wave.deferral {
                lines.append("  " + terminal.styled("deferred: \(PrintableText.escaped(deferral.sentence))", .yellow))
            } else if policy?.rule(for: wave).approvalRequired == true,
                wave.targets.contains(where: \.action.writesTarget)
            {
                // docs/on-call.md#approvals: who must say yes before this wave starts.
                let environment = PrintableText.escaped(wave.environment)
                lines.append(
                    "  "
                        + terminal.styled(
                            "needs approval (approval: required): apply asks on a terminal at this wave; off one it defers unless --approve \(environment) (shared runs: tidemark approve RUN_ID --env \(environment))",
                            .yellow))
            }
            // Identical plans read as one entry; --per-target lists every target (blocked ones always are).
            for group in TargetGroup.groups(of: wave, perTarget: perTarget) {
                let target = group.representative
                let versions = PrintableText.escaped(Self.versions(of: target))
                let action = terminal.styled(
                    target.action.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0), style(for: target.action)
                )
                lines.append("  \(padded(PrintableText.escaped(group.countedName), 14)) \(action) \(versions)")
                // Reasons quote plan.yaml (quarantine reasons) and script directives: escaped.
                lines.append("      \(PrintableText.escaped(group.reason))")
                for step in target.steps {
                    var line =
                        "      \(step.kind.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(PrintableText.escaped(step.version.text).padding(toLength: 6, withPad: " ", startingAt: 0)) \(step.script.isEmpty ? "(record only)" : PrintableText.escaped(step.script))"
                    if step.nonTransactionalOnMySQL {
                        line += terminal.styled(
                            "  [NON-TRANSACTIONAL on MySQL: DDL commits statement by statement; a failure midway leaves the statements before it applied and the target dirty until `tidemark repair`]",
                            .yellow)
                    } else if !step.transactional {
                        line += "  [no transaction]"
                    }
                    if step.dataLosing {
                        // On prod, apply backs up first (unless --no-backup): say where, so the way back is known before the run.
                        let folder = group.isSingle ? PrintableText.escaped(target.target) : "<target>"
                        let backup = target.tier == .prod ? "; backed up first to .tidemark/backups/\(folder)/" : ""
                        line += terminal.styled(
                            "  [DATA-LOSING: \(PrintableText.escaped(step.dataLossNotes.joined(separator: "; "))); only a backup restores it\(backup)]",
                            .yellow)
                    }
                    lines.append(line)
                    if let batch = step.batch {
                        // docs/backfills.md#in-the-plan: the batches this target's table makes.
                        let size = "\(batch.size.formatted()) rows a batch"
                        let estimate =
                            step.batchEstimatedRows.map { rows in
                                "; \(LockRisk.rowCount(rows)) rows estimated, ~\(batch.batches(forRows: rows).formatted()) batches"
                            } ?? ""
                        lines.append(
                            "        [BATCHED: \(PrintableText.escaped(batch.table)) by \(PrintableText.escaped(batch.key)), \(size)\(estimate)]"
                        )
                    }
                    if let unfinished = target.abandonsBackfill,
                        step.kind == .compensate
                            ? step.compensates?.text == unfinished.version
                            : step.version.text == unfinished.version && step.kind != unfinished.kind
                    {
                        // docs/backfills.md#going-back-below-an-unfinished-backfill
                        let stopped =
                            unfinished.batch.map { batch in
                                "after key \(batch.lastKey.map(String.init) ?? "none") (\(batch.rows.formatted()) rows)"
                            } ?? ""
                        lines.append(
                            "        [UNFINISHED BACKFILL: the \(unfinished.kind.rawValue) of version \(PrintableText.escaped(unfinished.version)) stopped \(stopped); this step takes it back and that run is abandoned, not resumed]"
                        )
                    }
                    // docs/live-production.md#lint-and-lock-risk-in-the-plan: each lock-risky
                    // statement with this target's size; the acknowledgement if any.
                    for risk in step.lockRisks {
                        let acknowledged =
                            step.lockAcknowledged.map { reason in
                                step.lockAcknowledgedBy.map {
                                    "; acknowledged with --lock-ok by \(PrintableText.escaped($0)): \(PrintableText.escaped(reason))"
                                }
                                    ?? "; lock-ok: \(PrintableText.escaped(reason))"
                            } ?? ""
                        lines.append(
                            "        "
                                + terminal.styled(
                                    "[LOCK RISK: \(PrintableText.escaped(risk.summary)) (\(risk.rule.rawValue), line \(risk.line))\(acknowledged)]",
                                    .yellow))
                    }
                }
            }
        }
        if !unreachable.isEmpty {
            lines.append("")
            lines.append(terminal.styled("unreachable (not planned):", .red))
            // A BackendError names its target already.
            for (_, error) in unreachable.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(PrintableText.escaped(error.description))")
            }
        }
        let counts = rollout.actionCounts
        let summary = Action.allCases.compactMap { action in counts[action].map { "\($0) \(action.rawValue)" } }
        lines.append("")
        let planned =
            "\(rollout.targets.count) target\(rollout.targets.count == 1 ? "" : "s")\(summary.isEmpty ? " planned" : ": " + summary.joined(separator: ", "))"
        lines.append(planned + (unreachable.isEmpty ? "" : ", \(unreachable.count) unreachable"))
        let deferred = rollout.waves.filter { $0.deferral != nil }.flatMap(\.targets).filter(\.action.writesTarget)
            .count
        if deferred > 0 {
            lines.append(
                "\(deferred) target\(deferred == 1 ? "" : "s") to write deferred (change windows); apply writes them once their window opens, or now with --override-window \"REASON\""
            )
        }
        return lines.joined(separator: "\n")
    }

    /// `4 → 5`; a roll back says the way down first and where it lands: `4 → 3, then skip 5`.
    static func versions(of target: TargetPlan) -> String {
        // A rollout saved before `lowestVersion` was recorded (no decision) keeps the plain form.
        guard target.action == .rollback, target.decision != nil else {
            return "\(target.fromVersion ?? "-") → \(target.toVersion ?? "-")"
        }
        return path(
            from: target.fromVersion, lowest: target.lowestVersion, to: target.toVersion,
            steps: target.steps.map { ($0.kind, $0.version.text) })
    }

    /// `4 → 3, then forward 3, 4, then skip 5` when the steps start with undo steps; else `4 → 5`.
    static func path(from: String?, lowest: String?, to: String?, steps: [(kind: StepKind, version: String)]) -> String
    {
        guard steps.first?.kind == .undo else { return "\(from ?? "-") → \(to ?? "-")" }
        // The steps after the undo steps, grouped by kind in order: "forward 3, 4, then skip 5".
        var groups: [(kind: StepKind, versions: [String])] = []
        for step in steps.drop(while: { $0.kind == .undo }) {
            if let last = groups.last, last.kind == step.kind {
                groups[groups.count - 1].versions.append(step.version)
            } else {
                groups.append((step.kind, [step.version]))
            }
        }
        let then = groups.map { ", then \($0.kind.rawValue) \($0.versions.joined(separator: ", "))" }.joined()
        return "\(from ?? "-") → \(lowest ?? "-")\(then)"
    }

    /// `text` filled with spaces to `width`; longer text is kept whole (`padding(toLength:)` would cut it).
    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    static func style(for action: Action) -> Terminal.Style {
        switch action {
        case .none: return .dim
        case .forward: return .green
        case .rollback, .rollforward: return .cyan
        case .blocked: return .yellow
        }
    }
}
