import Foundation
import TidemarkCore

/// SQL text helpers for the MySQL backend. Pure functions; thread-safe.
enum MySQLSQL {
    /// The longest database name MySQL and MariaDB accept, in characters.
    static let maximumIdentifierLength = 64
    /// The longest name `GET_LOCK` accepts, in characters.
    static let maximumLockNameLength = 64

    /// `` `name` ``, embedded backquotes doubled.
    static func quoteIdentifier(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }

    /// `text` as a string literal that reads the same whatever the session's `sql_mode` (a hex
    /// literal converted to utf8mb4: no quote or backslash escaping to get wrong).
    static func literal(_ text: String) -> String {
        if text.isEmpty { return "''" }
        let hex = text.utf8.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
        return "CONVERT(X'\(hex)' USING utf8mb4)"
    }

    /// A `DATETIME(6)` value in UTC (the session's time zone) from `date`.
    static func timestamp(_ date: Date) -> String {
        "FROM_UNIXTIME(\(String(format: "%.6f", date.timeIntervalSince1970)))"
    }

    /// The lock that serialises creating and upgrading a database's `tidemark_history`:
    /// apart from the migration lock, which runs take after the table exists.
    static func creationLockName(database: String) -> String {
        lockName(database: "#history:" + database)
    }

    /// `tidemark:<database>`; a name that would pass `GET_LOCK`'s 64 characters is hashed
    /// (`tidemark:#` and FNV-1a 64 of the whole name in hex), the same on every machine.
    static func lockName(database: String) -> String {
        let plain = "tidemark:" + database
        if plain.count <= maximumLockNameLength { return plain }
        let hash = String(StableHash.fnv1a64(plain), radix: 16)
        return "tidemark:#" + hash + ":" + String(database.prefix(maximumLockNameLength - 11 - hash.count))
    }
}

/// The server a connection reached: its flavour and version, read once per connection.
/// Thread-safe value.
package struct MySQLServer: Sendable, Hashable, CustomStringConvertible {
    package enum Flavour: String, Sendable, Hashable {
        case mysql = "MySQL"
        case mariadb = "MariaDB"
    }

    package var flavour: Flavour
    /// `10.11.19` or `8.0.36`.
    package var version: String

    /// From `mysql_get_server_info`: `10.11.19-MariaDB-0+deb12u1` is MariaDB (and a 5.5.5-
    /// prefix, which old MariaDB replication sent, is dropped).
    package init(versionText: String) {
        var text = Substring(versionText)
        if text.hasPrefix("5.5.5-") { text = text.dropFirst(6) }
        flavour = text.localizedCaseInsensitiveContains("mariadb") ? .mariadb : .mysql
        version = String(text.prefix { $0.isNumber || $0 == "." })
    }

    /// The version's numbers (`[10, 11, 19]`).
    package var versionNumbers: [Int] { version.split(separator: ".").compactMap { Int($0) } }

    /// Whether `information_schema.CHECK_CONSTRAINTS` exists: MariaDB 10.2 and MySQL 8.0.16 on.
    package var hasCheckConstraints: Bool {
        let minimum = flavour == .mariadb ? [10, 2] : [8, 0, 16]
        return versionNumbers.lexicographicallyPrecedes(minimum) == false
    }

    /// The same, as the planner and `status` know servers.
    package var identity: DatabaseServer {
        DatabaseServer(product: flavour == .mariadb ? .mariadb : .mysql, version: version)
    }

    /// `MariaDB 10.11.19`.
    package var description: String { "\(flavour.rawValue) \(version)" }
}
