import Foundation
import TidemarkCore

/// The file-system side of "a plan is its folder": where the plan directory really is, whether
/// a path inside it resolves (through symlinks or `..`) outside it, and its file names as bytes.
/// Thread-safe value.
///
/// A symlink in a plan directory used to be followed anywhere: `V1__x.sql -> /etc/shadow`
/// validated and `apply` sent the file to the server, whose log then held it. Symlinks that stay
/// inside the plan directory are fine (a shared script linked from two versions); anything that
/// leaves it is refused before it is read.
struct PlanFolder {
    /// Where a path inside the plan goes when it leaves the plan directory.
    struct Escape: Equatable {
        /// The first part of the path that leaves: the symlink (or the `..`) as written.
        var link: String
        /// Where that part resolves to.
        var resolved: String
    }

    /// The plan directory as given (for messages).
    let directory: String
    /// The plan directory with every symlink resolved: a plan reached through a symlink is fine.
    let root: String?

    init(directory: String) {
        self.directory = directory
        root = Self.realPath(directory.isEmpty ? "." : directory)
    }

    /// Nil when `relative` (a path below the plan directory, `/`-separated) resolves inside it or
    /// does not exist; otherwise the part that leaves and where it goes.
    func escape(of relative: String) -> Escape? {
        guard let root else { return nil }
        let components = relative.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
            .map { String(decoding: $0, as: UTF8.self) }
        guard let final = Self.realPath(PathText.join(directory, relative)), !contains(final, root: root) else {
            return nil
        }
        // A path that climbs with `..` (a Sqitch change name may hold `/`) is shown whole, with
        // where it ends; otherwise the first symlink that leaves (a file or a folder) is shown
        // as itself, with where it points.
        guard !components.contains("..") else {
            return Escape(link: PathText.join(directory, relative), resolved: final)
        }
        var prefix = ""
        for component in components {
            prefix = prefix.isEmpty ? component : prefix + "/" + component
            if let resolved = Self.realPath(PathText.join(directory, prefix)), !contains(resolved, root: root) {
                return Escape(link: PathText.join(directory, prefix), resolved: resolved)
            }
        }
        return Escape(link: PathText.join(directory, relative), resolved: final)
    }

    private func contains(_ path: String, root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    /// `realpath(3)`: the absolute path with every symlink, `.` and `..` resolved; nil when it
    /// does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(validatingCString: resolved)
    }

    /// A file name in the plan directory that is not UTF-8.
    struct BadName: Error, Equatable {
        /// 0-based offset of the first byte that is not UTF-8.
        var byteOffset: Int
        /// The name with bad bytes replaced, for the message.
        var shown: String
    }

    /// What listing the plan directory found.
    enum Listing {
        case names([String])
        /// A file name that is not UTF-8.
        case badName(BadName)
        /// The folder could not be read (the `errno` text).
        case unreadable(String)
    }

    /// The names in the plan directory (without `.` and `..`), read as bytes so a name that is
    /// not UTF-8 is reported as such (Foundation's listing turned it into a name that does not
    /// exist, reported as "no such file").
    func names() -> Listing {
        guard let stream = opendir(directory.isEmpty ? "." : directory) else {
            return .unreadable(String(cString: strerror(errno)))
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if bytes == [UInt8(ascii: ".")] || bytes == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            if let offset = JSONTextPosition.firstInvalidUTF8(in: bytes) {
                return .badName(BadName(byteOffset: offset, shown: String(decoding: bytes, as: UTF8.self)))
            }
            names.append(String(decoding: bytes, as: UTF8.self))
        }
        return .names(names)
    }
}
