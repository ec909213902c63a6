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
    /// `-- tidemark:batch table=T key=K size=N …`, with where it was written (the script's
    /// statement is checked against it by `PlanDirectory`).
    var batch: (spec: BatchSpec, location: SourceLocation)?

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

            let known = ["no-transaction", "compensates", "data-loss-ok", "lock-ok", "irreversible", "batch"]
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
            case "batch":
                switch BatchDirective.parse(argument) {
                case .success(let spec): directives.batch = (spec, location)
                case .failure(let problem): fail(problem.message)
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
            default: // irreversible
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

/// The arguments of `-- tidemark:batch` (docs/backfills.md#the-directive). Pure.
enum BatchDirective {
    struct Problem: Error {
        var message: String
    }

    static let example = "-- tidemark:batch table=orders key=id size=5000 pause=50ms"

    /// `table=T key=K size=N [pause=D] [max_rows_per_second=R] [max_lag=D]`, in any order.
    static func parse(_ argument: String) -> Result<BatchSpec, Problem> {
        var values: [String: String] = [:]
        for word in argument.split(whereSeparator: \.isWhitespace) {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                return .failure(
                    Problem(message: "tidemark:batch takes name=value options, not '\(word)'; write e.g. \(example)."))
            }
            let name = String(word[..<equals])
            let value = String(word[word.index(after: equals)...])
            let options = ["table", "key", "size", "pause", "max_rows_per_second", "max_lag"]
            guard options.contains(name) else {
                return .failure(
                    Problem(
                        message:
                            "tidemark:batch has no option '\(name)'; the options are \(options.joined(separator: ", "))."
                    )
                )
            }
            guard values[name] == nil else {
                return .failure(Problem(message: "tidemark:batch gives \(name) twice; keep one."))
            }
            guard !value.isEmpty else {
                return .failure(Problem(message: "tidemark:batch \(name)= needs a value; write e.g. \(example)."))
            }
            values[name] = value
        }
        for required in ["table", "key", "size"] where values[required] == nil {
            return .failure(Problem(message: "tidemark:batch needs \(required)=; write e.g. \(example)."))
        }
        guard let table = values["table"], let key = values["key"], let sizeText = values["size"] else {
            return .failure(Problem(message: "tidemark:batch needs table=, key= and size=; write e.g. \(example)."))
        }
        guard isName(table, parts: 2) else {
            return .failure(
                Problem(
                    message:
                        "tidemark:batch table='\(table)' is not a table name; write table=orders or table=app.orders."))
        }
        guard isName(key, parts: 1) else {
            return .failure(
                Problem(
                    message:
                        "tidemark:batch key='\(key)' is not a column name; name the table's unique integer key, e.g. key=id."
                ))
        }
        guard let size = Int(sizeText), size >= 1, size <= 10_000_000 else {
            return .failure(
                Problem(
                    message:
                        "tidemark:batch size=\(sizeText) must be a whole number of rows from 1 to 10000000; write e.g. size=5000."
                ))
        }
        var spec = BatchSpec(table: table, key: key, size: size)
        for (name, target) in [("pause", \BatchSpec.pause), ("max_lag", \BatchSpec.maxLag)] {
            guard let text = values[name] else { continue }
            guard let duration = DurationText.parse(text), duration > .zero else {
                return .failure(
                    Problem(
                        message:
                            "tidemark:batch \(name)=\(text) is not a duration; write e.g. \(DurationText.examples)."))
            }
            spec[keyPath: target] = duration
        }
        if let text = values["max_rows_per_second"] {
            guard let rate = Int(text), rate >= 1 else {
                return .failure(
                    Problem(
                        message:
                            "tidemark:batch max_rows_per_second=\(text) must be a whole number above 0; write e.g. max_rows_per_second=20000."
                    ))
            }
            spec.maxRowsPerSecond = rate
        }
        return .success(spec)
    }

    /// A bare SQL name, or up to `parts` of them joined by dots.
    private static func isName(_ text: String, parts: Int) -> Bool {
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...parts).contains(pieces.count) else { return false }
        return pieces.allSatisfy { piece in
            guard let first = piece.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else {
                return false
            }
            return piece.unicodeScalars.allSatisfy {
                $0 == "_" || $0 == "$" || $0.properties.isAlphabetic || ("0"..."9").contains($0)
            }
        }
    }
}
