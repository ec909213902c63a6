import Foundation
import TidemarkCore
import TidemarkFiles

/// The incidents each sink has open, kept in the state directory
/// (`.tidemark/incidents/<inventory>.json`, mode 0600), so the run that fixes a target
/// resolves the incident an earlier run opened. Thread-safe value; the notifier (an actor)
/// owns the one copy a run changes.
struct IncidentLedger: Sendable {
    /// What the file holds. Thread-safe value.
    struct Contents: Codable, Sendable {
        var schema = IncidentLedger.schemaName
        var inventory: String
        /// Sink name → incident key → incident.
        var open: [String: [String: OpenIncident]]
    }

    static let schemaName = "tidemark.incidents/v1"

    /// nil: nothing is remembered (a notifier without a state directory).
    var file: URL?
    var contents: Contents

    /// The file for `inventory` in `folder`: the name kept to letters, digits, `.`, `_`, `-`.
    static func file(in folder: URL, inventory: String) -> URL {
        let safe = String(
            inventory.unicodeScalars.map { scalar -> Character in
                CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || "._-".unicodeScalars.contains(scalar)
                    ? Character(scalar) : "_"
            })
        return folder.appendingPathComponent("\(safe).json")
    }

    /// The ledger in `file`, empty when there is none yet; a file that cannot be read is
    /// reported (and replaced by the next save: its incidents can no longer be resolved
    /// automatically, which the sentence says).
    static func load(_ file: URL?, inventory: String) -> (ledger: IncidentLedger, problem: String?) {
        let empty = IncidentLedger(file: file, contents: Contents(inventory: inventory, open: [:]))
        guard let file, FileManager.default.fileExists(atPath: file.path) else { return (empty, nil) }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601Milliseconds
            let contents = try decoder.decode(Contents.self, from: try FileContents.data(at: file))
            guard contents.schema == schemaName else {
                return (
                    empty,
                    "\(file.path): schema \(contents.schema) is not \(schemaName); incidents it lists are not resolved automatically."
                )
            }
            return (IncidentLedger(file: file, contents: contents), nil)
        } catch {
            return (
                empty,
                "\(file.path): cannot read the open incidents (\(error)); the ones it lists are not resolved automatically."
            )
        }
    }

    func open(for sink: String) -> [String: OpenIncident] { contents.open[sink] ?? [:] }

    mutating func opened(_ key: String, sink: String, incident: OpenIncident) {
        contents.open[sink, default: [:]][key] = incident
    }

    mutating func resolved(_ key: String, sink: String) {
        contents.open[sink]?[key] = nil
        if contents.open[sink]?.isEmpty == true { contents.open[sink] = nil }
    }

    /// Writes the file whole (0600); with nothing open, removes it.
    func save() throws {
        guard let file else { return }
        if contents.open.isEmpty {
            if FileManager.default.fileExists(atPath: file.path) { try FileManager.default.removeItem(at: file) }
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601Milliseconds
        try OwnerOnlyFile.write(try encoder.encode(contents), to: file)
    }
}
