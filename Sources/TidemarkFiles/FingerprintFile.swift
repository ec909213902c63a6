import Foundation
import TidemarkCore

/// `plans/<name>/fingerprints.json`: per backend kind, version → the schema fingerprint after
/// that version, as `tidemark rehearse` recorded it; what `status --drift` compares live targets
/// with. Fingerprints differ between backends (a SQLite and a PostgreSQL schema never read
/// alike), so each backend has its own map and recording one keeps the others. Thread-safe value.
package struct FingerprintFile: Sendable, Hashable, Codable {
    package var schema = "tidemark.fingerprints/v1"
    package var plan: String
    /// Backend kind (`sqlite`, `postgres`, `memory`) → version → fingerprint.
    package var backends: [String: [String: SchemaFingerprint]]

    package init(plan: String, backends: [String: [String: SchemaFingerprint]] = [:]) {
        self.plan = plan
        self.backends = backends
    }

    package static let fileName = "fingerprints.json"

    package static func path(inPlan directory: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
    }

    /// The recorded fingerprint of `version` for targets of `backend`.
    package func fingerprint(of version: String, backend: BackendKind) -> SchemaFingerprint? {
        backends[backend.rawValue]?[version]
    }

    /// The file in `directory`, or nil when there is none.
    package static func load(inPlan directory: String) throws(PlanError) -> FingerprintFile? {
        let path = path(inPlan: directory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try FileContents.data(atPath: path)
        } catch {
            throw .unreadable(file: path, reason: FileReading.reason(for: error))
        }
        do {
            return try JSONDecoder().decode(FingerprintFile.self, from: data)
        } catch {
            let (position, message) = JSONTextPosition.describe(error, in: Array(data))
            throw .badPlanFile(
                location: SourceLocation(file: path, line: position.line, column: position.column),
                message:
                    "not a fingerprints file: \(message); record it again with `\(RepairHint.rehearseRecord(inventoryFile: nil, planDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().relativePath))`."
            )
        }
    }

    /// Records `fingerprints` for `backend`, replacing what that backend had and keeping the
    /// others; returns the path written.
    @discardableResult
    package static func record(
        _ fingerprints: [String: SchemaFingerprint], backend: BackendKind, plan: String, inPlan directory: String
    ) throws(PlanError) -> String {
        var file = (try? load(inPlan: directory)) ?? nil ?? FingerprintFile(plan: plan)
        file.plan = plan
        file.backends[backend.rawValue] = fingerprints
        let path = path(inPlan: directory)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            var data = try encoder.encode(file)
            data.append(0x0A)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .unreadable(file: path, reason: "cannot write it: \(error.localizedDescription)")
        }
        return path
    }
}
