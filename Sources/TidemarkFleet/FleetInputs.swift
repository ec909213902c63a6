import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkPlanner

/// Reads what every fleet command starts from, with errors that name the file and the fix.
package enum FleetInputs {
    /// The inventory at `path`.
    package static func inventory(at path: String) throws(FleetError) -> Inventory {
        do {
            return try InventoryFile.load(at: path)
        } catch {
            throw .inventory(error)
        }
    }

    /// The inventory at `path` with its `discover:` sources read and their targets merged in
    /// (docs/tenants.md#discovered-targets): what every command that reads the fleet starts from.
    package static func fleet(at path: String, registry: BackendRegistry, logger: Logger) async throws(FleetError)
        -> Inventory
    {
        try await TargetDiscovery(registry: registry, logger: logger).resolve(inventory(at: path))
    }

    /// The plan directory at `path`.
    package static func plan(at path: String) throws(FleetError) -> Plan {
        do {
            return try PlanDirectory.load(at: path)
        } catch {
            throw .plan(error)
        }
    }

    /// The plan's recorded fingerprints (`fingerprints.json`); none recorded is an error naming
    /// the `tidemark rehearse … --record` that writes them.
    package static func fingerprints(of plan: Plan) throws(FleetError) -> FingerprintFile {
        guard let loaded = try recordedFingerprints(of: plan) else {
            throw .noFingerprints(planDirectory: plan.directory)
        }
        return loaded
    }

    /// The plan's `fingerprints.json` when `rehearse` has recorded one (nil when it has not); a
    /// file that cannot be read is an input error naming it.
    package static func recordedFingerprints(of plan: Plan) throws(FleetError) -> FingerprintFile? {
        do {
            return try FingerprintFile.load(inPlan: plan.directory)
        } catch {
            throw .fingerprints(error)
        }
    }

    /// `plan` with `acknowledgements` (`--lock-ok VERSION --reason TEXT`) in its forward
    /// scripts; a version the plan does not hold is an input error naming the plan's versions.
    package static func acknowledging(_ acknowledgements: [LockAcknowledgement], in plan: Plan) throws(FleetError)
        -> Plan
    {
        for acknowledgement in acknowledgements {
            let version = Version(acknowledgement.version, style: plan.versionStyle)
            if version.flatMap({ plan.migration($0) }) == nil {
                throw .unknownLockOkVersion(
                    acknowledgement.version, planDirectory: plan.directory,
                    versions: plan.migrations.map(\.version.text))
            }
        }
        return plan.acknowledgingLockRisks(acknowledgements)
    }

    /// What `--to TEXT` asks for in `plan`: nil text is the latest usable version, `0` no version.
    package static func desiredVersion(_ text: String?, in plan: Plan) throws(FleetError) -> DesiredVersion {
        guard let text else { return .latest }
        do {
            return try DesiredVersion(parsing: text, in: plan)
        } catch {
            throw .desiredVersion(error)
        }
    }
}

/// Where a plan-only command (`validate`, `quarantine`, `revert`, `rehearse`) finds its plan:
/// `--plan DIR`, or the `plan:` of `-i INVENTORY`. Thread-safe value.
package enum PlanSource: Sendable, Hashable {
    case directory(String)
    case inventory(String)

    /// The arguments that name this plan again in a printed command: `-i INVENTORY` or
    /// `--plan DIR`, as given, quoted for a shell.
    package var commandArguments: String {
        switch self {
        case .directory(let path): return "--plan \(RepairHint.shellWord(path))"
        case .inventory(let path): return "-i \(RepairHint.shellWord(path))"
        }
    }

    /// `-i INVENTORY` for a command that needs an inventory (`plan`): as given, or the named
    /// placeholder `-i <inventory>` when only a plan directory was given.
    package var inventoryArguments: String {
        switch self {
        case .directory: return "-i <inventory>"
        case .inventory(let path): return "-i \(RepairHint.shellWord(path))"
        }
    }

    /// The plan directory.
    package func directory() throws(FleetError) -> String {
        switch self {
        case .directory(let path): return path
        case .inventory(let path): return try FleetInputs.inventory(at: path).planDirectory
        }
    }

    /// The plan, read from its directory.
    package func load() throws(FleetError) -> Plan {
        try FleetInputs.plan(at: directory())
    }
}
