import TidemarkCore
import TidemarkSQLCheck

/// `tidemark lint`: every lock-risky statement of a plan's scripts, by `LockRiskClassifier` on
/// PostgreSQL; on MySQL and MariaDB the scripts that commit as they go. SQLite takes no locks
/// that block readers, so it has no findings. Reads files only; the size of each target's
/// tables is `plan`'s business. Thread-safe (no state).
package enum PlanLint {
    /// The dialects to lint `inventory`'s plan in when none is named: one per kind of target
    /// (PostgreSQL first), MySQL as 8.0 (without a server, the flavour is not known).
    package static func dialects(of inventory: Inventory) -> [DatabaseServer] {
        let kinds = Set(inventory.allTargets.map(\.backendKind))
        var dialects: [DatabaseServer] = []
        // PostgreSQL's rules also for a kind Tidemark does not ship (the tests' in-memory backend speaks its SQL).
        if kinds.isEmpty || kinds.contains(where: { $0 != .mysql && $0 != .sqlite }) {
            dialects.append(DatabaseServer(product: .postgresql, version: ""))
        }
        if kinds.contains(.mysql) { dialects.append(DatabaseServer(product: .mysql, version: "8.0")) }
        if kinds.contains(.sqlite) { dialects.append(DatabaseServer(product: .sqlite, version: "")) }
        return dialects
    }

    /// The findings of every forward and undo script of `plan`, in version order, forward first,
    /// by the rules of `dialect` (PostgreSQL's when nil).
    package static func report(for plan: Plan, dialect: DatabaseServer? = nil) -> LintReport {
        let dialect = dialect ?? DatabaseServer(product: .postgresql, version: "")
        var findings: [LintReport.Finding] = []
        var nonTransactional: [LintReport.NonTransactionalScript] = []
        var onlineDDL: [LintReport.OnlineDDL] = []
        for migration in plan.migrations {
            let scripts = [(migration.forward, StepKind.forward)] + (migration.undo.map { [($0, StepKind.undo)] } ?? [])
            for (script, kind) in scripts {
                if dialect.isMySQLFamily {
                    if let note = LintReport.NonTransactionalScript(
                        script: script, version: migration.version.text, kind: kind)
                    {
                        nonTransactional.append(note)
                    }
                    for finding in MySQLOnlineDDL.findings(in: script.sql, server: dialect) {
                        onlineDDL.append(
                            LintReport.OnlineDDL(
                                script: script.path, version: migration.version.text, kind: kind, finding: finding,
                                acknowledged: script.lockAcknowledged))
                    }
                    continue
                }
                guard dialect.product == .postgresql else { continue }
                // A batched script's one statement is the fix for an unbatched data change (docs/backfills.md).
                for finding in LockRiskClassifier.findings(in: script.sql)
                where script.batch == nil || finding.rule != .unbatchedDataChange {
                    findings.append(
                        LintReport.Finding(
                            script: script.path, version: migration.version.text, kind: kind, line: finding.line,
                            endLine: finding.endLine, rule: finding.rule, relations: finding.relations,
                            acknowledged: script.lockAcknowledged))
                }
            }
        }
        var report = LintReport(
            plan: plan.name, directory: plan.directory, scripts: scriptCount(plan), findings: findings)
        report.dialect = dialect.description
        report.nonTransactional = nonTransactional
        report.onlineDDL = onlineDDL
        return report
    }

    private static func scriptCount(_ plan: Plan) -> Int {
        plan.migrations.reduce(0) { $0 + 1 + ($1.undo == nil ? 0 : 1) }
    }
}

/// What `tidemark lint` found (`tidemark.lint/v1`). Thread-safe value.
package struct LintReport: Sendable, Hashable, Codable {
    /// One lock-risky statement, with the rule's lock, rewrite and fix spelled out for readers of the JSON.
    package struct Finding: Sendable, Hashable, Codable {
        /// The script's path in the plan.
        package var script: String
        package var version: String
        /// `forward` or `undo`.
        package var kind: StepKind
        /// Lines where the statement starts and ends.
        package var line: Int
        package var endLine: Int
        package var rule: LockRule
        package var lock: TableLock
        package var hold: LockHold
        package var rewrites: Bool
        /// The table (or index) the statement changes first, then any other it locks.
        package var relations: [String]
        package var problem: String
        package var fix: String
        /// The script's `-- tidemark:lock-ok` reason, if it has one.
        package var acknowledged: String?

        package init(
            script: String, version: String, kind: StepKind, line: Int, endLine: Int, rule: LockRule,
            relations: [String],
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

    /// A script that MySQL commits statement by statement (docs/mysql.md#steps-transactions-and-ddl).
    package struct NonTransactionalScript: Sendable, Hashable, Codable {
        package var script: String
        package var version: String
        package var kind: StepKind
        /// How many statements it runs, one by one.
        package var statements: Int
        /// The line of the first statement that commits implicitly.
        package var firstLine: Int

        /// Nil when every statement is DML (the step runs in one transaction) or the script is empty.
        package init?(script: Script, version: String, kind: StepKind) {
            guard let statements = try? MySQLScript.statements(in: script.sql) else {
                self.init(script: script.path, version: version, kind: kind, statements: 0, firstLine: 1)
                return
            }
            guard let first = statements.first(where: { !$0.isDML }) else { return nil }
            self.init(
                script: script.path, version: version, kind: kind, statements: statements.count, firstLine: first.line)
        }

        package init(script: String, version: String, kind: StepKind, statements: Int, firstLine: Int) {
            self.script = script
            self.version = version
            self.kind = kind
            self.statements = statements
            self.firstLine = firstLine
        }
    }

    /// MySQL and MariaDB: one ALTER and the online DDL the dialect's server allows for it.
    package struct OnlineDDL: Sendable, Hashable, Codable {
        package var script: String
        package var version: String
        package var kind: StepKind
        package var finding: OnlineDDLFinding
        /// The script's `-- tidemark:lock-ok` reason, if it has one.
        package var acknowledged: String?
    }

    package var schema = "tidemark.lint/v1"
    /// The rules used: `PostgreSQL`, `MySQL 8.0`, `MariaDB 10.11`, `SQLite`.
    package var dialect = "PostgreSQL"
    package var plan: String
    package var directory: String
    /// How many scripts were read.
    package var scripts: Int
    package var findings: [Finding]
    /// MySQL and MariaDB: the scripts that run outside a transaction there.
    package var nonTransactional: [NonTransactionalScript] = []
    /// MySQL and MariaDB: every ALTER with its online-DDL class.
    package var onlineDDL: [OnlineDDL] = []

    package init(plan: String, directory: String, scripts: Int, findings: [Finding]) {
        self.plan = plan
        self.directory = directory
        self.scripts = scripts
        self.findings = findings
    }

    /// Findings per rule, for every rule of the catalogue (zero included), in catalogue order.
    package var countsByRule: [(rule: LockRule, count: Int)] {
        LockRule.allCases.map { rule in (rule, findings.filter { $0.rule == rule }.count) }
    }
}
