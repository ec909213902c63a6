/// What the live schema of a dirty target says about its failed step
/// (docs/recovery.md#when-a-target-is-dirty): held against the recorded fingerprints of the state
/// before the step and the state after it. Thread-safe value.
///
/// For a failed forward of version N, "before" is the highest version the target has in effect
/// (usually N-1; nil when it has none, an empty schema) and "after" is N. For a failed undo of N
/// the two swap roles: before is N, after is the highest version below it.
package struct DirtyDiagnosis: Sendable, Hashable, Codable {
    /// The verdict, as the schema proves it or not.
    package enum Verdict: String, Sendable, Hashable, Codable {
        /// The live schema is the one before the step: nothing of it remains.
        case equalsBefore = "equals-before"
        /// The live schema is the one after the step: it completed.
        case equalsAfter = "equals-after"
        /// Neither: the step is partly applied (or the schema drifted otherwise).
        case neither
        /// The states before and after the step have the same fingerprint: the schema cannot tell.
        case indistinguishable
        /// A fingerprint the verdict needs was never recorded (`tidemark rehearse --record`).
        case unrecorded
        /// The live schema could not be read.
        case unreadable
    }

    package var verdict: Verdict
    /// The version the schema before the step is at; nil: no version (an empty schema).
    package var beforeVersion: String?
    /// The version the schema after the step is at; nil: no version.
    package var afterVersion: String?
    /// Against the schema before the step: `- line` (recorded, not live), `+ line` (live, not recorded).
    package var differencesFromBefore: SchemaDiff?
    /// Against the schema after the step.
    package var differencesFromAfter: SchemaDiff?
    /// Versions whose fingerprint the verdict needed and `fingerprints.json` lacks.
    package var unrecordedVersions: [String]
    /// Why the schema could not be read.
    package var error: String?

    package init(
        verdict: Verdict, beforeVersion: String?, afterVersion: String?, differencesFromBefore: SchemaDiff? = nil,
        differencesFromAfter: SchemaDiff? = nil, unrecordedVersions: [String] = [], error: String? = nil
    ) {
        self.verdict = verdict
        self.beforeVersion = beforeVersion
        self.afterVersion = afterVersion
        self.differencesFromBefore = differencesFromBefore
        self.differencesFromAfter = differencesFromAfter
        self.unrecordedVersions = unrecordedVersions
        self.error = error
    }

    /// The resolution the schema proves, if it proves one: the live schema equals the state
    /// before the step (`rolled-back`) or after it (`resolved`), and the two states differ.
    package var provenResolution: RepairResolution? {
        switch verdict {
        case .equalsBefore: return .rolledBack
        case .equalsAfter: return .resolved
        case .neither, .indistinguishable, .unrecorded, .unreadable: return nil
        }
    }

    /// Which versions bound a dirty step: the schema before it and after it (nil: no version).
    package static func bounds(of failed: HistoryEntry, state: TargetState, style: VersionStyle) -> (
        before: String?, after: String?
    ) {
        let others = state.applied.map(\.version).filter { $0 != failed.version }
        let failedVersion = Version(failed.version, style: style)
        func highest(_ versions: [String]) -> String? {
            versions.compactMap { Version($0, style: style) }.max()?.text
        }
        switch failed.kind {
        case .undo:
            let below = others.filter { text in
                guard let version = Version(text, style: style), let failedVersion else { return false }
                return version < failedVersion
            }
            return (failed.version, highest(below))
        case .forward, .compensate, .skip, .baseline, .repair:
            return (highest(others), failed.version)
        }
    }

    /// Judges `live` against the recorded fingerprints of the two bounds. `recorded` returns the
    /// fingerprint after a version; the state with no version is the empty schema.
    package static func judge(
        live: SchemaFingerprint, before: String?, after: String?, recorded: (String) -> SchemaFingerprint?
    ) -> DirtyDiagnosis {
        func expected(_ version: String?) -> SchemaFingerprint? {
            guard let version else { return SchemaFingerprint(lines: []) }
            return recorded(version)
        }
        let beforePrint = expected(before)
        let afterPrint = expected(after)
        guard let beforePrint, let afterPrint else {
            let missing = [before, after].compactMap { $0 }.filter { recorded($0) == nil }
            return DirtyDiagnosis(
                verdict: .unrecorded, beforeVersion: before, afterVersion: after, unrecordedVersions: missing)
        }
        let fromBefore = live.compare(to: beforePrint)
        let fromAfter = live.compare(to: afterPrint)
        var diagnosis = DirtyDiagnosis(
            verdict: .neither, beforeVersion: before, afterVersion: after, differencesFromBefore: fromBefore.diff,
            differencesFromAfter: fromAfter.diff)
        if beforePrint.hash == afterPrint.hash {
            diagnosis.verdict = .indistinguishable
        } else if fromBefore == .equal {
            diagnosis.verdict = .equalsBefore
        } else if fromAfter == .equal {
            diagnosis.verdict = .equalsAfter
        }
        return diagnosis
    }
}

/// A PostgreSQL index left INVALID by a failed `CREATE INDEX CONCURRENTLY`, and the statement
/// that drops it. Read from the fingerprint's index lines, which mark invalid indexes. Thread-safe value.
package struct InvalidIndex: Sendable, Hashable, Codable {
    package var table: String
    package var name: String
    /// `DROP INDEX CONCURRENTLY IF EXISTS "schema"."name";`
    package var dropStatement: String

    package init(table: String, name: String, dropStatement: String) {
        self.table = table
        self.name = name
        self.dropStatement = dropStatement
    }

    /// What the fingerprint appends to an index line whose index is not valid.
    package static let marker = " INVALID"

    /// Invalid indexes named by `fingerprint`'s lines (`index table.name: … INVALID`).
    package static func found(in fingerprint: SchemaFingerprint, schema: String?) -> [InvalidIndex] {
        fingerprint.lines.compactMap { line -> InvalidIndex? in
            guard line.hasPrefix("index "), line.hasSuffix(marker), let colon = line.firstIndex(of: ":") else {
                return nil
            }
            let qualified = line[line.index(line.startIndex, offsetBy: 6)..<colon]
            guard let dot = qualified.firstIndex(of: ".") else { return nil }
            let table = String(qualified[..<dot])
            let name = String(qualified[qualified.index(after: dot)...])
            let prefix = schema.map { "\(quoted($0))." } ?? ""
            return InvalidIndex(
                table: table, name: name, dropStatement: "DROP INDEX CONCURRENTLY IF EXISTS \(prefix)\(quoted(name));")
        }
    }

    private static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
