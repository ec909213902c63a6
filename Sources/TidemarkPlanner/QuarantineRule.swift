import TidemarkCore

/// The quarantine row of docs/guide.md#why-roll-back-why-roll-forward in one place: a quarantined
/// version must never run again anywhere.
///
/// Where a target has it in effect it must go like any version above the desired state (the
/// `RuleTable` says undo or compensate); a compensating version that is itself quarantined cannot
/// do that job; a target that never ran a quarantined version never passes through it. Thread-safe value.
struct QuarantineRule: Sendable {
    private let entries: [Version: QuarantineEntry]
    private let versions: [Version]

    init(plan: Plan) {
        var entries: [Version: QuarantineEntry] = [:]
        for entry in plan.quarantine where entries[entry.version] == nil { entries[entry.version] = entry }
        self.entries = entries
        self.versions = plan.quarantine.map(\.version)
    }

    /// Whether a version's forward script may run (as `forward` or `compensate`) or be recorded as
    /// a `skip`: never for a quarantined one.
    func mayRun(_ version: Version) -> Bool { entries[version] == nil }

    /// The plan's entries for the quarantined versions among those a target loses, in version order.
    func entries(removing removed: Set<Version>) -> [QuarantineEntry] {
        removed.sorted().compactMap { entries[$0] }
    }

    /// The quarantined versions a target passes over on its way up `steps`, never running them.
    func neverRun(passedBy steps: [PlannedStep]) -> [Version] {
        versions.filter { quarantined in steps.contains { $0.version > quarantined } }
    }
}
