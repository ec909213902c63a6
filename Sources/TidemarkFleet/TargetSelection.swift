import TidemarkCore
import TidemarkFiles

/// Which targets a fleet command acts on: `--env E`… and `--target T`… (none given: all).
/// Thread-safe value.
public struct TargetSelection: Sendable, Hashable {
    public var environments: [String]
    public var targets: [String]

    public init(environments: [String] = [], targets: [String] = []) {
        self.environments = environments
        self.targets = targets
    }

    /// Every target of the inventory.
    public static let all = TargetSelection()

    /// The selected targets in inventory order; an unknown environment or target is an error
    /// naming the inventory and the closest names.
    public func select(from inventory: Inventory) throws(FleetError) -> [Target] {
        for name in environments where inventory.environment(named: name) == nil {
            throw .unknownEnvironment(name, inventory: inventory.file, known: inventory.environments.map(\.name))
        }
        for name in targets { _ = try inventory.requireTarget(name) }
        return inventory.allTargets.filter { target in
            (environments.isEmpty || environments.contains(target.environment)) && (targets.isEmpty || targets.contains(target.name))
        }
    }
}

extension Inventory {
    /// The target called `name`, or an error naming the inventory and close matches.
    public func requireTarget(_ name: String) throws(FleetError) -> Target {
        guard let target = target(named: name) else {
            throw .unknownTarget(name, inventory: file, known: allTargets.map(\.name))
        }
        return target
    }
}
