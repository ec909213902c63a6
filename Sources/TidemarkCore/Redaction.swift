/// Removes secrets from connection strings, and from any text that quotes them, before they
/// reach output, logs, reports or payloads.
public enum Redaction {
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
    public static func redactConnectionString(_ text: String) -> String {
        redactKeywordValues(in: redactURIPasswords(in: text))
    }

    /// `scheme://user:password@host…`: replaces each URI's password (see above).
    private static func redactURIPasswords(in text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            guard let range = uriPasswordRange(in: rest) else { continue }
            result += rest[..<range.lowerBound]
            result += "***"
            rest = rest[range.upperBound...]
        }
        return result + rest
    }

    /// Where the password of the URI whose text starts at `rest` (just after `://`) is: between
    /// the user information's `:` and the `@` that ends it. Nil when there is no `user:…@`.
    public static func uriPasswordRange(in rest: Substring) -> Range<Substring.Index>? {
        // The user name ends at the first `:`; `@`, `/`, a bracket (IPv6 host), whitespace or a
        // quote before it means no password is written.
        guard let colon = rest.firstIndex(where: { $0 == ":" || $0 == "@" || $0 == "/" || $0 == "[" || $0.isWhitespace || $0 == "\"" || $0 == "'" }),
            rest[colon] == ":"
        else { return nil }
        let afterColon = rest.index(after: colon)
        let wordEnd = rest[afterColon...].firstIndex { $0.isWhitespace || $0 == "\"" || $0 == "'" } ?? rest.endIndex
        if let at = rest[afterColon..<wordEnd].lastIndex(of: "@") {
            return afterColon..<at
        }
        // No `@` in the word: a raw space or quote in the password, or a `host:port` URI.
        let lineEnd = rest[afterColon...].firstIndex(where: \.isNewline) ?? rest.endIndex
        let nextURI = rest[afterColon..<lineEnd].range(of: "://")?.lowerBound ?? lineEnd
        guard let at = rest[afterColon..<nextURI].lastIndex(of: "@") else { return nil }
        return afterColon..<at
    }

    /// `password` (any case, as a whole word's end: `PGPASSWORD` too), optional spaces, `=`,
    /// optional spaces, then a value. After `?` or `&` (a URI's query) the value runs to the next
    /// `&` or the end of the line; elsewhere it is a conninfo value: quoted with `'`, or up to
    /// whitespace, backslash escaping the next character in both.
    private static func redactKeywordValues(in text: String) -> String {
        let characters = Array(text)
        let keyword = Array("password")
        var result = ""
        var index = 0
        while index < characters.count {
            guard index + keyword.count <= characters.count,
                zip(characters[index..<(index + keyword.count)], keyword).allSatisfy({ $0.lowercased() == String($1) })
            else {
                result.append(characters[index])
                index += 1
                continue
            }
            let inQuery = index > 0 && (characters[index - 1] == "?" || characters[index - 1] == "&")
            var cursor = index + keyword.count
            while cursor < characters.count, characters[cursor] == " " { cursor += 1 }
            guard cursor < characters.count, characters[cursor] == "=" else {
                result.append(characters[index])
                index += 1
                continue
            }
            cursor += 1
            while cursor < characters.count, characters[cursor] == " " { cursor += 1 }
            result += String(characters[index..<cursor]) + "***"
            if inQuery {
                while cursor < characters.count, characters[cursor] != "&", !characters[cursor].isNewline { cursor += 1 }
            } else if cursor < characters.count, characters[cursor] == "'" {
                cursor += 1
                while cursor < characters.count, characters[cursor] != "'" {
                    cursor += characters[cursor] == "\\" ? 2 : 1
                }
                cursor = min(cursor + 1, characters.count)
            } else {
                while cursor < characters.count, !characters[cursor].isWhitespace {
                    cursor += characters[cursor] == "\\" ? 2 : 1
                }
                cursor = min(cursor, characters.count)
            }
            index = cursor
        }
        return result
    }
}
