import Foundation
import TidemarkCore

/// Reads and writes rollout files: what `plan --out FILE` saves and `apply FILE` runs
/// (`tidemark.rollout/v1`, JSON).
public enum RolloutFile {
    /// The schema this version reads and writes.
    public static let schema = "tidemark.rollout/v1"

    /// Reads the rollout saved at `path`.
    public static func read(at path: String) throws(RolloutFileError) -> Rollout {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, message: error.localizedDescription)
        }
        let rollout: Rollout
        do {
            rollout = try JSONDecoder().decode(Rollout.self, from: data)
        } catch {
            throw .notARollout(path: path, message: describe(error))
        }
        guard rollout.schema == schema else { throw .wrongSchema(path: path, schema: rollout.schema) }
        return rollout
    }

    /// Writes `rollout` to `path` (pretty-printed, keys sorted, so saved rollouts diff well).
    public static func write(_ rollout: Rollout, to path: String) throws(RolloutFileError) {
        do {
            try encode(rollout).write(to: URL(fileURLWithPath: path), options: .atomic)
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

    /// Decoding errors say which key is wrong, not Foundation's "data couldn't be read".
    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong value at \(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "bad value at \(path(context.codingPath)): \(context.debugDescription)"
        default:
            return error.localizedDescription
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingPrefix(".").description
    }
}

/// Why a rollout file cannot be read or written. Thread-safe value.
public enum RolloutFileError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, message: String)
    case notARollout(path: String, message: String)
    case wrongSchema(path: String, schema: String)
    case unwritable(path: String, message: String)
    /// The rollout does not say which inventory it was planned from.
    case noInventory(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let message): return "\(path): cannot read the rollout: \(message)"
        case .notARollout(let path, let message): return "\(path): not a rollout saved by `tidemark plan --out`: \(message)"
        case .wrongSchema(let path, let schema): return "\(path): schema \(schema) is not \(RolloutFile.schema)."
        case .unwritable(let path, let message): return "\(path): cannot write the rollout: \(message)"
        case .noInventory(let path): return "\(path): the rollout does not say which inventory it was planned from; pass -i INVENTORY."
        }
    }
}
