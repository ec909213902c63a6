/// Targets and environments by name, built once per run: `Inventory.target(named:)` scans the
/// fleet, so calling it once per target is quadratic (100,000 targets: minutes). Thread-safe value.
package struct FleetIndex: Sendable {
    package let targets: [String: Target]
    package let environments: [String: Environment]

    package init(_ inventory: Inventory) {
        var targets: [String: Target] = [:]
        var environments: [String: Environment] = [:]
        targets.reserveCapacity(inventory.environments.reduce(0) { $0 + $1.targets.count })
        for environment in inventory.environments {
            environments[environment.name] = environment
            for target in environment.targets where targets[target.name] == nil { targets[target.name] = target }
        }
        self.targets = targets
        self.environments = environments
    }
}
