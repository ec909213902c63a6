import Foundation

/// Lexical path arithmetic on `/`-separated paths: no file system access, no symlinks
/// resolved. Pure and thread-safe (except `absolute`, which reads the working directory).
enum PathText {
    /// `directory/name`, without doubling the separator; `name` alone when `directory` is empty.
    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty || name.hasPrefix("/") { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory part of `path` (`inventories` for `inventories/demo.yaml`; empty for `demo.yaml`).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component (`demo.yaml`), ignoring trailing slashes.
    static func lastComponent(of path: String) -> String {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The last component without its extension (`demo` for `inventories/demo.yaml`).
    static func baseName(of path: String) -> String {
        let last = lastComponent(of: path)
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return last }
        return String(last[..<dot])
    }

    /// Removes `.` components, empty components and `..` that follow a real component.
    /// A relative path stays relative (`inventories/../plans/demo` → `plans/demo`); leading
    /// `..` components of a relative path are kept; `..` above `/` is dropped.
    static func normalize(_ path: String) -> String {
        let isAbsolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".":
                continue
            case "..":
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !isAbsolute {
                    parts.append(component)
                }
            default:
                parts.append(component)
            }
        }
        let joined = parts.joined(separator: "/")
        if isAbsolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// `path` made absolute against the current working directory, then normalised.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        return normalize(join(FileManager.default.currentDirectoryPath, path))
    }

    /// `path` resolved against `base` (a directory), then normalised.
    static func resolve(_ path: String, against base: String) -> String {
        normalize(path.hasPrefix("/") ? path : join(base, path))
    }
}
