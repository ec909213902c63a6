import Foundation

/// What a target's server is, product and version, read once per connection (`status` shows it,
/// the planner picks MySQL's online-DDL rules by it), or named by `lint --dialect` without a
/// server. Thread-safe value.
package struct DatabaseServer: Sendable, Hashable, Codable, CustomStringConvertible {
    package enum Product: String, Sendable, Hashable, Codable, CaseIterable {
        case postgresql = "PostgreSQL"
        case sqlite = "SQLite"
        case mysql = "MySQL"
        case mariadb = "MariaDB"
    }

    package var product: Product
    /// `10.11.19`, `8.0.36`, `16.4`; empty when unknown.
    package var version: String

    package init(product: Product, version: String) {
        self.product = product
        self.version = version
    }

    /// The version's numbers (`[10, 11, 19]`).
    package var versionNumbers: [Int] { version.split(separator: ".").compactMap { Int($0) } }

    /// Whether the version is `minimum` or later (`[8, 0, 29]`). A version that stops short
    /// (`8.0`, as `lint --dialect mysql-8.0` names a series) is its series as it stands: at least
    /// every `8.0.x`.
    package func isAtLeast(_ minimum: [Int]) -> Bool {
        let numbers = versionNumbers
        for (index, wanted) in minimum.enumerated() {
            guard index < numbers.count else { return true }
            if numbers[index] != wanted { return numbers[index] > wanted }
        }
        return true
    }

    /// MySQL or MariaDB: the servers whose DDL commits implicitly.
    package var isMySQLFamily: Bool { product == .mysql || product == .mariadb }

    /// `MariaDB 10.11.19`.
    package var description: String { version.isEmpty ? product.rawValue : "\(product.rawValue) \(version)" }

    /// The dialects `lint --dialect` accepts, as written there.
    package static let dialectNames = [
        "postgres", "sqlite", "mysql", "mysql-8.0", "mysql-5.7", "mariadb", "mariadb-10.11",
    ]

    /// A dialect as `lint --dialect` names it: `postgres` (or `postgresql`), `sqlite`, `mysql`
    /// (MySQL 8.0), `mysql-<version>`, `mariadb` (MariaDB 10.11), `mariadb-<version>`; nil for
    /// anything else.
    package init?(dialect: String) {
        let lowered = dialect.lowercased()
        let parts = lowered.split(separator: "-", maxSplits: 1).map(String.init)
        guard let name = parts.first else { return nil }
        let version = parts.count == 2 ? parts[1] : nil
        if let version, version.isEmpty || !version.allSatisfy({ $0.isNumber || $0 == "." }) || version.first == "." {
            return nil
        }
        switch name {
        case "postgres", "postgresql": self.init(product: .postgresql, version: version ?? "")
        case "sqlite": self.init(product: .sqlite, version: version ?? "")
        case "mysql": self.init(product: .mysql, version: version ?? "8.0")
        case "mariadb": self.init(product: .mariadb, version: version ?? "10.11")
        default: return nil
        }
    }
}
