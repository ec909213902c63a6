/// How a target's live schema compares with the fingerprint `rehearse` recorded for its version.
/// Thread-safe value.
package struct DriftResult: Sendable, Hashable, Codable {
    package enum Status: String, Sendable, Codable {
        /// The live schema is the recorded one.
        case none
        /// Someone changed the schema outside the plan; `differences` says how.
        case drift
        /// Same structure, columns in another physical order (e.g. an undo re-added one last).
        case columnOrder = "column-order"
        /// No fingerprint recorded for this version and backend: run `tidemark rehearse --record`.
        case unrecorded
        /// The target's schema could not be read; `error` says why.
        case unreadable
    }

    package var status: Status
    /// `- line` (recorded, missing live) and `+ line` (live, not recorded), the first few.
    package var differences: [String]
    /// How many differences there are in all.
    package var differenceCount: Int
    package var error: String?

    package init(status: Status, differences: [String] = [], differenceCount: Int = 0, error: String? = nil) {
        self.status = status
        self.differences = differences
        self.differenceCount = differenceCount
        self.error = error
    }
}
