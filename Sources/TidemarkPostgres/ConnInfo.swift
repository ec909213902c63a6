import CLibPQ
import Foundation
import TidemarkCore

/// A PostgreSQL connection string (URI or conninfo) read once, by libpq's own parser
/// (`PQconninfoParse`), so the keywords Tidemark hands to libpq and to `pg_dump`/`pg_restore`
/// are the ones libpq would have read itself. Pure; thread-safe value.
struct ConnInfo: Sendable, Hashable {
    /// The keywords the string sets, in libpq's order, with their values (percent-decoded,
    /// unquoted). The password among them, if any.
    var options: [ConnectParameters.Pair]

    /// Why a connection string cannot be used, in words that hold no part of its password.
    struct Problem: Error, Sendable, Hashable {
        var message: String
    }

    /// The `password` the string sets, if any.
    var password: String? { options.last { $0.keyword == "password" }?.value }

    /// Parses `text`. A plain word (neither a URI nor `keyword=value`) is a database name, as
    /// libpq's `expand_dbname` reads it.
    static func parse(_ text: String) -> Result<ConnInfo, Problem> {
        guard isConnectionString(text) else {
            return .success(ConnInfo(options: [ConnectParameters.Pair(keyword: "dbname", value: text)]))
        }
        var error: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(text, &error) else {
            let libpq = error.map { PGError.clean(UnsafePointer($0)) } ?? "out of memory"
            if let error { PQfreemem(error) }
            return .failure(Problem(message: "cannot parse the connection string: \(safeParseError(libpq, in: text))"))
        }
        defer { PQconninfoFree(parsed) }
        var options: [ConnectParameters.Pair] = []
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                options.append(ConnectParameters.Pair(keyword: String(cString: keyword), value: String(cString: value)))
            }
            option += 1
        }
        let info = ConnInfo(options: options)
        if let problem = info.misreadPassword(in: text) { return .failure(problem) }
        return .success(info)
    }

    /// Whether libpq reads `text` as a connection string rather than a database name.
    static func isConnectionString(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") || text.contains("=")
    }

    /// A URI whose user information holds a raw `@` or `/` in the password is read by libpq
    /// with part of the password as the host, port or database (`u:p@ss@h` connects to host
    /// `ss@h`), and libpq's connection errors then quote that part. Such a URI is refused
    /// before any connection, with a sentence that quotes none of it.
    private func misreadPassword(in text: String) -> Problem? {
        guard text.hasPrefix("postgres"), let written = Self.uriPassword(in: text), !written.isEmpty else { return nil }
        let intended = written.removingPercentEncoding ?? written
        guard intended != password else { return nil }
        return Problem(
            message: "the URL's password is not read as written: percent-encode `@` as %40, `/` as %2F, `%` as %25 "
                + "(and `?`, `#`, `:`, spaces) in a URL's user name and password.")
    }

    /// The password as a person wrote it into a URI's user information: from the first `:`
    /// (before any `@`) to the last `@` before the query, or the last `@` at all when the
    /// password itself holds a raw `?`. Nil when the URI has no `user:password@`.
    static func uriPassword(in text: String) -> String? {
        guard let scheme = text.range(of: "://") else { return nil }
        let rest = text[scheme.upperBound...]
        guard let colon = rest.firstIndex(of: ":"), rest.first != "[" else { return nil }
        if let firstAt = rest.firstIndex(of: "@"), firstAt < colon { return nil }
        let query = rest.firstIndex(of: "?") ?? rest.endIndex
        if let at = rest[..<query].lastIndex(of: "@"), at > colon {
            return String(rest[rest.index(after: colon)..<at])
        }
        // A raw `?` in the password; a query parameter (`?application_name=a@b`) holds a `=`.
        guard let at = rest.lastIndex(of: "@"), at > colon else { return nil }
        let written = rest[rest.index(after: colon)..<at]
        return written.contains("=") ? nil : String(written)
    }

    /// libpq's parse error with every quoted piece that is not visible in the redacted string
    /// replaced by `"***"`: the pieces it quotes (`invalid percent-encoded token: "p%ss"`) may be
    /// the password or part of it.
    static func safeParseError(_ message: String, in text: String) -> String {
        let visible = Redaction.redactConnectionString(text)
        var result = ""
        var rest = Substring(message)
        while let open = rest.firstIndex(of: "\"") {
            result += rest[...open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "\"") else {
                // An unmatched quote: nothing after it can be checked, so none of it is shown.
                return result + "***"
            }
            let piece = rest[afterOpen..<close]
            result += visible.contains(piece) && !piece.isEmpty ? String(piece) : "***"
            result += "\""
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// The options as one conninfo string (`keyword='value'`, with `\` and `'` escaped as
    /// conninfo requires), leaving out `excluded` keywords: what `pg_dump --dbname` gets.
    static func conninfoString(_ pairs: [ConnectParameters.Pair], excluding excluded: Set<String>) -> String {
        pairs.filter { !excluded.contains($0.keyword) }.map { pair in
            let escaped = pair.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
                of: "'", with: "\\'")
            return "\(pair.keyword)='\(escaped)'"
        }.joined(separator: " ")
    }
}
