import Foundation
import TidemarkCore
import TidemarkFiles
import TidemarkNotify

/// A saved rollout: a value that saves and reads back unchanged, or an error at a position
/// inside the file.
enum RolloutFuzz {
    static func run(_ input: [UInt8]) -> ContractViolation? {
        func fail(_ message: String) -> ContractViolation { ContractViolation(.rollout, message) }
        let folder = ScratchDirectory.folder("rollout")
        let file = "\(folder)/rollout.json"
        guard ScratchDirectory.write(input, to: file) else { return nil }
        do {
            let rollout = try RolloutFile.read(at: file)
            let copy = "\(folder)/copy.json"
            try RolloutFile.write(rollout, to: copy)
            guard try RolloutFile.read(at: copy) == rollout else {
                return fail("the rollout reads back different after saving")
            }
            return nil
        } catch {
            switch error {
            case .notARollout(let location, _), .wrongSchema(let location, _):
                return JSONFileContract.check(location, file: file, input: input, error: error).map(fail)
            case .unreadable, .unwritable, .noInventory:
                return fail("unexpected error: \(error)")
            }
        }
    }
}

/// `fingerprints.json`: a value that encodes and decodes unchanged, or an error at a position.
enum FingerprintFuzz {
    static func run(_ input: [UInt8]) -> ContractViolation? {
        func fail(_ message: String) -> ContractViolation { ContractViolation(.fingerprints, message) }
        let folder = ScratchDirectory.folder("fingerprints")
        let file = "\(folder)/\(FingerprintFile.fileName)"
        guard ScratchDirectory.write(input, to: file) else { return nil }
        do {
            guard let fingerprints = try FingerprintFile.load(inPlan: folder) else {
                return fail("no value for an existing file")
            }
            let data = try JSONEncoder().encode(fingerprints)
            guard try JSONDecoder().decode(FingerprintFile.self, from: data) == fingerprints else {
                return fail("the fingerprints read back different after encoding")
            }
            return nil
        } catch let error as PlanError {
            guard case .badPlanFile(let location, _) = error else { return fail("unexpected error: \(error)") }
            return JSONFileContract.check(location, file: file, input: input, error: error).map(fail)
        } catch {
            return fail("unexpected error: \(error)")
        }
    }
}

/// One outbox file: an entry, or an error at a position inside the file.
enum OutboxFuzz {
    static func run(_ input: [UInt8]) -> ContractViolation? {
        func fail(_ message: String) -> ContractViolation { ContractViolation(.outbox, message) }
        let file = "/outbox/fuzz.json"
        do {
            let entry = try OutboxFile.read(Data(input), file: file)
            guard entry.schema == OutboxFile.schema else { return fail("read an entry of schema \(entry.schema)") }
            return nil
        } catch {
            return JSONFileContract.check(error.location, file: file, input: input, error: error).map(fail)
        }
    }
}

/// The shared contract of JSON file errors: `file:line:column` inside the input.
enum JSONFileContract {
    static func check(_ location: SourceLocation, file: String, input: [UInt8], error: any Error) -> String? {
        guard location.file == file else { return "error names \(location.file), not \(file): \(error)" }
        let bounds = TextBounds(input)
        guard bounds.contains(line: location.line, column: location.column) else {
            return "\(bounds.outside(line: location.line, column: location.column)): \(error)"
        }
        guard "\(error)".hasPrefix("\(file):\(location.line):\(location.column): ") else {
            return "error does not start with file:line:column: \(error)"
        }
        return nil
    }
}
