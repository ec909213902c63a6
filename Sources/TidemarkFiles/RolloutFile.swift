import Foundation
import TidemarkCore

/// Reads and writes rollout files: what `plan --out FILE` saves and `apply FILE` runs
/// (`tidemark.rollout/v1`, JSON).
package enum RolloutFile {
    /// The schema this version reads and writes.
    package static let schema = "tidemark.rollout/v1"

    /// Reads the rollout saved at `path`.
    package static func read(at path: String) throws(RolloutFileError) -> Rollout {
        let data: Data
        do {
            data = try FileContents.data(atPath: path)
        } catch {
            throw .unreadable(path: path, message: error.localizedDescription)
        }
        let rollout: Rollout
        do {
            rollout = try JSONDecoder().decode(Rollout.self, from: data)
        } catch {
            let (position, message) = JSONTextPosition.describe(error, in: Array(data))
            throw .notARollout(
                location: SourceLocation(file: path, line: position.line, column: position.column), message: message)
        }
        guard rollout.schema == schema else {
            let position = JSONTextPosition.position(ofValueAt: [JSONTextPosition.Key("schema")], in: Array(data))
            throw .wrongSchema(
                location: SourceLocation(file: path, line: position?.line ?? 1, column: position?.column ?? 1),
                schema: rollout.schema)
        }
        return rollout
    }

    /// Writes `rollout` to `path` (pretty-printed, keys sorted, so saved rollouts diff well).
    package static func write(_ rollout: Rollout, to path: String) throws(RolloutFileError) {
        do {
            try OwnerOnlyFile.write(encode(rollout), to: URL(fileURLWithPath: path))
        } catch {
            throw .unwritable(path: path, message: error.localizedDescription)
        }
    }

    /// The JSON text of `rollout`, as `plan --json` prints it and `write` saves it.
    static func encode(_ rollout: Rollout) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(rollout)
    }
}

/// Why a rollout file cannot be read or written. Thread-safe value.
package enum RolloutFileError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, message: String)
    /// Not JSON, or not a rollout: where in the file, and what is wrong there.
    case notARollout(location: SourceLocation, message: String)
    /// A rollout of another schema version; `location` is its `schema` value.
    case wrongSchema(location: SourceLocation, schema: String)
    case unwritable(path: String, message: String)
    /// The rollout does not say which inventory it was planned from.
    case noInventory(path: String)

    package var description: String {
        switch self {
        case .unreadable(let path, let message): return "\(path): cannot read the rollout: \(message)"
        case .notARollout(let location, let message):
            return "\(location): not a rollout saved by `tidemark plan --out`: \(message)"
        case .wrongSchema(let location, let schema):
            return "\(location): schema \(schema) is not \(RolloutFile.schema)."
        case .unwritable(let path, let message): return "\(path): cannot write the rollout: \(message)"
        case .noInventory(let path):
            return "\(path): the rollout does not say which inventory it was planned from; pass -i INVENTORY."
        }
    }
}
