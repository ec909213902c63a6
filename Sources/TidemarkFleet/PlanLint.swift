import TidemarkCore

/// `tidemark lint`: every lock-risky statement of a plan's scripts, by `LockRiskClassifier`.
/// Reads files only; the size of each target's tables is `plan`'s business. Thread-safe (no state).
public enum PlanLint {
    /// The findings of every forward and undo script of `plan`, in version order, forward first.
    public static func report(for plan: Plan) -> LintReport {
        var findings: [LintReport.Finding] = []
        for migration in plan.migrations {
            let scripts = [(migration.forward, StepKind.forward)] + (migration.undo.map { [($0, StepKind.undo)] } ?? [])
            for (script, kind) in scripts {
                // A batched script's one statement is the fix for an unbatched data change (docs/backfills.md).
                for finding in LockRiskClassifier.findings(in: script.sql) where script.batch == nil || finding.rule != .unbatchedDataChange {
                    findings.append(
                        LintReport.Finding(
                            script: script.path, version: migration.version.text, kind: kind, line: finding.line,
                            endLine: finding.endLine, rule: finding.rule, relations: finding.relations,
                            acknowledged: script.lockAcknowledged))
                }
            }
        }
        return LintReport(plan: plan.name, directory: plan.directory, scripts: scriptCount(plan), findings: findings)
    }

    private static func scriptCount(_ plan: Plan) -> Int {
        plan.migrations.reduce(0) { $0 + 1 + ($1.undo == nil ? 0 : 1) }
    }
}

/// What `tidemark lint` found (`tidemark.lint/v1`). Thread-safe value.
public struct LintReport: Sendable, Hashable, Codable {
    /// One lock-risky statement, with the rule's lock, rewrite and fix spelled out for readers of the JSON.
    public struct Finding: Sendable, Hashable, Codable {
        /// The script's path in the plan.
        public var script: String
        public var version: String
        /// `forward` or `undo`.
        public var kind: StepKind
        /// Lines where the statement starts and ends.
        public var line: Int
        public var endLine: Int
        public var rule: LockRule
        public var lock: TableLock
        public var hold: LockHold
        public var rewrites: Bool
        /// The table (or index) the statement changes first, then any other it locks.
        public var relations: [String]
        public var problem: String
        public var fix: String
        /// The script's `-- tidemark:lock-ok` reason, if it has one.
        public var acknowledged: String?

        public init(
            script: String, version: String, kind: StepKind, line: Int, endLine: Int, rule: LockRule, relations: [String],
            acknowledged: String?
        ) {
            self.script = script
            self.version = version
            self.kind = kind
            self.line = line
            self.endLine = endLine
            self.rule = rule
            self.lock = rule.lock
            self.hold = rule.hold
            self.rewrites = rule.rewrites
            self.relations = relations
            self.problem = rule.problem
            self.fix = rule.fix
            self.acknowledged = acknowledged
        }
    }

    public var schema = "tidemark.lint/v1"
    public var plan: String
    public var directory: String
    /// How many scripts were read.
    public var scripts: Int
    public var findings: [Finding]

    public init(plan: String, directory: String, scripts: Int, findings: [Finding]) {
        self.plan = plan
        self.directory = directory
        self.scripts = scripts
        self.findings = findings
    }

    /// Findings per rule, for every rule of the catalogue (zero included), in catalogue order.
    public var countsByRule: [(rule: LockRule, count: Int)] {
        LockRule.allCases.map { rule in (rule, findings.filter { $0.rule == rule }.count) }
    }
}
