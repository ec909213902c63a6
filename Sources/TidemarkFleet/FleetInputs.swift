import TidemarkCore
import TidemarkFiles

/// Reads what every fleet command starts from, with errors that name the file and the fix.
public enum FleetInputs {
    /// The inventory at `path`.
    public static func inventory(at path: String) throws(FleetError) -> Inventory {
        do {
            return try InventoryFile.load(at: path)
        } catch {
            throw .inventory(error)
        }
    }

    /// The plan directory at `path`.
    public static func plan(at path: String) throws(FleetError) -> Plan {
        do {
            return try PlanDirectory.load(at: path)
        } catch {
            throw .plan(error)
        }
    }

    /// The version `--to TEXT` names in `plan`; nil text: nil (the planner's default).
    public static func version(_ text: String?, in plan: Plan) throws(FleetError) -> Version? {
        guard let text else { return nil }
        guard let version = Version(text, style: plan.versionStyle), plan.migration(version) != nil else {
            throw .unknownVersion(text, plan: plan.name, known: plan.migrations.map(\.version.text))
        }
        return version
    }
}

/// Where a plan-only command (`validate`, `quarantine`, `revert`, `rehearse`) finds its plan:
/// `--plan DIR`, or the `plan:` of `-i INVENTORY`. Thread-safe value.
public enum PlanSource: Sendable, Hashable {
    case directory(String)
    case inventory(String)

    /// The plan directory.
    public func directory() throws(FleetError) -> String {
        switch self {
        case .directory(let path): return path
        case .inventory(let path): return try FleetInputs.inventory(at: path).planDirectory
        }
    }

    /// The plan, read from its directory.
    public func load() throws(FleetError) -> Plan {
        try FleetInputs.plan(at: directory())
    }
}
