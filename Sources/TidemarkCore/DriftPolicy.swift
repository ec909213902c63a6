/// What `apply` does with a target whose live schema differs from the fingerprint recorded for
/// its version (docs/recovery.md#the-drift-gate-apply---drift-warnblock): `drift:` in an
/// environment or `defaults`, or `apply --drift`. Thread-safe value.
package enum DriftPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// No fingerprint is taken.
    case off
    /// The drift is reported (log and run report); the target is migrated anyway.
    case warn
    /// A drifted target is `blocked` with the first differences; the run goes on with the rest.
    case block
}
