import Foundation
import TidemarkCore
import TidemarkFiles

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plan directory written from the input. A line `=== PATH` starts a file (at most two path
/// components, so Diesel's `<version>_<name>/up.sql` can be written); text before the first
/// such line is `V1__fuzz.sql`. Contract: a plan whose versions ascend and whose scripts are
/// files of the directory; or errors that name files of the directory, at positions inside them.
enum PlanFuzz {
    static let maximumFiles = 32

    static func run(_ input: [UInt8]) -> ContractViolation? {
        func fail(_ message: String) -> ContractViolation { ContractViolation(.plan, message) }
        let directory = ScratchDirectory.emptyFolder("plan")
        let written = write(files(from: input), into: directory)

        do {
            let plan = try PlanDirectory.load(at: directory)
            for (earlier, later) in zip(plan.migrations, plan.migrations.dropFirst())
            where !(earlier.version < later.version) {
                return fail("versions out of order: \(earlier.version.text) before \(later.version.text)")
            }
            for migration in plan.migrations {
                for script in [migration.forward] + (migration.undo.map { [$0] } ?? []) {
                    guard let bytes = written[directory + "/" + script.path] else {
                        return fail("script \(script.path) is not a file of the plan")
                    }
                    // The whole-file form is kept when acknowledgement lines make the two differ.
                    guard (script.wholeFileChecksum ?? script.checksum) == Checksum.sha256(of: Data(bytes)) else {
                        return fail("checksum of \(script.path) is not the checksum of its bytes")
                    }
                }
            }
            let versions = Set(plan.migrations.map(\.version))
            if let stray = plan.quarantine.first(where: { !versions.contains($0.version) }) {
                return fail("quarantined version \(stray.version.text) is not in the plan")
            }
            return nil
        } catch {
            guard !error.errors.isEmpty else { return fail("PlanProblems without errors") }
            for problem in error.errors {
                if let violation = check(problem, directory: directory, written: written) { return fail(violation) }
            }
            return nil
        }
    }

    /// Writes `files` into the empty `directory`, the first of a path winning; a file whose
    /// folder is a file already, or whose path is a folder already, is left out. Returns what
    /// was written, by full path. Remembers what it made rather than asking the file system
    /// (that asking cost a fifth of each input's time).
    static func write(_ files: [(path: String, content: [UInt8])], into directory: String) -> [String: [UInt8]] {
        var written: [String: [UInt8]] = [:]
        var folders = Set<String>()
        for (path, content) in files {
            let full = directory + "/" + path
            guard written[full] == nil, !folders.contains(full) else { continue }
            if let slash = path.utf8.firstIndex(of: UInt8(ascii: "/")) { // at most two components (safePath)
                let folder = directory + "/" + String(decoding: path.utf8[..<slash], as: UTF8.self)
                guard written[folder] == nil else { continue }
                if !folders.contains(folder) {
                    guard mkdir(folder, 0o755) == 0 else { continue }
                    folders.insert(folder)
                }
            }
            if ScratchDirectory.write(content, to: full) { written[full] = content }
        }
        return written
    }

    /// Why `problem` breaks the contract, or nil.
    static func check(_ problem: PlanError, directory: String, written: [String: [UInt8]]) -> String? {
        // Byte prefixes: `/` followed by a combining mark is one Character, so `hasPrefix` on
        // Characters said a file of the directory was outside it.
        func inside(_ file: String) -> Bool { file == directory || file.utf8.starts(with: (directory + "/").utf8) }
        switch problem {
        case .unknownDirective(let location, _), .badDirective(let location, _), .badPlanFile(let location, _),
            .badMetadata(let location, _):
            guard let content = written[location.file] else { return "\(problem): names a file that was not written" }
            let bounds = TextBounds(content)
            guard bounds.contains(line: location.line, column: location.column) else {
                return "\(bounds.outside(line: location.line, column: location.column)): \(problem)"
            }
            return nil
        case .directoryNotFound(let path), .noMigrations(let path), .mixedFormats(let path, _, _, _, _):
            return path == directory ? nil : "\(problem): names \(path), not the plan directory"
        case .duplicateVersion(_, _, _, let file), .undoWithoutForward(let file, _), .unparsableName(let file, _),
            .unreadable(let file, _):
            return inside(file) ? nil : "\(problem): names a file outside the plan directory"
        case .fileNameNotUTF8(let path, _, _):
            return path == directory ? nil : "\(problem): names \(path), not the plan directory"
        case .outsidePlan:
            // The fuzzer writes no symlink and no `..`: nothing it writes can lead outside.
            return "\(problem): a plan without symlinks was said to leave its folder"
        }
    }

    /// The files the input describes, paths made safe: no `..`, no absolute paths, at most two
    /// components of at most 64 bytes.
    static func files(from input: [UInt8]) -> [(path: String, content: [UInt8])] {
        var files: [(path: String, content: [UInt8])] = []
        var path = "V1__fuzz.sql"
        var content: [UInt8] = []
        var lineStart = 0
        let header = Array("=== ".utf8)
        while lineStart < input.count {
            let lineEnd = input[lineStart...].firstIndex(of: 0x0A).map { $0 + 1 } ?? input.count
            let line = input[lineStart..<lineEnd]
            if line.starts(with: header) {
                files.append((path, content))
                content = []
                let name = String(
                    decoding: line.dropFirst(header.count).filter { $0 != 0x0A && $0 != 0x0D }, as: UTF8.self)
                path = safePath(name)
                if files.count >= maximumFiles { break }
            } else {
                content += line
            }
            lineStart = lineEnd
        }
        files.append((path, content))
        return files.filter { !$0.path.isEmpty }
    }

    static func safePath(_ name: String) -> String {
        let components = name.utf8.split(separator: UInt8(ascii: "/"))
            .map { String(decoding: $0.filter { $0 != 0 }.prefix(64), as: UTF8.self) }
            .filter { !$0.isEmpty && $0 != "." && $0 != ".." }
        return components.prefix(2).joined(separator: "/")
    }
}
