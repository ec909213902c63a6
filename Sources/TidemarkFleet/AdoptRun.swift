import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkPlanner

/// What `tidemark adopt` is asked to do. Thread-safe value.
package struct AdoptRequest: Sendable {
    /// `--from`: which tool's history to read.
    package enum Source: Sendable, Hashable {
        /// Whichever tool's table is there (two on one target is a refusal).
        case auto
        case tool(ForeignTool)
    }

    package var inventoryFile: String
    package var selection: TargetSelection
    package var source: Source
    /// `--baseline V`: targets that no tool tracked are adopted as being at version V.
    package var baseline: String?
    /// `--force`: adopt although the live schema differs from `fingerprints.json` (recorded).
    package var force: Bool
    /// `--dry-run`: read and decide, record nothing, write no report.
    package var dryRun: Bool
    package var confirmation: ApplyRequest.ProductionConfirmation
    package var runID: String
    /// `user@host`, recorded in every baseline row.
    package var appliedBy: String
    /// How long to wait for a target's lock before reporting it as held.
    package var lockWait: Duration = .seconds(1)
    /// Where the report goes (`runs/<run-id>.adopt.json`).
    package var stateDirectory = StateDirectory()

    package init(
        inventoryFile: String, selection: TargetSelection = .all, source: Source = .auto, baseline: String? = nil,
        force: Bool = false,
        dryRun: Bool = false, confirmation: ApplyRequest.ProductionConfirmation,
        runID: String = RunIdentity.makeRunID(),
        appliedBy: String = RunIdentity.currentOperator()
    ) {
        self.inventoryFile = inventoryFile
        self.selection = selection
        self.source = source
        self.baseline = baseline
        self.force = force
        self.dryRun = dryRun
        self.confirmation = confirmation
        self.runID = runID
        self.appliedBy = appliedBy
    }
}

/// Why adopt left a target alone. Each case renders one sentence with the fix. Thread-safe value.
package enum AdoptRefusal: Error, Sendable, Hashable {
    /// The target already has `tidemark_history` rows: it is Tidemark's already.
    case tidemarkHistory(rows: Int)
    /// No history table of the tools looked for, and no `--baseline`.
    case noForeignHistory(lookedFor: [ForeignTool])
    /// Two tools' tables on one target: which one is telling the truth is a human's call.
    case twoTools([ForeignTool])
    /// The other tool's history is dirty, failed, or unreadable.
    case foreignHistory(ForeignTool, ForeignHistory.Problem)
    /// The tool recorded versions the plan does not have.
    case unknownVersions(ForeignTool, [String])
    /// Flyway's recorded checksum differs from the plan script's.
    case checksumMismatch(version: String, script: String, recorded: Int32, computed: Int32)
    /// Sqitch's recorded SHA-1 of a deploy script differs from the plan script's.
    case scriptHashMismatch(change: String, script: String, recorded: String, computed: String)
    /// The live schema differs from `fingerprints.json` at the version it would be adopted at.
    case fingerprintMismatch(version: String, diff: SchemaDiff)
    /// The target's database does not exist.
    case databaseMissing
    /// Its history changed between the read and the write; nothing was recorded.
    case changedSinceRead
    /// `--from sqitch`: the Sqitch registry is not read yet.
    case unsupported(ForeignTool)

    /// Refusals that mean the command was pointed at the wrong thing (exit 2), not a target
    /// that needs a human first (exit 3).
    package var isInputError: Bool {
        switch self {
        case .tidemarkHistory, .unsupported: return true
        default: return false
        }
    }

    /// A stable word for scripts (`--json`).
    package var code: String {
        switch self {
        case .tidemarkHistory: return "tidemark-history"
        case .noForeignHistory: return "no-foreign-history"
        case .twoTools: return "two-tools"
        case .foreignHistory(_, let problem):
            switch problem {
            case .dirty: return "dirty"
            case .failed: return "failed"
            case .unreadable: return "unreadable"
            }
        case .unknownVersions: return "unknown-version"
        case .checksumMismatch, .scriptHashMismatch: return "checksum-mismatch"
        case .fingerprintMismatch: return "fingerprint-mismatch"
        case .databaseMissing: return "database-missing"
        case .changedSinceRead: return "changed"
        case .unsupported: return "unsupported"
        }
    }

    /// One sentence: why, and what to do.
    package func sentence(planDirectory: String, inventory: String) -> String {
        let shellInventory = RepairHint.shellWord(inventory)
        switch self {
        case .tidemarkHistory(let rows):
            return
                "it already has \(rows) tidemark_history row\(rows == 1 ? "" : "s"), so it is Tidemark's already; see `tidemark status -i \(shellInventory)`"
        case .noForeignHistory(let tools):
            return
                "no \(tools.map(\.tableName).joined(separator: ", ")) table found; pass --baseline V to adopt it as being at version V, or --from TOOL if its history lives elsewhere"
        case .twoTools(let tools):
            return
                "both \(tools.map { "\($0.rawValue) (\($0.tableName))" }.joined(separator: " and ")) keep a history here; choose the one that is right with --from"
        case .foreignHistory(let tool, let problem):
            return problem.sentence(tool)
        case .unknownVersions(let tool, let versions):
            return
                "\(tool.rawValue) recorded version\(versions.count == 1 ? "" : "s") \(versions.joined(separator: ", ")), which the plan \(planDirectory) does not have; add \(versions.count == 1 ? "it" : "them") to the plan, or point the inventory at the plan this target was migrated with"
        case .checksumMismatch(let version, let script, let recorded, let computed):
            return
                "\(script): Flyway recorded checksum \(recorded) for version \(version), the script's is \(computed), so it changed since Flyway ran it; put back the script as it ran, or run `flyway repair` if the change is meant"
        case .scriptHashMismatch(let change, let script, let recorded, let computed):
            return
                "\(script): Sqitch deployed change \(change) from a script whose SHA-1 is \(recorded), the script's is \(computed), so it changed since; put back the script as it ran, or rework the change in sqitch.plan if the change is meant"
        case .fingerprintMismatch(let version, let diff):
            return
                "its live schema differs from fingerprints.json at version \(version) (\(diff.summary())); find out why, or pass --force to adopt it anyway (recorded in its rows)"
        case .databaseMissing:
            return "its database does not exist; check the inventory's url"
        case .changedSinceRead:
            return "its history changed while adopt ran; nothing was recorded, run adopt again"
        case .unsupported(let tool):
            return
                "\(tool.rawValue)'s history maps only onto a plan in \(tool.rawValue)'s layout; point the inventory at that plan, or adopt it with --baseline V"
        }
    }
}

