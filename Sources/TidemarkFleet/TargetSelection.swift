import TidemarkCore
import TidemarkFiles

/// Which targets a fleet command acts on: `--env E`… and `--target T`… (none given: all), and
/// `--partition I/N` (one static slice of those). Thread-safe value.
package struct TargetSelection: Sendable, Hashable {
    package var environments: [String]
    package var targets: [String]
    /// Only the targets in this slice of the fleet
    /// (docs/many-runners.md#static-partitions---partition-in: without a control database).
    package var partition: Partition?

    package init(environments: [String] = [], targets: [String] = [], partition: Partition? = nil) {
        self.environments = environments
        self.targets = targets
        self.partition = partition
    }

    /// Every target of the inventory.
    package static let all = TargetSelection()

    /// The selected targets in inventory order; an unknown environment or target is an error
    /// naming the inventory and the closest names.
    package func select(from inventory: Inventory) throws(FleetError) -> [Target] {
        for name in environments where inventory.environment(named: name) == nil {
            throw .unknownEnvironment(name, inventory: inventory.file, known: inventory.environments.map(\.name))
        }
        for name in targets { _ = try inventory.requireTarget(name) }
        return inventory.allTargets.filter { target in
            (environments.isEmpty || environments.contains(target.environment))
                && (targets.isEmpty || targets.contains(target.name))
                && (partition?.contains(target.name) ?? true)
        }
    }
}

/// `--partition I/N`: slice `index` (0-based) of `count`, by a stable hash of each target's name,
/// so N runners started with 0/N … N-1/N (a Kubernetes Indexed Job, a CI matrix) cover every
/// target exactly once, on any machine, in any release. A target's slice depends only on its
/// name: adding targets moves no existing one. Thread-safe value.
package struct Partition: Sendable, Hashable, CustomStringConvertible {
    package let index: Int
    package let count: Int

    /// The most slices a fleet may be cut into; far more than any fleet has runners.
    package static let maximumCount = 10_000

    package init(index: Int, count: Int) throws(FleetError) {
        guard count >= 1, count <= Self.maximumCount else {
            throw .partition("\(index)/\(count)", reason: "N must be between 1 and \(Self.maximumCount)")
        }
        guard index >= 0, index < count else {
            throw .partition(
                "\(index)/\(count)",
                reason: "I is 0-based: the slices of \(count) are 0/\(count) to \(count - 1)/\(count)")
        }
        self.index = index
        self.count = count
    }

    /// `I/N`, as `--partition` takes it.
    package init(parsing text: String) throws(FleetError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw .partition(text, reason: "write it as I/N, e.g. 0/4 for the first of four slices (I is 0-based)")
        }
        try self.init(index: index, count: count)
    }

    /// Whether `targetName` falls in this slice: FNV-1a of the name, modulo `count`.
    package func contains(_ targetName: String) -> Bool {
        Self.slice(of: targetName, count: count) == index
    }

    /// The slice `targetName` falls in, of `count`.
    package static func slice(of targetName: String, count: Int) -> Int {
        Int(StableHash.fnv1a64(targetName) % UInt64(max(1, count)))
    }

    package var description: String { "\(index)/\(count)" }
}

extension Inventory {
    /// The target called `name`, or an error naming the inventory and close matches.
    package func requireTarget(_ name: String) throws(FleetError) -> Target {
        guard let target = target(named: name) else {
            throw .unknownTarget(name, inventory: file, known: allTargets.map(\.name))
        }
        return target
    }
}
