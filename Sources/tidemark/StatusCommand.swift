import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkPlanner

extension Tidemark {
    /// `tidemark status`: where every target stands.
    struct StatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show every target's version, pending and quarantined versions, and whether it is dirty.")

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var selection: SelectionOptions
        @Flag(help: "Print one JSON document (schema tidemark.status/v1).")
        var json = false
        @Flag(help: "Compare each target's live schema with the fingerprint recorded for its version (reads every catalog).")
        var drift = false
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let snapshot = try await FleetSnapshot.load(inventory: inventoryOption, selection: selection, missingDatabases: .reported, logger: logging.makeLogger())
            var rows = Self.rows(snapshot)
            if drift { try await StatusDrift.attach(to: &rows, snapshot: snapshot, logger: logging.makeLogger()) }
            if json {
                Terminal.standardOutput.write(try renderJSON(StatusDocument(inventory: snapshot.inventory.name, plan: snapshot.plan.name, latest: snapshot.plan.latestUsableVersion?.text, targets: rows)))
            } else {
                Terminal.standardOutput.write(Self.render(rows, snapshot: snapshot) + (drift ? StatusDrift.render(rows) : ""))
            }
            if !snapshot.unreachable.isEmpty { throw ExitStatus.failed.exitCode }
        }

        static func rows(_ snapshot: FleetSnapshot) -> [StatusRow] {
            let plan = snapshot.plan
            let desired = Planner(inventory: snapshot.inventory, plan: plan).desiredBaseVersions(upTo: plan.latestUsableVersion)
            return snapshot.inventory.waves.flatMap { environment in
                environment.targets.filter { target in snapshot.targets.contains { $0.name == target.name } }.map { target in
                    guard let state = snapshot.states[target.name] else {
                        return StatusRow(
                            environment: environment.name, target: target.name, tier: environment.tier.rawValue, version: nil, pending: [],
                            quarantinedApplied: [], dirty: false, lastRun: nil, error: snapshot.unreachable[target.name]?.description)
                    }
                    let applied = state.applied.compactMap { Version($0.version, style: plan.versionStyle) }
                    let appliedSet = Set(applied)
                    let pending = desired.subtracting(appliedSet).sorted().map(\.text)
                    let compensated = Set(
                        state.applied.filter { $0.kind == .compensate }.compactMap { entry in
                            Version(entry.version, style: plan.versionStyle).flatMap { plan.migration($0)?.compensates }
                        })
                    let quarantined = applied.filter { plan.isQuarantined($0) }.map { version in
                        compensated.contains(version) ? "\(version) (compensated)" : version.text
                    }
                    return StatusRow(
                        environment: environment.name, target: target.name, tier: environment.tier.rawValue,
                        version: applied.max()?.text, pending: pending, quarantinedApplied: quarantined, dirty: state.isDirty,
                        lastRun: state.lastEntry.map { "\(ISO8601Timestamp.string(from: $0.startedAt)) \($0.kind.rawValue) \($0.version)\($0.success ? "" : " (failed)")" },
                        error: nil)
                }
            }
        }

        static func render(_ rows: [StatusRow], snapshot: FleetSnapshot) -> String {
            var table = TextTable("environment", "target", "tier", "version", "pending", "quarantined-applied", "dirty", "last run")
            for row in rows {
                if let error = row.error {
                    table.add([row.environment, row.target, row.tier, "?", "?", "?", "?", "unreachable: \(error)"])
                    continue
                }
                table.add([
                    row.environment, row.target, row.tier, row.version ?? "-", row.pending.isEmpty ? "-" : row.pending.joined(separator: ","),
                    row.quarantinedApplied.isEmpty ? "-" : row.quarantinedApplied.joined(separator: ","), row.dirty ? "DIRTY" : "-",
                    row.lastRun ?? "never",
                ])
            }
            let latest = snapshot.plan.latestUsableVersion.map { "latest usable version \($0)" } ?? "no usable version"
            let quarantine = snapshot.plan.quarantine.isEmpty ? "" : "; quarantined: " + snapshot.plan.quarantine.map { (entry: QuarantineEntry) in "v\(entry.version) (\(entry.reason))" }.joined(separator: ", ")
            return "plan \(snapshot.plan.name): \(latest)\(quarantine)\n" + table.render()
        }
    }
}

struct StatusRow: Encodable {
    var environment: String
    var target: String
    var tier: String
    var version: String?
    var pending: [String]
    var quarantinedApplied: [String]
    var dirty: Bool
    var lastRun: String?
    var error: String?
    /// With `--drift`: the live schema against the recorded fingerprint of `version`.
    var drift: DriftResult? = nil
}

struct StatusDocument: Encodable {
    var schema = "tidemark.status/v1"
    var inventory: String
    var plan: String
    var latest: String?
    var targets: [StatusRow]
}