extension ForeignTool {
    /// The table as users know it (`flyway_schema_history`, `sqitch.changes`).
    package var tableName: String { historyTable.qualifiedName }
}

/// One version adopt records (or would). Thread-safe value.
package struct AdoptedVersion: Sendable, Hashable, Encodable {
    /// The plan's version.
    package var version: String
    /// `recorded`, `below-latest`, `below-baseline`, or `baseline` (`--baseline V`).
    package var evidence: String
    /// The baseline row written, when written.
    package var historyRow: Int64?
}

/// One target: what its other tool said and what adopt did. Thread-safe value.
package struct AdoptedTarget: Sendable, Hashable, Encodable {
    package enum Outcome: String, Sendable, Hashable, Encodable {
        /// Baseline rows were recorded.
        case adopted
        /// `--dry-run`: these rows would be recorded.
        case wouldAdopt = "would-adopt"
        /// Left alone; `reason` says why and the fix.
        case refused
        /// Another run holds its lock; nothing was read or written.
        case locked
        /// It could not be read or the rows could not be written.
        case failed
    }

    package var target: String
    package var environment: String
    package var tier: String
    /// Where the versions came from: `golang-migrate`, `flyway`, `diesel`, or `baseline`.
    package var source: String?
    package var outcome: Outcome
    package var versions: [AdoptedVersion]
    /// The baseline rows' description (`adopted from diesel`).
    package var rowDescription: String?
    /// The refusal, as a stable word.
    package var refusal: String?
    /// Why it was refused or failed, with the fix.
    package var reason: String?
    /// What could not be verified, or what the other tool's history holds that is not mapped.
    package var notes: [String]
    /// `--force` adopted it over a fingerprint difference: the difference.
    package var forced: String?
    /// Whether the refusal is an input error (exit 2).
    var inputError = false

    enum CodingKeys: String, CodingKey {
        case target, environment, tier, source, outcome, versions, rowDescription, refusal, reason, notes, forced
    }
}

