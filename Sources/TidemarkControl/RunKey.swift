import Foundation
import TidemarkCore
import TidemarkFleet

/// What makes two runners part of one run, and how a run's stored plans read back as a rollout.
/// Pure; thread-safe.
enum RunKey {
    /// SHA-256 of the inventory and plan names, the selectors, the desired version and the strategy.
    static func digest(
        inventory: Inventory, plan: Plan, selection: TargetSelection, desired: String?, strategy: Strategy
    ) -> String {
        SHA256Hex.digest(
            [
                "inventory=\(inventory.name)", "plan=\(plan.name)", describe(selection), "to=\(desired ?? "latest")",
                "strategy=\(strategy.rawValue)",
            ].joined(separator: "\n"))
    }

    /// `env=dev,prod target=all`: the selectors as the run records them.
    static func describe(_ selection: TargetSelection) -> String {
        let environments =
            selection.environments.isEmpty ? "all" : selection.environments.sorted().joined(separator: ",")
        let targets = selection.targets.isEmpty ? "all" : selection.targets.sorted().joined(separator: ",")
        return "env=\(environments) target=\(targets)"
    }

    /// Every script of `plan`: path → checksum (forward and undo).
    static func scripts(of plan: Plan) -> [String: String] {
        var scripts: [String: String] = [:]
        for migration in plan.migrations {
            scripts[migration.forward.path] = migration.forward.checksum
            if let undo = migration.undo { scripts[undo.path] = undo.checksum }
        }
        return scripts
    }

    /// The run's stored target plans as a rollout in waves (the inventory's wave order).
    static func rollout(of plans: [TargetPlan], inventory: Inventory, plan: Plan, run: ControlRun) -> Rollout {
        var waves: [Wave] = []
        for environment in inventory.waves {
            let targets = plans.filter { $0.environment == environment.name }
            guard !targets.isEmpty else { continue }
            waves.append(
                Wave(
                    environment: environment.name, tier: environment.tier, live: environment.live,
                    audit: environment.audit,
                    canary: environment.canary, targets: targets))
        }
        let desired = run.desiredVersion.flatMap { Version($0, style: plan.versionStyle) }
        return Rollout(
            inventory: inventory.name, inventoryFile: inventory.file, plan: plan.name, desiredVersion: desired,
            strategy: run.strategy, waves: waves)
    }

    /// `alice@host/123-ab12` as a file name part.
    static func fileSafe(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
    }
}

/// `--serve SELECTOR`: an environment name, `tag:NAME`, or a target name. Pure; thread-safe.
package enum ServeSelector {
    /// Whether a runner started with `selectors` may claim `target` (no selectors: every target).
    package static func serves(_ selectors: [String], target: Target?) -> Bool {
        guard let target else { return false }
        if selectors.isEmpty { return true }
        return selectors.contains { selector in
            if selector.hasPrefix("tag:") { return target.tags.contains(String(selector.dropFirst(4))) }
            return selector == target.environment || selector == target.name
        }
    }
}
