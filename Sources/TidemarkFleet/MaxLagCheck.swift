import TidemarkCore

/// `max_lag` on a MySQL target needs its replicas named (docs/backfills.md#mysql-and-mariadb):
/// a MySQL primary cannot tell its replicas' lag, so a batched script with `max_lag` on a MySQL
/// target without `replicas:` would never wait. Refused before anything runs. Pure.
package enum MaxLagCheck {
    /// One sentence per batched script with `max_lag` that MySQL targets without replicas
    /// would run: `file:line`, the targets, the fix.
    package static func problems(plan: Plan, targets: [Target], inventoryFile: String) -> [String] {
        let bare = targets.filter { $0.backendKind == .mysql && ($0.replicas ?? []).isEmpty }.map(\.name)
        guard !bare.isEmpty else { return [] }
        var problems: [String] = []
        for migration in plan.migrations {
            for script in [migration.forward, migration.undo].compactMap({ $0 }) {
                guard let spec = script.batch, let maxLag = spec.maxLag else { continue }
                let line =
                    script.sql.split(separator: "\n", omittingEmptySubsequences: false)
                    .firstIndex { $0.contains("tidemark:batch") }.map { $0 + 1 } ?? 1
                let file = script.path.hasPrefix("/") ? script.path : "\(plan.directory)/\(script.path)"
                let names =
                    bare.count > 3
                    ? bare.prefix(3).joined(separator: ", ") + " and \(bare.count - 3) more"
                    : bare.joined(separator: ", ")
                problems.append(
                    "\(file):\(line): max_lag=\(DurationText.text(maxLag)) cannot be checked on MySQL target\(bare.count == 1 ? "" : "s") \(names): a MySQL server does not know its replicas' lag; name them on each target in \(inventoryFile) (replicas: [\"mysql://tidemark@replica-1/app\"], passwords by password_env or option files), or remove max_lag."
                )
            }
        }
        return problems
    }
}