/// What `tidemark adopt` found and did. Thread-safe value.
package struct AdoptReport: Sendable, Encodable {
    package var schema = "tidemark.adopt/v1"
    package var runID: String
    package var inventory: String
    package var plan: String
    package var dryRun: Bool
    /// Every selected target, in inventory order.
    package var targets: [AdoptedTarget]
    /// Where the report was written (nil for a dry run).
    package var reportPath: String?

    /// How the run ended. Failed before locked before input refusals before other refusals.
    package enum Status: Sendable, Hashable {
        case succeeded, refused, invalidInput, locked, failed
    }

    package var status: Status {
        let outcomes = Set(targets.map(\.outcome))
        if outcomes.contains(.failed) { return .failed }
        if outcomes.contains(.locked) { return .locked }
        if targets.contains(where: { $0.outcome == .refused && $0.inputError }) { return .invalidInput }
        if outcomes.contains(.refused) { return .refused }
        return .succeeded
    }
}

/// Moves targets that another tool migrated to Tidemark: the `tidemark adopt` use case (SPEC
/// 10). Reads each target's other-tool history, maps it onto the plan, and appends one `baseline`
/// row per version in effect, under the target's lock after reading everything again. Never
/// writes the other tool's tables. Thread-safe value.
package struct AdoptRun: Sendable {
    package var registry: BackendRegistry
    package var logger: Logger

    package init(registry: BackendRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Runs `request`. Input problems (an unknown target, a `--baseline` the plan lacks) and a
    /// refused confirmation throw before anything is written.
    package func run(_ request: AdoptRequest) async throws(FleetError) -> AdoptReport {
        let inventory = try await FleetInputs.fleet(at: request.inventoryFile, registry: registry, logger: logger)
        let plan = try FleetInputs.plan(at: inventory.planDirectory)
        let targets = try request.selection.select(from: inventory)
        var baseline: Version?
        if let text = request.baseline {
            guard let version = Version(text, style: plan.versionStyle), let migration = plan.migration(version) else {
                throw .adoptBaseline(text, planDirectory: plan.directory, latest: plan.migrations.last?.version.text)
            }
            baseline = migration.version
        }
        let fingerprints = try FleetInputs.recordedFingerprints(of: plan)
        let adopter = Adopter(
            registry: registry, logger: logger, inventoryFile: inventory.file, plan: plan, source: request.source,
            baseline: baseline, force: request.force,
            fingerprints: fingerprints, lockWait: request.lockWait)
        let workers = DispatchWorkers(count: WavePolicy.readWorkers(inventory), label: "tidemark-adopt")

        // Pass 1: read and decide every selected target, writing nothing.
        let tiers = Dictionary(
            targets.map { ($0.name, inventory.environment(named: $0.environment)?.tier.rawValue ?? "") },
            uniquingKeysWith: { a, _ in a })
        let read = await workers.each(targets, inventory: inventory) { target, timeouts in
            adopter.examine(target, timeouts: timeouts, tier: tiers[target.name] ?? "")
        }
        var report = AdoptReport(
            runID: request.runID, inventory: inventory.name, plan: plan.name, dryRun: request.dryRun,
            targets: targets.compactMap { read[$0.name] })
        if request.dryRun { return report }

        let toWrite = report.targets.filter { $0.outcome == .wouldAdopt }
        let prod = toWrite.filter { $0.tier == Tier.prod.rawValue }.map(\.target)
        if !prod.isEmpty {
            switch request.confirmation {
            case .given: break
            case .unavailable: throw .confirmationRequired(prodTargets: prod)
            case .ask(let ask): if !ask(prod, inventory) { throw .notConfirmed }
            }
        }

        // Pass 2: under each target's lock, decide again; record only what pass 1 showed.
        let earlier = Dictionary(toWrite.map { ($0.target, $0) }, uniquingKeysWith: { a, _ in a })
        let written = await workers.each(targets.filter { earlier[$0.name] != nil }, inventory: inventory) {
            target, timeouts -> AdoptedTarget? in
            guard let seen = earlier[target.name] else { return nil }
            return adopter.record(
                target, timeouts: timeouts, earlier: seen, runID: request.runID, appliedBy: request.appliedBy)
        }
        for index in report.targets.indices {
            if let updated = written[report.targets[index].target] ?? nil { report.targets[index] = updated }
        }
        let path = request.stateDirectory.runs.appendingPathComponent("\(request.runID).adopt.json")
        do {
            report.reportPath = path.path
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            // As run reports are: they name every target of the fleet.
            try OwnerOnlyFile.write(encoder.encode(report), to: path)
        } catch {
            report.reportPath = nil
            logger.warning("cannot write the adopt report \(path.path): \(error)")
        }
        return report
    }
}

/// What adopt decided for one target from what it read. Thread-safe value.
struct AdoptionDecision: Sendable {
    var source: String
    var rowDescription: String
    /// The plan's migrations in effect, oldest first, with how the other tool vouched for each.
    var versions: [(migration: Migration, evidence: String)]
    var notes: [String]
    var forced: String?
}

/// Reads and records one target. Blocks: runs on an adopt worker. Thread-safe value.
private struct Adopter: Sendable {
    var registry: BackendRegistry
    var logger: Logger
    var inventoryFile: String
    var plan: Plan
    var source: AdoptRequest.Source
    var baseline: Version?
    var force: Bool
    var fingerprints: FingerprintFile?
    var lockWait: Duration

    /// Pass 1: a read-only connection (nothing is created, no lock is taken).
    func examine(_ target: Target, timeouts: Timeouts, tier: String) -> AdoptedTarget {
        var result = AdoptedTarget(
            target: target.name, environment: target.environment, tier: tier, source: nil, outcome: .failed,
            versions: [], notes: [])
        do {
            let connection = try registry.backend(for: target).connect(
                to: target, access: .readOnly, timeouts: timeouts, logger: logger)
            defer { connection.close() }
            switch try decide(on: connection, target: target) {
            case .success(let decision): fill(&result, with: decision, outcome: .wouldAdopt)
            case .failure(let refusal): refuse(&result, refusal)
            }
        } catch {
            if case .databaseNotFound = error {
                refuse(&result, .databaseMissing)
            } else {
                result.reason = error.description
            }
        }
        return result
    }

    /// Pass 2: under the lock, the same decision again, then one baseline row per version.
    func record(_ target: Target, timeouts: Timeouts, earlier: AdoptedTarget, runID: String, appliedBy: String)
        -> AdoptedTarget
    {
        var result = earlier
        do {
            let connection = try registry.backend(for: target).connect(
                to: target, access: .readWrite, timeouts: timeouts, logger: logger)
            defer { connection.close() }
            guard try connection.tryLock(timeout: lockWait) else {
                result.outcome = .locked
                result.reason = "another run holds this target's lock; nothing was recorded"
                return result
            }
            defer { try? connection.unlock() }
            let decision: AdoptionDecision
            switch try decide(on: connection, target: target) {
            case .success(let again): decision = again
            case .failure(let refusal):
                refuse(&result, refusal)
                return result
            }
            guard decision.source == earlier.source,
                decision.versions.map(\.migration.version.text) == earlier.versions.map(\.version)
            else {
                refuse(&result, .changedSinceRead)
                return result
            }
            try connection.ensureHistoryTable()
            fill(&result, with: decision, outcome: .adopted)
            for index in decision.versions.indices {
                let migration = decision.versions[index].migration
                let row = try connection.run(
                    StepRequest(
                        version: migration.version.text, description: decision.rowDescription, kind: .baseline,
                        scriptPath: "", sql: "",
                        checksum: migration.forward.checksum, transactional: true, runID: runID, appliedBy: appliedBy))
                result.versions[index].historyRow = row.id
            }
        } catch {
            result.outcome = .failed
            result.reason = error.description
            // Rows already recorded stay (history is never deleted): say so, since adopt will now
            // refuse the target as Tidemark's.
            let recorded = result.versions.filter { $0.historyRow != nil }.map(\.version)
            if !recorded.isEmpty {
                result.reason? +=
                    "; baseline rows for \(recorded.joined(separator: ", ")) were recorded before it failed, and apply would run the others again: fix what failed, drop the tidemark_history table this adopt created, and adopt it again"
            }
        }
        return result
    }

    private func fill(_ result: inout AdoptedTarget, with decision: AdoptionDecision, outcome: AdoptedTarget.Outcome) {
        result.outcome = outcome
        result.source = decision.source
        result.rowDescription = decision.rowDescription
        result.versions = decision.versions.map {
            AdoptedVersion(version: $0.migration.version.text, evidence: $0.evidence, historyRow: nil)
        }
        result.notes = decision.notes
        result.forced = decision.forced
    }

    private func refuse(_ result: inout AdoptedTarget, _ refusal: AdoptRefusal) {
        result.outcome = .refused
        result.refusal = refusal.code
        result.reason = refusal.sentence(planDirectory: plan.directory, inventory: inventoryFile)
        result.inputError = refusal.isInputError
    }

    /// Reads Tidemark's history, the other tool's, and the live schema, and decides.
    func decide(on connection: any BackendConnection, target: Target) throws(BackendError) -> Result<
        AdoptionDecision, AdoptRefusal
    > {
        let history = try connection.readHistory()
        // Rows of failed attempts only (an apply run before adopting, refused by the schema
        // the other tool made) change nothing: the target is still the other tool's. A failed
        // step outside a transaction may have changed the schema: that is a dirty target.
        let onlyFailedAttempts = history.allSatisfy { !$0.success } && TargetState(history: history).dirty == nil
        if !history.isEmpty && !onlyFailedAttempts { return .failure(.tidemarkHistory(rows: history.count)) }
        let tools: [ForeignTool]
        switch source {
        // Sqitch's changes map only onto a plan read from sqitch.plan (by change id).
        case .auto: tools = ForeignTool.readable.filter { $0 != .sqitch || plan.format == .sqitch }
        case .tool(let tool):
            guard tool != .sqitch || plan.format == .sqitch else { return .failure(.unsupported(tool)) }
            tools = [tool]
        }
        var found: [(ForeignTool, [[String?]])] = []
        for tool in tools {
            if let rows = try connection.readRows(of: tool.historyTable) { found.append((tool, rows)) }
        }
        if found.count > 1 { return .failure(.twoTools(found.map(\.0))) }
        let planVersions = plan.migrations.map(\.version)

        var decision: AdoptionDecision
        if case (let tool, let rows)? = found.first {
            let foreign = ForeignHistory.read(tool, rows: rows, planVersions: planVersions)
            if let problem = foreign.problem { return .failure(.foreignHistory(tool, problem)) }
            var mapped: [(migration: Migration, evidence: String)] = []
            var unknown: [String] = []
            var notes = foreign.notes
            var inEffect = foreign.inEffect
            if tool == .sqitch {
                // One registry holds every project deployed to the database; this plan's only.
                let project = plan.migrations.first?.sqitch?.project
                let others = inEffect.filter { $0.project != project }
                if !others.isEmpty {
                    notes.append(
                        "\(others.count) change\(others.count == 1 ? "" : "s") of other Sqitch projects (\(Set(others.compactMap(\.project)).sorted().joined(separator: ", "))) left out"
                    )
                }
                inEffect.removeAll { $0.project != project }
                // docs/mysql.md#adopting-on-mysql: on MySQL the registry is the server's
                // database `sqitch`, shared by every database there, and never says which one a
                // change was deployed to. A database with no table or view cannot be the one.
                if target.backendKind == .mysql, !inEffect.isEmpty,
                    try connection.fingerprint().lines.isEmpty
                {
                    return .failure(
                        .foreignHistory(
                            tool,
                            .unreadable(
                                "the registry (database sqitch on this server) lists \(inEffect.count) deployed change\(inEffect.count == 1 ? "" : "s") of project \(project ?? "?"), but this database holds no table or view; Sqitch's MySQL registry serves every database on the server, so they were deployed to another one; pass --baseline V if this database is at version V, or leave it to apply"
                            )))
                }
            }
            for version in inEffect {
                guard let migration = Self.migration(of: version, tool: tool, in: plan) else {
                    unknown.append(tool == .sqitch ? "\(version.script ?? "?") (\(version.version))" : version.version)
                    continue
                }
                if let recorded = version.scriptHash {
                    let path = URL(fileURLWithPath: plan.directory).appendingPathComponent(migration.forward.path).path
                    let computed: String
                    do {
                        computed = SqitchChange.scriptHash(of: try FileContents.data(atPath: path))
                    } catch {
                        throw .queryFailed(
                            target: target.name, message: "cannot read \(path): \(error.localizedDescription)",
                            sqlState: nil)
                    }
                    if computed != recorded {
                        return .failure(
                            .scriptHashMismatch(
                                change: version.script ?? migration.description, script: path, recorded: recorded,
                                computed: computed))
                    }
                }
                if let recorded = version.checksum {
                    let path = URL(fileURLWithPath: plan.directory).appendingPathComponent(migration.forward.path).path
                    let computed: Int32
                    do {
                        computed = try FlywayChecksum.ofFile(atPath: path)
                    } catch {
                        throw .queryFailed(
                            target: target.name, message: "cannot read \(path): \(error.localizedDescription)",
                            sqlState: nil)
                    }
                    if computed != recorded {
                        return .failure(
                            .checksumMismatch(
                                version: migration.version.text, script: path, recorded: recorded, computed: computed))
                    }
                }
                mapped.append((migration, version.evidence.rawValue))
            }
            if !unknown.isEmpty { return .failure(.unknownVersions(tool, unknown)) }
            mapped.sort { $0.migration.version < $1.migration.version }
            decision = AdoptionDecision(
                source: tool.rawValue, rowDescription: "adopted from \(tool.rawValue)", versions: mapped,
                notes: notes + Self.unverified(tool, mapped))
        } else if let baseline {
            let versions = plan.migrations.filter { $0.version <= baseline }.map {
                (migration: $0, evidence: "baseline")
            }
            decision = AdoptionDecision(
                source: "baseline", rowDescription: "baseline --baseline \(baseline.text)", versions: versions,
                notes: ["no tool's history: the versions up to \(baseline.text) are taken on your word (--baseline)"])
        } else {
            return .failure(.noForeignHistory(lookedFor: tools))
        }

        if !history.isEmpty {
            let attempts = "\(history.count) failed attempt\(history.count == 1 ? "" : "s")"
            decision.notes.append(
                "tidemark_history holds only \(attempts) (an apply before adopting); they change nothing and stay in the history"
            )
        }
        guard let top = decision.versions.last?.migration.version else {
            decision.notes.append("no version is in effect: apply will run every version")
            return .success(decision)
        }
        guard let expected = fingerprints?.fingerprint(of: top.text, backend: target.backendKind) else {
            decision.notes.append(
                "fingerprints.json has no \(target.backendKind.rawValue) fingerprint of version \(top.text): the live schema was not compared"
            )
            return .success(decision)
        }
        // The other tool's table stays (the way back), and no recorded fingerprint has it.
        let live = try connection.fingerprint().withoutForeignHistories
        if case .different(let diff) = live.compare(to: expected) {
            guard force else { return .failure(.fingerprintMismatch(version: top.text, diff: diff)) }
            decision.forced = diff.summary()
            decision.rowDescription += "; forced over a schema difference at version \(top.text): \(diff.summary())"
        } else {
            decision.notes.append("the live schema matches fingerprints.json at version \(top.text)")
        }
        return .success(decision)
    }

    /// The plan's migration a version of the tool's history names: Sqitch by change id (a
    /// reworked change has its own), the others by version as the plan's layout writes it.
    static func migration(of version: ForeignVersion, tool: ForeignTool, in plan: Plan) -> Migration? {
        if tool == .sqitch { return plan.migrations.first { $0.sqitch?.id == version.version } }
        return Version(version.version, style: plan.versionStyle).flatMap { plan.migration($0) }
    }

    /// What the tool's history cannot vouch for.
    static func unverified(_ tool: ForeignTool, _ mapped: [(migration: Migration, evidence: String)]) -> [String] {
        switch tool {
        case .golangMigrate:
            let below = mapped.filter { $0.evidence == ForeignVersion.Evidence.belowLatest.rawValue }.count
            return [
                "golang-migrate records neither checksums nor earlier versions: \(below) version\(below == 1 ? "" : "s") below its latest taken as applied"
            ]
        case .diesel:
            return ["Diesel records no checksums: the scripts were not compared with what ran"]
        case .sqitch:
            return ["Sqitch records each change by its id and the SHA-1 of its deploy script: both checked"]
        case .flyway:
            return []
        }
    }
}
