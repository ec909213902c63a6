import TidemarkCore

/// Diesel's per-migration `metadata.toml`. Pure value; thread-safe.
///
/// Diesel knows one key, `run_in_transaction`; the file is read by hand (`key = value` lines and
/// `#` comments) rather than with a TOML library, and anything else is reported with its position.
struct DieselMetadata: Sendable, Hashable {
    /// False when the migration's scripts must run outside a transaction.
    var runInTransaction = true

    /// Parses `text`; problems are appended to `errors` with `file:line:column`.
    static func parse(_ text: String, file: String, errors: inout [PlanError]) -> DieselMetadata {
        var metadata = DieselMetadata()
        var lineNumber = 0
        for rawLine in TextLines(text) {
            lineNumber += 1
            var line = rawLine
            if lineNumber == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }

            func column(of index: Substring.Index) -> Int {
                line.unicodeScalars.distance(from: line.startIndex, to: index) + 1
            }
            func fail(at index: Substring.Index, _ message: String) {
                errors.append(
                    .badMetadata(
                        location: SourceLocation(file: file, line: lineNumber, column: column(of: index)),
                        message: message))
            }

            let content = line.drop(while: \.isWhitespace)
            if content.trimmingWhitespace().isEmpty { continue }
            guard let equals = content.firstIndex(of: "=") else {
                fail(
                    at: content.startIndex,
                    "cannot read this line; metadata.toml holds `key = value` lines, e.g. run_in_transaction = false.")
                continue
            }
            let key = content[..<equals].trimmingWhitespace()
            let valuePart = content[content.index(after: equals)...]
            let value = valuePart.trimmingWhitespace()
            let valueStart = valuePart.firstIndex { !$0.isWhitespace } ?? valuePart.endIndex
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            else {
                fail(
                    at: content.startIndex,
                    "cannot read a key on this line; metadata.toml holds `key = value` lines, e.g. run_in_transaction = false."
                )
                continue
            }
            guard key == "run_in_transaction" else {
                fail(
                    at: content.startIndex,
                    "unknown key '\(key)' in metadata.toml; Diesel knows only run_in_transaction\(Suggestion.didYouMean(key, among: ["run_in_transaction"]))"
                )
                continue
            }
            switch value {
            case "true": metadata.runInTransaction = true
            case "false": metadata.runInTransaction = false
            default:
                fail(at: valueStart, "run_in_transaction must be true or false, not '\(value)'.")
            }
        }
        return metadata
    }
}
