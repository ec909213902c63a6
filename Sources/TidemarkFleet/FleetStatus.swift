import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkObserve
import TidemarkPlanner

/// Where one target stands: the `tidemark status` row. Thread-safe value.
package struct StatusRow: Sendable, Encodable {
    package var environment: String
    package var target: String
    package var tier: String
    package var version: String?
    package var pending: [String]
    package var quarantinedApplied: [String]
    package var dirty: Bool
    /// At its desired state: readable, nothing pending, not dirty, and no quarantined version in
    /// effect without its compensation (a target sitting on a quarantined v4 is not done).
    package var converged = false
    /// The newest history row: `<when> <kind> <version>[ (failed)]`.
    package var lastRun: String?
    /// Why the target could not be read (the row names the target, so the sentence does not).
    package var error: String?
    /// With `--drift`: the live schema against the recorded fingerprint of `version`.
    package var drift: DriftResult?
    /// The server the target's state was read from (`MariaDB 10.11.19`), when the backend says.
    package var server: DatabaseServer?
    /// An unfinished batched step (docs/backfills.md#resuming): the target is in progress, not dirty.
    package var backfill: BackfillStatus?
}

/// The status use case: every selected target's version, pending and quarantined versions,
/// dirtiness and, on request, drift.
package enum FleetStatus {
    /// One row per selected target, in wave order.
    package static func rows(_ snapshot: FleetSnapshot) -> [StatusRow] {
        let plan = snapshot.plan
        let desired = Planner(inventory: snapshot.inventory, plan: plan).desiredBaseVersions(
            upTo: plan.latestUsableVersion)
        let selected = Set(snapshot.targets.map(\.name))
        return snapshot.inventory.waves.flatMap { environment in
            environment.targets.filter { selected.contains($0.name) }.map { target in
                var row = StatusRow(
                    environment: environment.name, target: target.name, tier: environment.tier.rawValue, version: nil,
                    pending: [],
                    quarantinedApplied: [], dirty: false)
                guard let state = snapshot.states[target.name] else {
                    row.error = snapshot.unreachable[target.name]?.detail
                    return row
                }
                let applied = state.applied.compactMap { Version($0.version, style: plan.versionStyle) }
                let compensated = Set(
                    state.applied.filter { $0.kind == .compensate }.compactMap { entry in
                        Version(entry.version, style: plan.versionStyle).flatMap { plan.migration($0)?.compensates }
                    })
                row.version = applied.max()?.text
                row.pending = desired.subtracting(applied).sorted().map(\.text)
                row.quarantinedApplied = applied.filter { plan.isQuarantined($0) }.map { version in
                    compensated.contains(version) ? "\(version) (compensated)" : version.text
                }
                row.dirty = state.isDirty
                row.server = state.server
                let onQuarantined = applied.contains { plan.isQuarantined($0) && !compensated.contains($0) }
                row.converged = row.pending.isEmpty && !row.dirty && !onQuarantined
                row.lastRun = state.lastEntry.map {
                    let result: String
                    if $0.isBackfillInProgress {
                        result =
                            " (in progress: \(state.backfillStatus?.text ?? "backfill, \($0.batch?.rows ?? 0) rows"))"
                    } else {
                        result = $0.success ? "" : " (failed)"
                    }
                    return "\(ISO8601Timestamp.string(from: $0.startedAt)) \($0.kind.rawValue) \($0.version)\(result)"
                }
                row.backfill = state.backfillStatus
                return row
            }
        }
    }

    /// Whether `status` shows a server column: the fleet has MySQL or MariaDB targets (whose
    /// flavour and version decide which ALTERs are online) or mixes products.
    package static func showsServer(_ rows: [StatusRow]) -> Bool {
        let products = Set(rows.compactMap { $0.server?.product })
        return products.count > 1 || products.contains(where: { $0 == .mysql || $0 == .mariadb })
    }

    /// Fills in `drift` for every row at a version: each target's live fingerprint against
    /// `fingerprints.json`. No recorded fingerprints is an input error naming the fix.
    package static func attachDrift(
        to rows: inout [StatusRow], snapshot: FleetSnapshot, registry: BackendRegistry, logger: Logger
    ) async throws(FleetError) {
        let file = try FleetInputs.fingerprints(of: snapshot.plan)
        var versions: [String: String] = [:]
        for row in rows where row.error == nil { versions[row.target] = row.version }
        let workers = DispatchWorkers(count: WavePolicy.readWorkers(snapshot.inventory), label: "tidemark-drift")
        var check = DriftCheck(registry: registry, logger: logger)
        check.recordHint = RepairHint.rehearseRecord(
            inventoryFile: snapshot.inventory.file, planDirectory: snapshot.plan.directory)
        let results = await check.check(
            snapshot.targets, versions: versions, inventory: snapshot.inventory, pool: workers,
            recorded: { version, backend in file.fingerprint(of: version, backend: backend) })
        for index in rows.indices { rows[index].drift = results[rows[index].target] }
    }
}

extension FleetStatus {
    /// `status --metrics-file`: each target's version and dirtiness, and how many are not converged.
    package static func metrics(_ rows: [StatusRow], inventory: String) -> MetricsDocument {
        RunMetrics.document(
            inventory: inventory,
            targets: rows.map { row in
                RunMetrics.TargetSample(
                    environment: row.environment, target: row.target, version: row.version, dirty: row.dirty,
                    converged: row.converged, reachable: row.error == nil)
            })
    }

    /// `status --html`: the fleet drawn, each target coloured by version, dirty and drift marked.
    package static func page(_ rows: [StatusRow], snapshot: FleetSnapshot, at date: Date = Date()) -> String {
        FleetPage.render(
            inventory: snapshot.inventory.name, plan: snapshot.plan.name,
            versions: snapshot.plan.migrations.map(\.version.text),
            latest: snapshot.plan.latestUsableVersion?.text,
            targets: rows.map { row in
                FleetPage.Target(
                    environment: row.environment, target: row.target, version: row.version, pending: row.pending,
                    dirty: row.dirty,
                    converged: row.converged, drift: row.drift?.status, error: row.error)
            }, at: date)
    }
}
