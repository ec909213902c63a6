/// Text that cannot change what a terminal or a plain log shows around it. Thread-safe (no state).
///
/// Names and text read from a database or a file (server error messages, script descriptions,
/// reasons in plan.yaml, history rows) may hold escape sequences, line breaks or bidirectional
/// overrides: printed raw, a newline in a target name made `report` show a forged `succeeded`
/// line. Names are refused when they hold such characters; everything else is escaped with
/// `escaped(_:)` where it is printed.
package enum PrintableText {
    /// Whether `scalar` changes the display instead of showing a glyph: Unicode control (Cc) and
    /// format (Cf) characters, and the line and paragraph separators (Zl, Zp).
    package static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// The first control character in `text` and its 1-based character (scalar) position.
    package static func firstControl(in text: String) -> (scalar: Unicode.Scalar, position: Int)? {
        for (index, scalar) in text.unicodeScalars.enumerated() where isControl(scalar) {
            return (scalar, index + 1)
        }
        return nil
    }

    /// `text` with every control character written as a Swift-style escape (`\n`, `\r`, `\t`,
    /// `\0`, `\u{1B}`), so it prints on one line and sends nothing to the terminal. Tabs are
    /// kept as they are in `escaped(_:keepingTabs:)` with `keepingTabs: true`.
    package static func escaped(_ text: String, keepingTabs: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += keepingTabs ? "\t" : "\\t"
            case "\0": result += "\\0"
            default: result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return result
    }

    /// Each line of `text` escaped, the line breaks kept: for multi-line text printed as lines
    /// (a script excerpt), where only the breaks Tidemark itself adds are meant.
    package static func escapedLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { escaped(String($0), keepingTabs: true) }
            .joined(separator: "\n")
    }
}
