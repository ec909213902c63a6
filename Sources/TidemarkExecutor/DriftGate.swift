import TidemarkCore

/// `apply --drift warn|block` (docs/recovery.md#the-drift-gate-apply---drift-warnblock): before a
/// target is touched, under its lock, its live fingerprint is held against the one recorded for the
/// version it is at. Thread-safe value.
package struct DriftGate: Sendable {
    /// Each target's policy (the command line, its environment's `drift:`, or `defaults`).
    package var policy: @Sendable (Target) -> DriftPolicy
    /// The fingerprint recorded after a version for a backend kind (`fingerprints.json`).
    package var recorded: @Sendable (_ version: String, _ backend: BackendKind) -> SchemaFingerprint?
    /// How many differences a blocked reason or a warning names.
    package var differenceLimit = 3

    package init(
        policy: @escaping @Sendable (Target) -> DriftPolicy,
        recorded: @escaping @Sendable (_ version: String, _ backend: BackendKind) -> SchemaFingerprint?
    ) {
        self.policy = policy
        self.recorded = recorded
    }

    /// What the gate found on one target.
    package enum Finding: Sendable, Hashable {
        /// The live schema is the recorded one (or differs only in column order).
        case clean
        /// Nothing recorded for this version on this backend: the gate cannot tell.
        case unrecorded(version: String)
        /// The schema drifted: the block reason names the version and the first differences.
        case drifted(BlockReason)
    }

    /// Compares `connection`'s live schema with the recorded fingerprint of `state`'s highest
    /// version (none: the empty schema). Blocks: a catalog read.
    func check(_ connection: any BackendConnection, target: Target, state: TargetState, style: VersionStyle)
        throws(BackendError) -> Finding
    {
        let version = state.applied.compactMap { Version($0.version, style: style) }.max()?.text
        let expected: SchemaFingerprint
        if let version {
            guard let found = recorded(version, target.backendKind) else { return .unrecorded(version: version) }
            expected = found
        } else {
            expected = SchemaFingerprint(lines: [])
        }
        switch try connection.fingerprint().withoutForeignHistories.compare(to: expected) {
        case .equal, .columnOrder: return .clean
        case .different(let diff):
            return .drifted(
                .drift(
                    version: version, differences: Array(diff.lines.prefix(differenceLimit)), count: diff.lines.count))
        }
    }
}
