/// The extent of an input as any line-break convention counts it, to check that an error's
/// line and column point inside it. Pure value; thread-safe.
///
/// Parsers disagree on line breaks (libyaml also breaks at a lone `\r`, NEL, LS and PS), so
/// the line bound counts every one of them and the column bound is the longest `\n` line in
/// bytes: loose enough for each convention, tight enough to catch a position past the input.
struct TextBounds: Sendable {
    /// At most this many lines.
    var lines: Int
    /// The longest line, split at `\n`, in bytes.
    var longestLine: Int

    init(_ bytes: [UInt8]) {
        var breaks = 0
        var longest = 0
        var current = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0A {
                breaks += 1
                longest = max(longest, current)
                current = 0
            } else {
                current += 1
                if byte == 0x0D { breaks += 1 }
                // NEL (C2 85), LS and PS (E2 80 A8, E2 80 A9).
                if byte == 0xC2, index + 1 < bytes.count, bytes[index + 1] == 0x85 { breaks += 1 }
                if byte == 0xE2, index + 2 < bytes.count, bytes[index + 1] == 0x80,
                    bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9
                {
                    breaks += 1
                }
            }
            index += 1
        }
        lines = breaks + 1
        longestLine = max(longest, current)
    }

    /// Whether `line:column` (both 1-based) lies inside the input or just past its end.
    func contains(line: Int, column: Int) -> Bool {
        (1...lines).contains(line) && (1...(longestLine + 1)).contains(column)
    }

    /// "line L, column C is outside the input (N lines, longest M bytes)".
    func outside(line: Int, column: Int) -> String {
        "line \(line), column \(column) is outside the input (at most \(lines) lines, the longest \(longestLine) bytes)"
    }
}
