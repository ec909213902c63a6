import Foundation
import TidemarkCore

/// Where command output goes: plain lines for pipes, cron and CI; colour only on a terminal.
/// Thread-safe: writes go straight to the file descriptor.
struct Terminal: Sendable {
    let fileDescriptor: Int32

    static let standardOutput = Terminal(fileDescriptor: STDOUT_FILENO)
    static let standardError = Terminal(fileDescriptor: STDERR_FILENO)

    /// True when the stream is a terminal and NO_COLOR is not set.
    var usesColor: Bool {
        isatty(fileDescriptor) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    var isInteractive: Bool { isatty(fileDescriptor) == 1 }

    /// Writes `text` followed by a newline unless it already ends with one. A second guard
    /// behind the printers, which escape every name and every text read from a database or a
    /// file: control characters other than line breaks, tabs and this type's own colour codes
    /// are escaped, so no text can move the cursor, clear the screen or rewrite a line.
    func write(_ text: String) {
        let safe = Self.neutralized(text)
        let line = safe.hasSuffix("\n") ? safe : safe + "\n"
        FileHandle(fileDescriptor: fileDescriptor, closeOnDealloc: false).write(Data(line.utf8))
    }

    /// `text` with every control character escaped (`PrintableText`) except `\n`, `\t` and the
    /// colour sequences `styled(_:_:)` writes (`ESC [ digits m`).
    static func neutralized(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { PrintableText.isControl($0) && $0 != "\n" && $0 != "\t" }) else {
            return text
        }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\u{1B}", let end = colourSequenceEnd(scalars, from: index) {
                result.append(contentsOf: scalars[index...end])
                index = end + 1
                continue
            }
            if scalar == "\n" || !PrintableText.isControl(scalar) {
                result.append(scalar)
            } else {
                result.append(contentsOf: PrintableText.escaped(String(scalar), keepingTabs: true).unicodeScalars)
            }
            index += 1
        }
        return String(result)
    }

    /// The index of the `m` closing `ESC [ digits m` starting at `start`, or nil.
    private static func colourSequenceEnd(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
        guard start + 2 < scalars.count, scalars[start + 1] == "[" else { return nil }
        var index = start + 2
        while index < scalars.count, index - start <= 4, ("0"..."9").contains(scalars[index]) { index += 1 }
        guard index > start + 2, index < scalars.count, scalars[index] == "m" else { return nil }
        return index
    }

    /// Writes `text` as it is, without a newline (status lines redrawn in place).
    func writeRaw(_ text: String) {
        FileHandle(fileDescriptor: fileDescriptor, closeOnDealloc: false).write(Data(text.utf8))
    }

    enum Style: String {
        case bold = "1"
        case dim = "2"
        case red = "31"
        case green = "32"
        case yellow = "33"
        case cyan = "36"
    }

    func styled(_ text: String, _ style: Style) -> String {
        usesColor ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }
}

/// Renders rows as aligned columns (two spaces apart), the header first.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }
    init(_ headers: [String]) { self.headers = headers }

    /// Cells are one line each: names and text from a database or a file are escaped here.
    mutating func add(_ cells: [String]) { rows.append(cells.map { PrintableText.escaped($0) }) }

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Encodes `value` as pretty JSON with sorted keys and ISO 8601 dates (stable for golden files).
func renderJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601Milliseconds
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
