/// Where a target's database is, read from its `url` or `service`: which backend serves it and
/// what that backend needs. The one place that knows the accepted forms, so the inventory
/// parser, the registry and the backends agree. Thread-safe value.
///
/// Forms: a libpq URI (`postgres://…`, `postgresql://…`) or conninfo string (`host=… dbname=…`);
/// a libpq service; `sqlite:PATH`, `sqlite://PATH` (the same) or `sqlite:///abs/path`;
/// `mysql://…` or `mariadb://…` (MySQL and MariaDB servers: `MySQLURL`'s grammar);
/// `SCHEME:NAME` for a backend the embedding program registers (the test support's in-memory
/// backend is `memory:NAME`; the `tidemark` executable has none, and its registry says so).
package enum ConnectionLocation: Sendable, Hashable {
    /// A libpq URI or conninfo string, as written (libpq parses it).
    case postgres(String)
    /// A libpq service name (pg_service.conf).
    case service(String)
    /// A SQLite database, as written after `sqlite:` and an optional `//`. Relative paths are
    /// made absolute against the inventory's folder when it is loaded.
    case sqlite(path: String)
    /// A MySQL or MariaDB server, the URL as written (`MySQLURL` parses it).
    case mysql(String)
    /// A database of a backend that is not one of Tidemark's own, as `SCHEME:NAME` writes it
    /// (`name` is what follows the scheme and an optional `//`).
    case other(scheme: String, name: String)

    /// Reads `connection`: `sqlite:`, MySQL's schemes, another `SCHEME:`; everything else
    /// (a libpq URI or conninfo string) is PostgreSQL's.
    package init(_ connection: Connection) {
        switch connection {
        case .service(let name):
            self = .service(name)
        case .url(let url):
            if let path = Self.remainder(of: url, scheme: "sqlite:") {
                self = .sqlite(path: path)
            } else if MySQLURL.hasMySQLScheme(url) {
                self = .mysql(url)
            } else if let scheme = Self.otherScheme(in: url), let name = Self.remainder(of: url, scheme: scheme + ":") {
                self = .other(scheme: scheme, name: name)
            } else {
                self = .postgres(url)
            }
        }
    }

    /// The location written back as a target's connection (`sqlite:PATH` for SQLite).
    package var connection: Connection {
        switch self {
        case .postgres(let url): return .url(url)
        case .service(let name): return .service(name)
        case .sqlite(let path): return .url("sqlite:" + path)
        case .other(let scheme, let name): return .url(scheme + ":" + name)
        case .mysql(let url): return .url(url)
        }
    }

    /// The location as an inventory's `url:` writes it; nil for a service.
    package var url: String? {
        guard case .url(let url) = connection else { return nil }
        return url
    }

    package var backendKind: BackendKind {
        switch self {
        case .postgres, .service: return .postgres
        case .sqlite: return .sqlite
        case .other(let scheme, _): return BackendKind(rawValue: scheme)
        case .mysql: return .mysql
        }
    }

    /// Why this location names no database (one sentence with the fix), or nil when it does.
    package var problem: String? {
        switch self {
        case .sqlite(let path) where path.isEmpty || path == ":memory:":
            return
                "`sqlite:\(path)` names no database file; use `sqlite:PATH` with a file path (an in-memory database would not keep its history)."
        case .other(let scheme, let name) where name.isEmpty:
            return "`\(scheme):` names no database; use `\(scheme):NAME`."
        case .mysql(let url):
            do {
                _ = try MySQLURL(parsing: url)
                return nil
            } catch {
                return
                    "`\(MySQLURLError.echo(url))` is not a valid MySQL URL: \(error.description) (see docs/mysql.md)."
            }
        default:
            return nil
        }
    }

    /// The SQLite file this location names, or nil (another backend, or no file: see `problem`).
    package var sqliteFilePath: String? {
        guard case .sqlite(let path) = self, problem == nil else { return nil }
        return path
    }

    /// The SQLite file path when it is relative and must be resolved against a folder; nil for
    /// absolute paths, other locations, and `file:` URIs (SQLite resolves those itself).
    package var relativeSQLitePath: String? {
        guard let path = sqliteFilePath, !path.hasPrefix("/"), !path.hasPrefix("file:") else { return nil }
        return path
    }

    /// The URL schemes Tidemark reads (`scheme://`); every other `word://` is refused, because
    /// libpq would take `postgress://host/db` as a conninfo string and the whole URL as a
    /// database name on the local socket.
    package static let knownSchemes = ["postgres", "postgresql", "sqlite"]

    /// The scheme of `url` when it starts `scheme://` and Tidemark does not know it; nil
    /// otherwise (a known scheme, `sqlite:PATH`, a conninfo string such as `host=db dbname=app`).
    package static func unknownScheme(in url: String) -> String? {
        guard let range = url.range(of: "://") else { return nil }
        let scheme = url[..<range.lowerBound]
        guard let first = scheme.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic,
            scheme.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0))
            })
        else { return nil }
        // MySQLURL reads its schemes in any case (`MySQL://`), as ConnectionLocation does.
        if MySQLURL.hasMySQLScheme(url) { return nil }
        return knownSchemes.contains(String(scheme)) ? nil : String(scheme)
    }

    /// The scheme of a URL that names neither PostgreSQL, SQLite nor MySQL: letters, digits, `+`,
    /// `-`, `.` before the first `:`, starting with a letter. A conninfo string (`host=db
    /// dbname=app`) has an `=` or a space first, so it is never one.
    private static func otherScheme(in url: String) -> String? {
        // RFC 3986's scheme: an ASCII letter, then letters, digits, `+`, `-` and `.` (bytes: this
        // is asked for every target of a fleet, many times).
        let bytes = url.utf8
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let scheme = bytes[..<colon]
        func isLetter(_ byte: UInt8) -> Bool {
            (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
        }
        guard let first = scheme.first, isLetter(first),
            scheme.allSatisfy({
                isLetter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "+")
                    || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
            })
        else { return nil }
        let name = String(decoding: scheme, as: UTF8.self)
        // libpq reads only these two, lowercase: `Postgres://` is another scheme (a typo).
        return name == "postgres" || name == "postgresql" ? nil : name
    }

    /// What follows `scheme` and an optional `//` in `url`, or nil when `url` has another scheme.
    private static func remainder(of url: String, scheme: String) -> String? {
        guard url.hasPrefix(scheme) else { return nil }
        let rest = url.dropFirst(scheme.count)
        return String(rest.hasPrefix("//") ? rest.dropFirst(2) : rest)
    }
}

extension Target {
    /// Where this target's database is.
    package var location: ConnectionLocation { ConnectionLocation(connection) }
}
