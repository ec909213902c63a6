/// A `mysql://` or `mariadb://` URL, parsed once by one grammar (Connector/C has no URL parser,
/// so Tidemark reads these itself; docs/mysql.md documents the grammar). Thread-safe value.
///
///     mysql-url  = scheme "://" [ userinfo "@" ] [ host [ ":" port ] ] [ "/" [ database ] ] [ "?" params ]
///     scheme     = "mysql" / "mariadb"                       ; the same backend either way
///     userinfo   = user [ ":" password ]                     ; percent-encoded
///     host       = name / "[" IPv6 address "]"               ; empty: the client's default (a local socket)
///     port       = 1-65535                                   ; absent: the client's default (3306)
///     database   = percent-encoded, no "/"                   ; absent: the target's schema, else none
///     params     = param *( "&" param )
///     param      = "socket=" path / "ssl-mode=" mode / "charset=" name
///     mode       = DISABLED / PREFERRED / REQUIRED / VERIFY_CA / VERIFY_IDENTITY   ; any case; default PREFERRED
///
/// Every part is percent-decoded once. A parameter not listed, a repeated one or a bad value is
/// an error. What the URL says wins over option files; what it leaves out comes from them.
package struct MySQLURL: Sendable, Hashable {
    /// TLS as the URL's `ssl-mode` asks, named as MySQL's own client names them.
    package enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// No TLS.
        case disabled = "DISABLED"
        /// TLS when the server offers it, else plain (the default).
        case preferred = "PREFERRED"
        /// TLS or no connection; the certificate is not checked.
        case required = "REQUIRED"
        /// TLS with the server's certificate checked against the trusted CAs.
        case verifyCA = "VERIFY_CA"
        /// As `VERIFY_CA`, and the certificate must name the host.
        case verifyIdentity = "VERIFY_IDENTITY"
    }

    /// `mysql` or `mariadb`, as written (lower case).
    package var scheme: String
    package var user: String?
    /// Never printed: `description` and every error leave it out.
    package var password: String?
    /// The host without brackets (`::1` for `[::1]`); nil: the client's default.
    package var host: String?
    package var port: Int?
    package var database: String?
    /// `socket=`: a Unix socket path, used instead of TCP.
    package var socket: String?
    /// `ssl-mode=`, or nil when the URL does not say (`effectiveSSLMode` is then `PREFERRED`).
    package var sslMode: SSLMode?
    /// `charset=`: the connection's character set (e.g. `utf8mb4`).
    package var charset: String?

    /// The TLS mode that applies: the URL's, else `PREFERRED`.
    package var effectiveSSLMode: SSLMode { sslMode ?? .preferred }

    package static let schemes = ["mysql", "mariadb"]

    /// Whether `text` starts with a MySQL scheme (`mysql:` or `mariadb:`, any case).
    package static func hasMySQLScheme(_ text: String) -> Bool {
        // Bytes, ASCII case folded: asked for every target a fleet reads, so no lowercased copy.
        let bytes = text.utf8
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let scheme = bytes[..<colon]
        return schemes.contains { name in
            name.utf8.count == scheme.count
                && zip(name.utf8, scheme).allSatisfy { expected, byte in
                    expected == (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte)
                }
        }
    }

    /// Parses `text`; the error says what is wrong and how to write it, never the password.
    package init(parsing text: String) throws(MySQLURLError) {
        guard let schemeEnd = text.range(of: "://") else {
            throw .malformed("it must start with mysql:// or mariadb://, e.g. mysql://app@db.example.com:3306/app")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard Self.schemes.contains(scheme) else {
            throw .malformed("its scheme must be mysql or mariadb, e.g. mysql://app@db.example.com:3306/app")
        }
        self.scheme = scheme
        var rest = text[schemeEnd.upperBound...]
        if rest.contains(where: { $0.isWhitespace }) {
            throw .malformed("it contains whitespace; percent-encode it (%20)")
        }
        // Connector/C takes C strings: a raw control character (NUL above all) would cut a part short.
        if rest.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .malformed("it contains a control character; percent-encode it")
        }

        // The query first, then the path, then the authority: a password may hold '/', '?' or
        // '@' only percent-encoded, so the authority ends at the first '/' or '?'.
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var authority = rest
        // An '@' after the authority means the user or password holds a '/' or '?' unencoded:
        // said without quoting any of it, since the text around it is the password.
        if !authority.contains("@"), (path ?? "").contains("@") || (query ?? "").contains("@") {
            throw .malformed(
                "its user or password holds a '/' or '?' that is not percent-encoded; write them as %2F and %3F")
        }
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                user = try Self.decode(userinfo[..<colon], part: "user")
                password = try Self.decode(userinfo[userinfo.index(after: colon)...], part: "password")
            } else {
                user = try Self.decode(userinfo, part: "user")
            }
            if user?.isEmpty == true { user = nil }
        }
        try parseHostAndPort(authority)
        if let path {
            guard !path.contains("/") else {
                throw .malformed(
                    "its path names more than a database; write one database after the host, e.g. mysql://host/app")
            }
            let name = try Self.decode(path, part: "database")
            database = name.isEmpty ? nil : name
        }
        if let query { try parseParameters(query) }
    }

    private mutating func parseHostAndPort(_ authority: Substring) throws(MySQLURLError) {
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw .malformed("its IPv6 host has no closing ']', e.g. mysql://app@[::1]:3306/app")
            }
            // RFC 6874: a zone follows as %25zone (`[fe80::1%25eth0]`), decoded like every part.
            let address = try Self.decode(authority[authority.index(after: authority.startIndex)..<close], part: "host")
            let zoneStart = address.firstIndex(of: "%") ?? address.endIndex
            let numeric = address[..<zoneStart]
            let zone = address[zoneStart...].dropFirst()
            guard numeric.contains(":"), numeric.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }),
                zone.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") })
            else {
                throw .malformed("its IPv6 host [\(address)] is not an IPv6 address")
            }
            host = address
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .malformed("after its IPv6 host ']' only ':PORT' may follow") }
                portText = after.dropFirst()
            }
        } else {
            var hostText = authority
            if let colon = authority.lastIndex(of: ":") {
                hostText = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            }
            if hostText.contains(":") {
                throw .malformed("an IPv6 host must be written in brackets, e.g. mysql://app@[::1]:3306/app")
            }
            let decoded = try Self.decode(hostText, part: "host")
            host = decoded.isEmpty ? nil : decoded
        }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port), portText.allSatisfy(\.isASCII) else {
                throw .malformed("its port '\(portText)' is not a number from 1 to 65535")
            }
            self.port = port
        }
    }

    private mutating func parseParameters(_ query: Substring) throws(MySQLURLError) {
        var seen: Set<String> = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else {
                throw .malformed("its parameter '\(pair)' has no value; write NAME=VALUE (socket, ssl-mode or charset)")
            }
            let name = try Self.decode(pair[..<equals], part: "parameter name").lowercased()
            let value = try Self.decode(pair[pair.index(after: equals)...], part: "parameter \(name)")
            guard seen.insert(name).inserted else { throw .malformed("it sets the parameter \(name) twice; keep one") }
            switch name {
            case "socket":
                guard !value.isEmpty else {
                    throw .malformed("its socket= is empty; name a socket path, e.g. socket=/run/mysqld/mysqld.sock")
                }
                socket = value
            case "ssl-mode":
                guard let mode = SSLMode(rawValue: value.uppercased()) else {
                    throw .malformed(
                        "its ssl-mode '\(value)' is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                sslMode = mode
            case "charset":
                guard !value.isEmpty, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
                else {
                    throw .malformed("its charset '\(value)' is not a character set name, e.g. charset=utf8mb4")
                }
                charset = value
            default:
                throw .malformed(
                    "its parameter '\(name)' is unknown; the parameters are socket, ssl-mode and charset (set others in an option file)"
                )
            }
        }
    }

    /// Percent-decodes `text` (UTF-8); a '%' without two hex digits, or bytes that are not
    /// UTF-8, are an error naming the part (the password's text is never quoted).
    private static func decode(_ text: Substring, part: String) throws(MySQLURLError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .malformed("its \(part) has a '%' not followed by two hex digits; write a literal '%' as %25")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .malformed("its \(part) is not UTF-8 once percent-decoded")
        }
        guard !decoded.utf8.contains(0) else { throw .malformed("its \(part) contains a NUL character (%00)") }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension MySQLURL: CustomStringConvertible {
    /// The URL rebuilt without its password (`mysql://app:***@db:3306/app?ssl-mode=REQUIRED`).
    package var description: String {
        var text = scheme + "://"
        if user != nil || password != nil {
            text += (user.map(Self.encode) ?? "") + (password == nil ? "" : ":***") + "@"
        }
        if let host {
            text += host.contains(":") ? "[" + host.replacingOccurrences(of: "%", with: "%25") + "]" : Self.encode(host)
        }
        if let port { text += ":\(port)" }
        text += "/" + (database.map(Self.encode) ?? "")
        var parameters: [String] = []
        if let socket { parameters.append("socket=" + Self.encode(socket)) }
        if let sslMode { parameters.append("ssl-mode=" + sslMode.rawValue) }
        if let charset { parameters.append("charset=" + charset) }
        if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
        return text
    }

    private static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80,
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-._~".unicodeScalars.contains(scalar)
            {
                result.unicodeScalars.append(scalar)
            } else {
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// Why a MySQL URL could not be read: one clause saying what is wrong and how to write it.
/// The password is never part of it. Thread-safe value.
package enum MySQLURLError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed(String)

    package var description: String {
        switch self {
        case .malformed(let reason): reason
        }
    }

    /// The whole sentence for a target: `target 'eu-1': url mysql://…@db/app is not a valid
    /// MySQL URL: <reason> (see docs/mysql.md).`
    package func sentence(target: String, url: String) -> String {
        "target '\(target)': url \(Self.echo(url)) is not a valid MySQL URL: \(description) (see docs/mysql.md)."
    }

    /// `url` safe to print whatever is wrong with it: everything up to its last '@' is replaced,
    /// since a malformed URL's password cannot be told apart from its other parts.
    package static func echo(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@") else { return url }
        // Only a plain scheme is kept: a "://" further on may sit after the password.
        let letters = url.prefix { $0.isASCII && $0.isLetter }
        let scheme = url.dropFirst(letters.count).hasPrefix("://") && !letters.isEmpty ? letters + "://" : ""
        return scheme + "…" + url[at...]
    }
}
