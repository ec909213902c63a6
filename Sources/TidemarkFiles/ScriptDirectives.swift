import TidemarkCore

/// The `-- tidemark:<name> [args]` directives of one script. Pure value; thread-safe.
///
/// Directives are read only from the leading comment block: the lines before the first line
/// that is neither blank nor a `--` comment. A `tidemark:` comment further down is ordinary SQL
/// commentary, so quoting a directive in a comment inside the script changes nothing.
struct ScriptDirectives: Sendable {
    /// `-- tidemark:no-transaction` was given.
    var noTransaction = false
    /// `-- tidemark:compensates V`, with where it was written (checked against the plan later).
    var compensates: (version: Version, location: SourceLocation)?
    /// `-- tidemark:data-loss-ok <reason>`.
    var dataLossAcknowledged: String?
    /// `-- tidemark:lock-ok <reason>`: lock-risky statements acknowledged for live environments.
    var lockAcknowledged: String?
    /// `-- tidemark:irreversible <reason>` (undo scripts only).
    var irreversible: String?
    /// The lines (1-based) holding `data-loss-ok` or `lock-ok`: acknowledgements, which change
    /// nothing about how the script runs, so the checksum leaves them out (`Checksum.script`).
    var acknowledgementLines: Set<Int> = []

    /// Reads the directives of `sql`; problems are appended to `errors`.
    ///
    /// - Parameters:
    ///   - file: the script's path as shown in messages.
    ///   - direction: `irreversible` is only valid in undo scripts, `compensates` only in forward ones.
    ///   - style: how the plan writes versions, for `compensates`.
    static func read(
        sql: String, file: String, direction: ScriptName.Direction, style: VersionStyle, errors: inout [PlanError]
    ) -> ScriptDirectives {
        var directives = ScriptDirectives()
        var seen: [String: Int] = [:]
        var lineNumber = 0
        for rawLine in TextLines(sql) {
            lineNumber += 1
            var line = rawLine
            if lineNumber == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty { continue }
            guard trimmed.hasPrefix("--") else { break }
            let comment = trimmed.dropFirst(2).drop { $0 == " " || $0 == "\t" }
            guard comment.hasPrefix("tidemark:") else { continue }

            let column = line.unicodeScalars.distance(from: line.startIndex, to: comment.startIndex) + 1
            let location = SourceLocation(file: file, line: lineNumber, column: column)
            let body = comment.dropFirst("tidemark:".count)
            let name = String(body.prefix { !$0.isWhitespace })
            let argument = body.dropFirst(name.count).trimmingWhitespace()

            func fail(_ message: String) {
                errors.append(.badDirective(location: location, message: message))
            }

            let known = ["no-transaction", "compensates", "data-loss-ok", "lock-ok", "irreversible"]
            guard known.contains(name) else {
                errors.append(.unknownDirective(location: location, directive: name))
                continue
            }
            if let firstLine = seen[name] {
                fail("tidemark:\(name) appears twice (first at line \(firstLine)); keep one.")
                continue
            }
            seen[name] = lineNumber

            switch name {
            case "no-transaction":
                if argument.isEmpty {
                    directives.noTransaction = true
                } else {
                    fail("tidemark:no-transaction takes no arguments; remove '\(argument)'.")
                }
            case "compensates":
                let example = style == .diesel ? "2019-02-26-002946" : "4"
                if direction == .undo {
                    fail(
                        "tidemark:compensates belongs in a forward script, not an undo script; move it to the forward script of the version that rolls forward."
                    )
                } else if argument.isEmpty {
                    fail(
                        "tidemark:compensates needs the version this migration reverses, e.g. -- tidemark:compensates \(example)."
                    )
                } else if argument.contains(where: \.isWhitespace) || Version(argument, style: style) == nil {
                    fail(
                        "tidemark:compensates '\(argument)' is not a version of this plan; write one version, e.g. -- tidemark:compensates \(example)."
                    )
                } else if let version = Version(argument, style: style) {
                    directives.compensates = (version, location)
                }
            case "data-loss-ok":
                if argument.isEmpty {
                    fail(
                        "tidemark:data-loss-ok needs a reason, e.g. -- tidemark:data-loss-ok the column has been unused since 2023."
                    )
                } else {
                    directives.dataLossAcknowledged = argument
                    directives.acknowledgementLines.insert(lineNumber)
                }
            case "lock-ok":
                if argument.isEmpty {
                    fail(
                        "tidemark:lock-ok needs a reason, e.g. -- tidemark:lock-ok orders is written only by the nightly batch."
                    )
                } else {
                    directives.lockAcknowledged = argument
                    directives.acknowledgementLines.insert(lineNumber)
                }
            default:  // irreversible
                if direction == .forward {
                    fail(
                        "tidemark:irreversible belongs in an undo script (it says the undo cannot restore what the forward script changed); move it to this version's undo script."
                    )
                } else if argument.isEmpty {
                    fail(
                        "tidemark:irreversible needs a reason, e.g. -- tidemark:irreversible ALTER TYPE ... ADD VALUE cannot be undone; restore from a backup."
                    )
                } else {
                    directives.irreversible = argument
                }
            }
        }
        return directives
    }
}

extension Substring {
    /// The text without leading and trailing whitespace.
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
