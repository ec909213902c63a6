/// Removes secrets from connection strings, and from any text that quotes them, before they
/// reach output, logs, reports or payloads.
package enum Redaction {
    /// Replaces every password in `text` with `***`: the password of each URI
    /// (`postgres://u:secret@h/db`, wherever it stands in the text) and the value of each
    /// `password` keyword or query parameter (`password=secret`, `password = secret`,
    /// `password='a b\'c'`, `PGPASSWORD=secret`; the keyword in any case). Thread-safe (pure function).
    ///
    /// A password may hold any of `? ' @ : / % # space`, raw or percent-encoded: a URI's password
    /// runs from the first `:` of its user information to the last `@` of the URI's word (it
    /// ends at whitespace or a quote), or, when that word holds no `@` (a raw space or quote in
    /// the password), to the last `@` on the line before the next URI. Hiding too much of a
    /// malformed URL is the price of never showing part of a password.
    /// Works on Unicode scalars, not `Character`s: a quote or `:` followed by a combining mark
    /// is one `Character`, which read a quoted password as unquoted and printed its tail (found
    /// by the `names` fuzzer, Regressions/names/crash-238a9e47…).
    package static func redactConnectionString(_ text: String) -> String {
        redactKeywordValues(in: redactURIPasswords(in: Array(text.unicodeScalars)))
    }

    /// The password written in the URI whose text starts at `rest` (just after `://`), as
    /// written (still percent-encoded); nil when there is no `user:…@`.
    package static func uriPassword(in rest: Substring) -> String? {
        let scalars = Array(rest.unicodeScalars)
        guard let range = uriPasswordRange(in: scalars, from: 0) else { return nil }
        return text(scalars[range])
    }

    /// `scheme://user:password@host…`: replaces each URI's password (see above).
    private static func redactURIPasswords(in scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(scalars.count)
        var index = 0
        while let schemeEnd = end(of: "://", in: scalars, from: index) {
            result += scalars[index..<schemeEnd]
            index = schemeEnd
            guard let range = uriPasswordRange(in: scalars, from: index) else { continue }
            result += scalars[index..<range.lowerBound]
            result += "***".unicodeScalars
            index = range.upperBound
        }
        return result + scalars[index...]
    }

    /// Where the password of the URI whose text starts at `start` (just after `://`) is: between
    /// the user information's `:` and the `@` that ends it. Nil when there is no `user:…@`.
    private static func uriPasswordRange(in s: [Unicode.Scalar], from start: Int) -> Range<Int>? {
        // The user name ends at the first `:`; `@`, `/`, a bracket (IPv6 host), whitespace or a
        // quote before it means no password is written.
        guard let colon = s[start...].firstIndex(where: { ":@/[\"'".unicodeScalars.contains($0) || isWhitespace($0) }),
            s[colon] == ":"
        else { return nil }
        let afterColon = colon + 1
        let wordEnd = s[afterColon...].firstIndex { isWhitespace($0) || $0 == "\"" || $0 == "'" } ?? s.endIndex
        if let at = s[afterColon..<wordEnd].lastIndex(of: "@") {
            return afterColon..<at
        }
        // No `@` in the word: a raw space or quote in the password, or a `host:port` URI.
        let lineEnd = s[afterColon...].firstIndex(where: isNewline) ?? s.endIndex
        let nextURI =
            (end(of: "://", in: Array(s[afterColon..<lineEnd]), from: 0)).map { afterColon + $0 - 3 } ?? lineEnd
        guard let at = s[afterColon..<nextURI].lastIndex(of: "@") else { return nil }
        return afterColon..<at
    }

    /// `password` (any case, as a whole word's end: `PGPASSWORD` too), optional spaces, `=`,
    /// optional spaces, then a value. After `?` or `&` (a URI's query) the value runs to the next
    /// `&` or the end of the line; elsewhere it is a conninfo value: quoted with `'`, or up to
    /// whitespace, backslash escaping the next character in both.
    private static func redactKeywordValues(in s: [Unicode.Scalar]) -> String {
        let keyword = Array("password".unicodeScalars)
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(s.count)
        var index = 0
        while index < s.count {
            guard index + keyword.count <= s.count,
                zip(s[index..<(index + keyword.count)], keyword).allSatisfy({ lowercased($0) == $1 })
            else {
                result.append(s[index])
                index += 1
                continue
            }
            let inQuery = index > 0 && (s[index - 1] == "?" || s[index - 1] == "&")
            var cursor = index + keyword.count
            while cursor < s.count, s[cursor] == " " { cursor += 1 }
            guard cursor < s.count, s[cursor] == "=" else {
                result.append(s[index])
                index += 1
                continue
            }
            cursor += 1
            while cursor < s.count, s[cursor] == " " { cursor += 1 }
            result += s[index..<cursor]
            result += "***".unicodeScalars
            if inQuery {
                while cursor < s.count, s[cursor] != "&", !isNewline(s[cursor]) { cursor += 1 }
            } else if cursor < s.count, s[cursor] == "'" {
                cursor += 1
                while cursor < s.count, s[cursor] != "'" {
                    cursor += s[cursor] == "\\" ? 2 : 1
                }
                cursor = min(cursor + 1, s.count)
            } else {
                while cursor < s.count, !isWhitespace(s[cursor]) {
                    cursor += s[cursor] == "\\" ? 2 : 1
                }
                cursor = min(cursor, s.count)
            }
            index = cursor
        }
        return text(result[...])
    }

    /// The index just past the first `needle` in `s` at or after `start`.
    private static func end(of needle: String, in s: [Unicode.Scalar], from start: Int) -> Int? {
        let pattern = Array(needle.unicodeScalars)
        guard s.count >= pattern.count, start <= s.count - pattern.count else { return nil }
        for index in start...(s.count - pattern.count) where s[index..<(index + pattern.count)].elementsEqual(pattern) {
            return index + pattern.count
        }
        return nil
    }

    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }

    private static func isNewline(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}": return true
        default: return false
        }
    }

    private static func lowercased(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        ("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32) ?? scalar : scalar
    }

    private static func text(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
