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
        let bytes = path.utf8
        guard let slash = bytes.lastIndex(of: separator) else { return "" }
        if slash == bytes.startIndex { return "/" }
        return text(bytes[..<slash])
    }

    /// The last component (`demo.yaml`), ignoring trailing slashes.
    static func lastComponent(of path: String) -> String {
        var bytes = path.utf8[...]
        if bytes.count > 1, bytes.last == separator { bytes = bytes.dropLast() }
        guard let slash = bytes.lastIndex(of: separator) else { return text(bytes) }
        return text(bytes[bytes.index(after: slash)...])
    }

    /// The last component without its extension (`demo` for `inventories/demo.yaml`).
    static func baseName(of path: String) -> String {
        let last = lastComponent(of: path).utf8
        guard let dot = last.lastIndex(of: UInt8(ascii: ".")), dot != last.startIndex else { return text(last[...]) }
        return text(last[..<dot])
    }

    /// Removes `.` components, empty components and `..` that follow a real component.
    /// A relative path stays relative (`inventories/../plans/demo` → `plans/demo`); leading
    /// `..` components of a relative path are kept; `..` above `/` is dropped.
    static func normalize(_ path: String) -> String {
        let isAbsolute = path.utf8.first == separator
        var parts: [String] = []
        for component in path.utf8.split(separator: separator, omittingEmptySubsequences: true).map(text) {
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

    /// Paths are split at the byte `/`, never at a `Character`: a name starting with a combining
    /// mark (U+0301, U+06DC …) makes `/` and the mark one `Character`, so a `Character` search
    /// missed that separator (`plan/\u{6DC}V1__a.sql` was one component). Found by the `plan` fuzzer.
    private static let separator = UInt8(ascii: "/")

    private static func text(_ bytes: Substring.UTF8View) -> String {
        String(decoding: bytes, as: UTF8.self)
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
