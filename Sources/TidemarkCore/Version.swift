/// A migration version: an integer, a dotted integer (`1.2.10`), or a Diesel version string.
///
/// Numeric versions compare segment by segment (`1.2.10` > `1.2.9`); Diesel versions compare
/// as Diesel orders them: the string with `-` removed, compared as text. Two versions are equal
/// when they sort the same (`1.02` equals `1.2`), so a plan cannot hold both. Thread-safe value.
package struct Version: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// How a version sorts.
    package enum OrderKey: Sendable, Hashable, Comparable {
        case numeric([Int])
        case text(String)

        package static func < (lhs: OrderKey, rhs: OrderKey) -> Bool {
            switch (lhs, rhs) {
            case (.numeric(let a), .numeric(let b)):
                for (x, y) in zip(a, b) where x != y { return x < y }
                return a.count < b.count
            case (.text(let a), .text(let b)):
                return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
            case (.numeric, .text): return true
            case (.text, .numeric): return false
            }
        }
    }

    /// The version as written in the file name (`0003`, `1.2.10`, `2019-02-26-002946`).
    package let text: String
    package let key: OrderKey

    /// Parses an integer or dotted-integer version (`3`, `0003`, `1.2.10`); nil if it is neither.
    package init?(numeric text: String) {
        guard !text.isEmpty else { return nil }
        var segments: [Int] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), part.count <= 18,
                let value = Int(part)
            else { return nil }
            segments.append(value)
        }
        self.text = text
        self.key = .numeric(segments)
    }

    /// A Diesel version: ordered as the string with `-` removed, compared as text.
    package init?(diesel text: String) {
        guard !text.isEmpty, !text.contains("_"), !text.contains("/") else { return nil }
        self.text = text
        self.key = .text(text.replacingOccurrences(of: "-", with: ""))
    }

    /// Parses a version the way a plan of `style` names them (used for `compensates 4`, `--to 4`).
    package init?(_ text: String, style: VersionStyle) {
        switch style {
        case .numeric: self.init(numeric: text)
        case .diesel: self.init(diesel: text)
        }
    }

    package var description: String { text }

    package static func == (lhs: Version, rhs: Version) -> Bool { lhs.key == rhs.key }
    package func hash(into hasher: inout Hasher) { hasher.combine(key) }
    package static func < (lhs: Version, rhs: Version) -> Bool { lhs.key < rhs.key }

    package init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if let numeric = Version(numeric: text) {
            self = numeric
        } else if let diesel = Version(diesel: text) {
            self = diesel
        } else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a version"))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// How the versions of one plan are written and ordered.
package enum VersionStyle: String, Sendable, Codable {
    /// Integers or dotted integers, compared by segment (Flyway, golang-migrate).
    case numeric
    /// Diesel's version strings, compared as text with `-` removed.
    case diesel
}
