/// Removes secrets from connection strings, and from any text that quotes them, before they
/// reach output, logs, reports or payloads.
public enum Redaction {
    /// Replaces every password in `text` with `***`: the password of each URI
    /// (`postgres://u:secret@h/db`, wherever it stands in the text) and the value of each
    /// `password` keyword or query parameter (`password=secret`, `password = secret`,
    /// `password='a b\'c'`, `PGPASSWORD=secret`; the keyword in any case). Thread-safe (pure function).
    public static func redactConnectionString(_ text: String) -> String {
        redactKeywordValues(in: redactURIPasswords(in: text))
    }

    /// `scheme://user:password@host…`: the part between the first `:` of the user info and the
    /// authority's last `@`. The authority ends at `/`, `?`, whitespace or a quote.
    private static func redactURIPasswords(in text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0.isWhitespace || $0 == "\"" || $0 == "'" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                result += authority[...colon]
                result += "***"
                rest = rest[at...]
            }
        }
        return result + rest
    }

    /// `password` (any case, as a whole word's end: `PGPASSWORD` too), optional spaces, `=`,
    /// optional spaces, then a value: quoted with `'` (backslash escapes, as in conninfo) or up
    /// to whitespace or `&`.
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
            if cursor < characters.count, characters[cursor] == "'" {
                cursor += 1
                while cursor < characters.count, characters[cursor] != "'" {
                    cursor += characters[cursor] == "\\" ? 2 : 1
                }
                cursor = min(cursor + 1, characters.count)
            } else {
                while cursor < characters.count, !characters[cursor].isWhitespace, characters[cursor] != "&" { cursor += 1 }
            }
            index = cursor
        }
        return result
    }
}
