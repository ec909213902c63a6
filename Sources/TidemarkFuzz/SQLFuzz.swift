import TidemarkCore
import TidemarkSQLCheck

/// The SQL lexer, scanner and data-loss classifier: tokens tile the text in order, statements
/// and findings sit on lines of the text, keyword lists respect their limit.
enum SQLFuzz {
    static func run(_ input: [UInt8]) -> ContractViolation? {
        func fail(_ message: String) -> ContractViolation { ContractViolation(.sql, message) }
        let sql = String(decoding: input, as: UTF8.self)
        let bytes = Array(sql.utf8)
        let lines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }

        var position = 0
        var line = 1
        for token in SQLLexer.tokens(in: sql) {
            guard token.start >= position, token.start < token.end, token.end <= bytes.count else {
                return fail(
                    "token \(token.start)..<\(token.end) overlaps the previous one (ends \(position)) or the end (\(bytes.count))"
                )
            }
            line += bytes[position..<token.start].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            guard token.line == line else {
                return fail("token at byte \(token.start) says line \(token.line), it is on line \(line)")
            }
            line += bytes[token.start..<token.end].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            guard token.text == String(decoding: bytes[token.start..<token.end], as: UTF8.self) else {
                return fail("token text differs from the bytes \(token.start)..<\(token.end)")
            }
            position = token.end
        }

        let limit = Int(input.first ?? 6) % 20
        var statementLine = 1
        var lastEnd = 0
        for statement in SQLScanner.statements(in: sql, keywordLimit: limit) {
            guard (statementLine...lines).contains(statement.line) else {
                return fail(
                    "statement at line \(statement.line): before the previous one (\(statementLine)) or past the last line (\(lines))"
                )
            }
            statementLine = statement.line
            guard statement.keywords.count <= limit else {
                return fail("\(statement.keywords.count) keywords, more than the limit \(limit)")
            }
            guard let first = statement.tokens.first, first.start >= lastEnd else {
                return fail("statement at line \(statement.line) has no tokens or overlaps the previous one")
            }
            lastEnd = statement.tokens.last?.end ?? lastEnd
            guard statement.tokens.allSatisfy({ $0.depth >= 0 }) else { return fail("negative parenthesis depth") }
            guard !statement.text.isEmpty else { return fail("empty statement text at line \(statement.line)") }
        }

        var findingLine = 1
        for finding in DataLossClassifier.findings(in: sql) {
            guard (findingLine...lines).contains(finding.line), !finding.kind.isEmpty else {
                return fail("finding \(finding) out of order or past the last line (\(lines))")
            }
            findingLine = finding.line
        }
        return nil
    }
}
