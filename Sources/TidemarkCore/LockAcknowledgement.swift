/// `--lock-ok VERSION --reason TEXT` on `plan` and `apply`: the lock risk of a version's forward
/// script acknowledged for one run, as `-- tidemark:lock-ok <reason>` in the script would, without
/// editing the script (its checksum stays; docs/live-production.md#acknowledging-a-lock-risk).
/// Thread-safe value.
package struct LockAcknowledgement: Sendable, Hashable, Codable {
    /// The version as given on the command line.
    package var version: String
    package var reason: String
    /// Who gave it: the run's `applied_by`.
    package var by: String

    package init(version: String, reason: String, by: String) {
        self.version = version
        self.reason = reason
        self.by = by
    }

    /// What the step's history row adds to its description: `lock-ok: <reason> (by <user>)`.
    package static func historyNote(reason: String, by: String) -> String {
        "lock-ok: \(reason) (by \(by))"
    }
}

extension Plan {
    /// This plan with each acknowledged version's forward script saying `lock-ok` with the
    /// acknowledgement's reason, and who gave it (the script's text and checksum unchanged). A
    /// script that says `-- tidemark:lock-ok` itself keeps its own reason. Versions the plan
    /// does not hold are left out (the caller checked them).
    package func acknowledgingLockRisks(_ acknowledgements: [LockAcknowledgement]) -> Plan {
        guard !acknowledgements.isEmpty else { return self }
        var copy = self
        for acknowledgement in acknowledgements {
            guard let version = Version(acknowledgement.version, style: versionStyle),
                let index = copy.migrations.firstIndex(where: { $0.version == version }),
                copy.migrations[index].forward.lockAcknowledged == nil
            else { continue }
            copy.migrations[index].forward.lockAcknowledged = acknowledgement.reason
            copy.migrations[index].forward.lockAcknowledgedBy = acknowledgement.by
        }
        return copy
    }
}
