import Foundation
import TidemarkCore

/// The keyword/value pairs handed to `PQconnectdbParams` for one target, and the secrets that
/// must be scrubbed from any text about it. Pure; thread-safe value.
///
/// libpq does the real work: its own parser (`PQconninfoParse`) reads the URI or conninfo string
/// once, and service files, `.pgpass`, `PG*` environment variables and `sslmode` all behave as
/// in psql.
struct ConnectParameters: Sendable, Hashable {
    /// In order: libpq keeps the last value of a repeated keyword, so what comes after the
    /// connection string's keywords overrides them and what comes before may be overridden.
    var pairs: [Pair]
    /// Passwords (from `password_env` and from the URL itself) to replace with `***` in any text.
    var secrets: [String]
    /// `password_env` names a variable that is not set: said in the error if authentication fails.
    var missingPasswordEnv: String?

    struct Pair: Sendable, Hashable {
        var keyword: String
        var value: String
    }

    init(target: Target, timeouts: Timeouts, environment: [String: String]) {
        var pairs: [Pair] = []
        // Before the connection string's own keywords: a URL that names its own
        // application_name keeps it.
        pairs.append(Pair(keyword: "application_name", value: "tidemark"))
        var secrets: [String] = []
        var problem: String?
        switch target.connection {
        case .url(let url):
            // Parsed once, by libpq's parser; the keywords then go to PQconnectdbParams as they
            // are (expand_dbname = 0), and to pg_dump/pg_restore without the password.
            let parsed = ConnInfo.parse(url)
            secrets += ConnectParameters.passwords(in: url, parsed: parsed)
            switch parsed {
            case .success(let info): pairs += info.options
            case .failure(let failure): problem = failure.message
            }
        case .service(let name):
            pairs.append(Pair(keyword: "service", value: name))
        }
        // After the connection string: the inventory's timeout governs even if the URL sets one;
        // libpq treats values below 2 s as 2 s, so say so rather than pretend.
        pairs.append(Pair(keyword: "connect_timeout", value: String(ConnectParameters.connectTimeoutSeconds(timeouts))))
        // Swift strings are UTF-8; error positions and identifiers must be counted in the same encoding.
        pairs.append(Pair(keyword: "client_encoding", value: "UTF8"))
        var missing: String?
        if let variable = target.passwordEnv {
            if let password = environment[variable], !password.isEmpty {
                pairs.append(Pair(keyword: "password", value: password))
                secrets.append(password)
            } else {
                missing = variable
            }
        }
        self.pairs = pairs
        var unique: [String] = []
        for secret in secrets where !secret.isEmpty && !unique.contains(secret) { unique.append(secret) }
        self.secrets = unique
        self.missingPasswordEnv = missing
        self.problem = problem
    }

    /// Why the connection string cannot be used (it did not parse, or libpq would read part of
    /// its password as something else), in words holding no part of the password; nil when it can.
    var problem: String?

    /// The password libpq would send: the last `password` keyword (password_env's, or the
    /// connection string's).
    var password: String? { pairs.last { $0.keyword == "password" }?.value }

    /// Whole seconds, rounded up, at least 2 (libpq's minimum).
    static func connectTimeoutSeconds(_ timeouts: Timeouts) -> Int64 {
        let (seconds, attoseconds) = timeouts.connectTimeout.components
        return max(2, seconds + (attoseconds > 0 ? 1 : 0))
    }

