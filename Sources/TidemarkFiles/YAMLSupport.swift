import TidemarkCore
import Yams

/// A YAML syntax error with libyaml's position. Thread-safe value.
struct YAMLSyntaxProblem: Error, Sendable {
    /// 1-based; 0 when unknown.
    var line: Int
    /// 1-based; 0 when unknown.
    var column: Int
    var message: String
}

/// Parsing YAML into a `Node` tree with positions, and reading nodes. Pure and thread-safe.
enum YAMLSupport {
    /// The document's root node (nil for an empty document), or the syntax error.
    ///
    /// Always UTF-8: Yams's default encoding reads `YAMS_DEFAULT_ENCODING` from the whole
    /// process environment on every parse (a tenth of an inventory's parse time, found by
    /// profiling the fuzz target) and prints a line to standard output when it is set.
    static func compose(_ yaml: String) -> Result<Node?, YAMLSyntaxProblem> {
        do {
            return .success(try Yams.compose(yaml: yaml, .default, .default, .utf8))
        } catch let error as YamlError {
            return .failure(clamped(problem(from: error), in: yaml))
        } catch {
            return .failure(YAMLSyntaxProblem(line: 1, column: 1, message: "cannot parse YAML: \(error)"))
        }
    }

    /// The problem with its position moved inside `text` (see `TextEnd`).
    static func clamped(_ problem: YAMLSyntaxProblem, in text: String) -> YAMLSyntaxProblem {
        var problem = problem
        (problem.line, problem.column) = TextEnd(text).clamp(line: problem.line, column: problem.column)
        return problem
    }

    /// Where a YAML text ends, to keep positions inside it: libyaml puts the end of the stream
    /// on the line after the last one when the text does not end with a line break, and reports
    /// there a document that ends too early (`[` with no `]`) and an empty value at the very end
    /// (`? key` as the last line): no editor can show that line. Lines break as libyaml breaks
    /// them: `\r\n`, `\r`, `\n`, NEL, LS and PS. Pure value; thread-safe.
    struct TextEnd: Sendable {
        /// Lines in the text (a text ending with a line break has an empty last line).
        var lines: Int
        /// Characters (Unicode scalars) on the last line.
        var lastLineLength: Int

        init(_ text: String) {
            var lines = 1
            var lastLineLength = 0
            var previous: Unicode.Scalar?
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\n" where previous == "\r":
                    break
                case "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}":
                    lines += 1
                    lastLineLength = 0
                default:
                    lastLineLength += 1
                }
                previous = scalar
            }
            self.lines = lines
            self.lastLineLength = lastLineLength
        }

        /// `line` and `column` (1-based), or the end of the last line when they lie past it;
        /// an unknown position (0) is the start.
        func clamp(line: Int, column: Int) -> (line: Int, column: Int) {
            if line < 1 { return (1, 1) }
            if line > lines { return (lines, lastLineLength + 1) }
            return (line, column)
        }
    }

    private static func problem(from error: YamlError) -> YAMLSyntaxProblem {
        func syntax(_ context: YamlError.Context?, _ problem: String, _ mark: Mark) -> YAMLSyntaxProblem {
            let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return YAMLSyntaxProblem(
                line: mark.line, column: mark.column,
                message: "YAML syntax error: \(problem)\(during); check the indentation, quoting and brackets here.")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return syntax(context, problem, mark)
        case .reader(let problem, let offset, _, let yaml):
            // libyaml counts the offset in bytes of the UTF-8 text.
            let position = offset.map { JSONTextPosition.position(ofOffset: $0, in: Array(yaml.utf8)) }
            let (line, column) = position.map { ($0.line, $0.column) } ?? (1, 1)
            return YAMLSyntaxProblem(
                line: line, column: column, message: "cannot read the file as YAML text: \(problem); save it as UTF-8.")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return YAMLSyntaxProblem(
                line: context.mark.line, column: context.mark.column,
                message: "key \(keys) appears more than once in this mapping; keep one of them.")
        default:
            return YAMLSyntaxProblem(line: 1, column: 1, message: "cannot parse YAML: \(error)")
        }
    }
}

extension Node {
    /// A null scalar: nothing after the colon, `~` or `null`.
    var isNull: Bool {
        // Only plain scalars: `key: ''` and `key: 'null'` are text.
        null != nil
    }

    /// "a mapping", "a list" or "a text value", for messages.
    var kindDescription: String {
        switch self {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar: return isNull ? "empty" : "a single value"
        case .alias: return "an alias"
        }
    }

    /// The scalar's text, or nil for mappings, lists, aliases and null.
    var text: String? {
        guard case .scalar(let scalar) = self, !isNull else { return nil }
        return scalar.string
    }

    /// 1-based line, 0 when unknown.
    var line: Int { mark?.line ?? 0 }
    /// 1-based column, 0 when unknown.
    var column: Int { mark?.column ?? 0 }
}
