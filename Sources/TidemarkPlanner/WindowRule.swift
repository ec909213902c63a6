import Foundation
import TidemarkCore

/// Change windows and freezes over a rollout (docs/windows.md): a wave whose environment may not
/// be written at the given instant is deferred, and so is every later wave that writes (waves go
/// in order). Pure: the instant is an input, never read from a clock. Thread-safe (stateless).
package enum WindowRule {
    /// Whether `environment` may start writes at `now`: nil, or why not and until when.
    package static func deferral(of environment: Environment?, at now: Date) -> Deferral? {
        environment?.schedule.deferral(at: now)
    }

    /// `rollout` with each wave that has targets to write and may not write at `now` deferred,
    /// and every later such wave deferred behind it.
    package static func applied(to rollout: Rollout, inventory: Inventory, at now: Date) -> Rollout {
        var rollout = rollout
        let environments = Dictionary(
            inventory.environments.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var earlier: String?
        for index in rollout.waves.indices {
            // A saved rollout (`plan --out`) was weighed when it was planned: weighed again now.
            rollout.waves[index].deferral = nil
            let wave = rollout.waves[index]
            guard wave.targets.contains(where: { $0.action.writesTarget }) else { continue }
            if let earlier {
                rollout.waves[index].deferral = Deferral(cause: .earlierWave(environment: earlier), until: nil)
            } else if let own = deferral(of: environments[wave.environment], at: now) {
                rollout.waves[index].deferral = own
                earlier = wave.environment
            }
        }
        return rollout
    }

    /// `rollout` with no wave deferred (`--override-window`; a saved rollout's deferrals dropped).
    package static func cleared(_ rollout: Rollout) -> Rollout {
        var rollout = rollout
        for index in rollout.waves.indices { rollout.waves[index].deferral = nil }
        return rollout
    }

    /// The environments a run starting at `now` would defer: those `--override-window` overrides.
    /// Each is outside its own window or in a freeze (not merely behind a deferred wave).
    package static func closedEnvironments(of rollout: Rollout, inventory: Inventory, at now: Date) -> [String] {
        let environments = Dictionary(
            inventory.environments.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return rollout.waves.filter { wave in
            wave.targets.contains(where: { $0.action.writesTarget })
                && deferral(of: environments[wave.environment], at: now) != nil
        }.map(\.environment)
    }
}

extension Action {
    /// Forward, rollback and rollforward write to the target.
    package var writesTarget: Bool { self == .forward || self == .rollback || self == .rollforward }
}