    /// `text` with every secret replaced by `***`, and connection-string passwords removed.
    func redact(_ text: String) -> String {
        var result = Redaction.redactConnectionString(text)
        // Longest first, so a password containing another secret is removed whole.
        for secret in secrets.sorted(by: { $0.count > $1.count }) {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        return result
    }

    /// Passwords written into a URI (`postgres://user:secret@host`, `?password=secret`) or a
    /// conninfo string (`password=secret`, `password = 'se cret'`), raw and percent-decoded, as
    /// libpq reads them and as a person wrote them (a raw `@` or `/` makes the two differ).
    static func passwords(in connection: String) -> [String] {
        passwords(in: connection, parsed: ConnInfo.parse(connection))
    }

    /// The same, given what libpq's parser made of `connection`.
    static func passwords(in connection: String, parsed: Result<ConnInfo, ConnInfo.Problem>) -> [String] {
        var found: [String] = []
        if case .success(let info) = parsed, let password = info.password { found.append(password) }
        if let written = ConnInfo.uriPassword(in: connection) { found.append(written) }
        if let scheme = connection.range(of: "://"),
            let written = Redaction.uriPassword(in: connection[scheme.upperBound...])
        {
            found.append(written)
        }
        var rest = Substring(connection)
        while let keyword = rest.range(of: "password", options: .caseInsensitive) {
            let inQuery =
                keyword.lowerBound > rest.startIndex && "?&".contains(rest[rest.index(before: keyword.lowerBound)])
            var index = keyword.upperBound
            while index < rest.endIndex, rest[index] == " " { index = rest.index(after: index) }
            guard index < rest.endIndex, rest[index] == "=" else {
                rest = rest[keyword.upperBound...]
                continue
            }
            index = rest.index(after: index)
            while index < rest.endIndex, rest[index] == " " { index = rest.index(after: index) }
            var value = ""
            if inQuery {
                // A URI query value: up to the next parameter.
                while index < rest.endIndex, rest[index] != "&" {
                    value.append(rest[index])
                    index = rest.index(after: index)
                }
            } else {
                // conninfo: single quotes or up to whitespace, backslash escaping the next character.
                let quoted = index < rest.endIndex && rest[index] == "'"
                if quoted { index = rest.index(after: index) }
                while index < rest.endIndex, quoted ? rest[index] != "'" : !rest[index].isWhitespace {
                    if rest[index] == "\\", rest.index(after: index) < rest.endIndex {
                        index = rest.index(after: index)
                    }
                    value.append(rest[index])
                    index = rest.index(after: index)
                }
            }
            found.append(value)
            rest = rest[index...]
        }
        let decoded = found.compactMap { $0.removingPercentEncoding }
        var unique: [String] = []
        for secret in found + decoded where !secret.isEmpty && !unique.contains(secret) { unique.append(secret) }
        return unique
    }
}

/// Sorts connection failures into transient (retry with backoff) and permanent (fix the
/// inventory or the server). Pure; thread-safe.
///
/// libpq reports no SQLSTATE for a failed connection, only text; the server's startup errors are
/// matched on their English wording (the server's default `lc_messages`) and libpq's own
/// socket errors on theirs.
enum ConnectionFailure {
    /// Wrong credentials, database, role, option or TLS setup: retrying cannot help, and repeated
    /// failed logins may lock an account.
    private static let permanentMarkers = [
        "password authentication failed", // 28P01
        "authentication failed", // 28000 (peer, ident, cert, ...)
        "no pg_hba.conf entry", // 28000
        "pg_hba.conf rejects", // 28000
        "no password supplied",
        "does not exist", // 3D000 database, 28000 role
        "permission denied", // 42501
        "not currently accepting connections", // 55000 datallowconn = false
        "invalid connection option",
        "invalid uri",
        "cannot parse the connection string",
        "the url's password is not read as written",
        "invalid integer value",
        "invalid port number",
        "invalid sslmode",
        "missing \"=\" after",
        "unterminated quoted string",
        "definition of service",
        "service file",
        "server does not support ssl",
        "certificate",
        "unsupported frontend protocol",
        "requires a valid client certificate",
    ]

    /// The server is not (yet) there or is overloaded: a later attempt may succeed.
    private static let transientMarkers = [
        "connection refused",
        "timeout expired",
        "timed out",
        "the database system is starting up", // 57P03
        "the database system is shutting down", // 57P03
        "the database system is in recovery mode", // 57P03
        "the database system is not yet accepting connections", // 57P03
        "the database system is not accepting connections", // 57P03
        "too many clients", // 53300
        "too many connections", // 53300 (per role / database)
        "remaining connection slots are reserved", // 53300
        "server closed the connection unexpectedly", // 08006
        "could not receive data from server", // 08006
        "could not send data to server", // 08006
        "connection reset",
        "broken pipe",
        "network is unreachable",
        "no route to host",
        "host is down",
        "temporary failure in name resolution",
        "ssl syscall error",
        "no such file or directory", // Unix socket missing: the server is not running
    ]

    /// Whether `message` (libpq's error text) describes a failure worth retrying.
    static func isTransient(_ message: String) -> Bool {
        let text = message.lowercased()
        if text.contains("temporary failure in name resolution") { return true }
        if permanentMarkers.contains(where: { text.contains($0) }) { return false }
        return transientMarkers.contains { text.contains($0) }
    }
}
