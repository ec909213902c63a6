/// Removes secrets from connection strings before they reach any text.
public enum Redaction {
    /// Replaces the password in a URI (`postgres://u:secret@h/db`) or a conninfo string
    /// (`password=secret`) with `***`. Thread-safe (pure function).
    public static func redactConnectionString(_ connection: String) -> String {
        var text = connection
        // URI form: scheme://user:password@host
        if let schemeEnd = text.range(of: "://") {
            let afterScheme = text[schemeEnd.upperBound...]
            let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
            let authority = text[schemeEnd.upperBound..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                text.replaceSubrange(text.index(after: colon)..<at, with: "***")
            }
        }
        // Query parameter or conninfo keyword: password=...
        var result = ""
        var rest = Substring(text)
        while let range = rest.range(of: "password=") {
            result += rest[..<range.upperBound]
            result += "***"
            let tail = rest[range.upperBound...]
            let end = tail.firstIndex(where: { $0 == " " || $0 == "&" }) ?? tail.endIndex
            rest = tail[end...]
        }
        result += rest
        return result
    }
}
