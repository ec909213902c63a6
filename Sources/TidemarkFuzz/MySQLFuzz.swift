import TidemarkCore
import TidemarkSQLCheck

/// MySQL text Tidemark reads itself: the `mysql://` URL grammar and the script splitter. A URL
/// that parses prints (without its password) as one that parses back to the same parts; an
/// error's echo of the URL keeps nothing before its last `@` (where the password is); the
/// splitter's statements are non-empty, in order, on lines of the text.
enum MySQLFuzz {
    static func run(_ input: [UInt8]) -> ContractViolation? {
        func fail(_ message: String) -> ContractViolation { ContractViolation(.mysql, message) }
        let text = String(decoding: input, as: UTF8.self)
        // The first line is a URL (with a scheme added when it has none), the rest a script.
        // Split and count lines by byte: a `\r\n` is one Character, which is not "\n", so
        // Character-wise counting saw fewer lines than the splitter (kept: crash-934632e8).
        let newline = text.utf8.firstIndex(of: UInt8(ascii: "\n")) ?? text.utf8.endIndex
        let firstLine = String(text[..<newline])
        let url = MySQLURL.hasMySQLScheme(firstLine) ? firstLine : "mysql://" + firstLine
        do {
            let parsed = try MySQLURL(parsing: url)
            let printed = parsed.description
            if let password = parsed.password, printed.contains(":" + password + "@"), password != "***" {
                return fail("the printed URL shows the password")
            }
            let again = try MySQLURL(parsing: printed.replacingOccurrences(of: ":***@", with: ":x@"))
            guard again.user == parsed.user, again.host == parsed.host, again.port == parsed.port,
                again.database == parsed.database, again.socket == parsed.socket, again.sslMode == parsed.sslMode,
                again.charset == parsed.charset, (again.password == nil) == (parsed.password == nil)
            else {
                return fail("the printed URL \(printed) reads back as other parts")
            }
        } catch {
            let echo = MySQLURLError.echo(url)
            if let at = url.lastIndex(of: "@"),
                !echo.hasSuffix(String(url[at...]))
                    || echo.count > url.count - url.distance(from: url.startIndex, to: at) + 12
            {
                return fail("the error's echo keeps text from before the last '@': \(echo)")
            }
        }

        let script = String(text[newline...])
        let lines = script.utf8.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        guard let statements = try? MySQLScript.statements(in: script) else { return nil }
        var previous = 1
        for statement in statements {
            guard !statement.text.isEmpty, statement.line >= previous, statement.line <= lines else {
                return fail(
                    "statement at line \(statement.line) is empty, before line \(previous) or past the last line \(lines)"
                )
            }
            previous = statement.line
        }
        return nil
    }
}
