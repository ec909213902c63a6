import Foundation
import TidemarkCore

/// Names that become paths, and connection strings that hold passwords.
///
/// The input is split at its first two line breaks into two candidate target names and a
/// password (bytes that are not UTF-8 become U+FFFD). The contract:
/// - a name `TargetName` accepts matches `TargetName.rule` (checked here by a regular
///   expression anchored at both ends of the text), is exactly one path component (no `/`, not
///   `.` or `..`, no NUL, at most 128 bytes), and stays one when joined to a folder;
/// - the name-to-path mapping is injective: two different accepted names never give one path;
/// - `Redaction.redactConnectionString` leaves nothing of the password in a URL
///   (`scheme://user:PASSWORD@host/db`, the password percent-encoded as a URL requires) or a
///   conninfo string (`password='…'`, `\` and `'` escaped with `\`): the output is exactly the
///   string with `***` in the password's place.
enum NamesFuzz {
    /// The rule written as a regular expression over the whole text: `\A…\z`, because `$`
    /// also matches before a final line break.
    static let pattern: NSRegularExpression? = try? NSRegularExpression(
        pattern: #"\A[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}\z"#)

    static let folder = "/fuzz/backups"

    static func run(_ input: [UInt8]) -> ContractViolation? {
        func fail(_ message: String) -> ContractViolation { ContractViolation(.names, message) }
        let parts = input.split(separator: UInt8(ascii: "\n"), maxSplits: 2, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        let first = parts.first ?? ""
        let second = parts.count > 1 ? parts[1] : ""
        let password = parts.count > 2 ? parts[2] : first

        var paths: [String: String] = [:]
        for text in [first, second] {
            if let problem = checkName(text) { return fail(problem) }
            guard let name = TargetName(text) else { continue }
            let path = Self.path(of: name)
            if let other = paths[path], other != text {
                return fail(
                    "names '\(PrintableText.escaped(other))' and '\(PrintableText.escaped(text))' both map to \(path)")
            }
            paths[path] = text
        }
        if let problem = checkRedaction(password: password, selector: input.first ?? 0) { return fail(problem) }
        return nil
    }

    /// The backup folder of `name` (as `BackupPolicy` builds it: one component below the folder).
    static func path(of name: TargetName) -> String {
        URL(fileURLWithPath: folder).appendingPathComponent(name.pathComponent).path
    }

    /// Nil when `TargetName` agrees with the rule and an accepted name is one safe component.
    static func checkName(_ text: String) -> String? {
        let shown = PrintableText.escaped(text)
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        let matches = pattern.map { $0.firstMatch(in: text, range: range) != nil } ?? false
        let name = TargetName(text)
        guard matches == (name != nil) else {
            return
                "TargetName \(name == nil ? "refuses" : "accepts") '\(shown)', but the rule \(matches ? "matches" : "does not match") it"
        }
        guard let name else {
            return TargetName.problem(in: text) == nil ? "'\(shown)' refused without a problem" : nil
        }
        let component = name.pathComponent
        if component.contains("/") || component == "." || component == ".." || component.utf8.contains(0)
            || component.isEmpty
        {
            return "accepted '\(shown)' is not one path component"
        }
        if component.utf8.count > TargetName.maximumLength {
            return "accepted '\(shown)' is \(component.utf8.count) bytes"
        }
        let path = URL(fileURLWithPath: Self.path(of: name))
        if path.deletingLastPathComponent().path != folder || path.lastPathComponent != text
            || path.standardized.path != path.path
        {
            return "accepted '\(shown)' gives \(path.path), not one folder below \(folder)"
        }
        return nil
    }

    /// Nil when the password is gone from both forms and nothing else changed.
    static func checkRedaction(password: String, selector: UInt8) -> String? {
        let schemes = ConnectionLocation.knownSchemes.filter { $0.hasPrefix("postgres") } + ["mysql", "mariadb"]
        let scheme = schemes[Int(selector) % schemes.count]
        let url = "\(scheme)://app:\(percentEncoded(password))@db.internal:5432/app?sslmode=require"
        let expectedURL = "\(scheme)://app:***@db.internal:5432/app?sslmode=require"
        let redactedURL = Redaction.redactConnectionString(url)
        if redactedURL != expectedURL {
            return "URL redacted as '\(PrintableText.escaped(redactedURL))', expected '\(expectedURL)'"
        }
        // Escaped scalar by scalar, as conninfo reads it: `replacingOccurrences` compares
        // Characters, so a quote followed by a combining mark was left unescaped, which ended
        // the value early (the harness wrote a different password than it checked).
        var quoted = String.UnicodeScalarView()
        for scalar in password.unicodeScalars {
            if scalar == "\\" || scalar == "'" { quoted.append("\\") }
            quoted.append(scalar)
        }
        let conninfo = "host=db.internal port=5432 user=app password='\(String(quoted))' dbname=app"
        let expectedConninfo = "host=db.internal port=5432 user=app password=*** dbname=app"
        let redactedConninfo = Redaction.redactConnectionString(conninfo)
        if redactedConninfo != expectedConninfo {
            return "conninfo redacted as '\(PrintableText.escaped(redactedConninfo))', expected '\(expectedConninfo)'"
        }
        return nil
    }

    /// Every byte outside RFC 3986's unreserved set as `%XX`, as a URL's user info requires.
    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }
}
