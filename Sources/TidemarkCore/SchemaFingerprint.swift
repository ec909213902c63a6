import Foundation

/// A schema's structure as its catalog tells it, normalised into sorted readable lines and
/// hashed, so two targets (or one target before and after an undo) compare by value and a
/// difference can be named. Thread-safe value.
///
/// Lines look like `column users.email: text not null default ''` or
/// `index users.users_email_key: CREATE UNIQUE INDEX users_email_key ON users USING btree (email)`.
/// Everything is order-independent except one line per table, `column-order users: id, name,
/// email`, which records the physical column order: two schemas that differ only there compare
/// as `columnOrder`, not equal and not different (docs/recovery.md#schema-fingerprints: re-adding a
/// dropped column puts it last). The history table never appears; names of the target's own schema
/// are left out, so the same structure in two PostgreSQL schemas has one fingerprint.
package struct SchemaFingerprint: Sendable, Hashable, Codable {
    /// Sorted, unique lines.
    package var lines: [String]
    /// SHA-256 hex of every line, column order included.
    package var hash: String
    /// SHA-256 hex of the lines without column order: equal for schemas that differ only there.
    package var structureHash: String

    /// The prefix of the one line per table that records its physical column order.
    package static let columnOrderPrefix = "column-order "

    package init(lines: [String]) {
        let sorted = Array(Set(lines)).sorted()
        self.lines = sorted
        self.hash = SHA256Hex.digest(sorted.joined(separator: "\n"))
        self.structureHash = SHA256Hex.digest(
            sorted.filter { !$0.hasPrefix(Self.columnOrderPrefix) }.joined(separator: "\n"))
    }

    /// Compares this (the schema found) with `expected`.
    package func compare(to expected: SchemaFingerprint) -> SchemaComparison {
        if hash == expected.hash && lines == expected.lines { return .equal }
        let structural = SchemaDiff(
            expected: expected.lines.filter(Self.isStructural), found: lines.filter(Self.isStructural))
        if !structural.isEmpty { return .different(structural) }
        return .columnOrder(SchemaDiff(expected: expected.lines, found: lines))
    }

    private static func isStructural(_ line: String) -> Bool { !line.hasPrefix(columnOrderPrefix) }

    /// This fingerprint without `table` and what hangs off it (its columns, column order,
    /// indexes, constraints, triggers): how a schema looks to Tidemark when another tool's
    /// history table sits in it (`tidemark adopt`).
    package func excludingTable(_ table: String) -> SchemaFingerprint {
        SchemaFingerprint(
            lines: lines.filter { line in
                let body =
                    line.hasPrefix(Self.columnOrderPrefix)
                    ? Substring(line.dropFirst(Self.columnOrderPrefix.count)) : line.drop { $0 != " " }.dropFirst()
                let name = body.prefix { $0 != ":" }
                return !(name == table || name.hasPrefix(table + "."))
            })
    }

    /// Each table's columns in physical order, read back from the `column-order` lines.
    package var columnsByTable: [String: [String]] {
        var tables: [String: [String]] = [:]
        for line in lines where line.hasPrefix(Self.columnOrderPrefix) {
            let rest = line.dropFirst(Self.columnOrderPrefix.count)
            guard let colon = rest.range(of: ":") else { continue }
            let columns = rest[colon.upperBound...].trimmingCharacters(in: .whitespaces)
            tables[String(rest[..<colon.lowerBound])] = columns.isEmpty ? [] : columns.components(separatedBy: ", ")
        }
        return tables
    }
}

/// Builds a fingerprint's lines the same way in every backend. Not thread-safe (a local value).
package struct SchemaFingerprintBuilder: Sendable {
    package private(set) var lines: [String] = []

    package init() {}

    /// A table, its columns (name and definition, in physical order) and its column order line.
    package mutating func table(_ name: String, columns: [(name: String, definition: String)]) {
        lines.append("table \(name)")
        for column in columns {
            lines.append("column \(name).\(column.name): \(Self.collapse(column.definition))")
        }
        lines.append("\(SchemaFingerprint.columnOrderPrefix)\(name): \(columns.map(\.name).joined(separator: ", "))")
    }

    /// Any other object: `kind name: detail` (`index users.users_email_key: CREATE UNIQUE …`).
    /// Runs of whitespace in `detail` become one space, so reformatting a definition changes nothing.
    package mutating func add(_ kind: String, _ name: String, _ detail: String = "") {
        let detail = Self.collapse(detail)
        lines.append(detail.isEmpty ? "\(kind) \(name)" : "\(kind) \(name): \(detail)")
    }

    package var fingerprint: SchemaFingerprint { SchemaFingerprint(lines: lines) }

    /// `text` with every run of whitespace as one space, trimmed.
    package static func collapse(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}

/// How a schema found compares with the one expected. Thread-safe value.
package enum SchemaComparison: Sendable, Hashable {
    case equal
    /// Same structure; only the physical order of some table's columns differs.
    case columnOrder(SchemaDiff)
    /// At least one structural difference; the diff names every one.
    case different(SchemaDiff)

    package var diff: SchemaDiff? {
        switch self {
        case .equal: return nil
        case .columnOrder(let diff), .different(let diff): return diff
        }
    }
}

/// The lines two fingerprints do not share. Thread-safe value.
package struct SchemaDiff: Sendable, Hashable, Codable {
    /// Lines the expected schema has and the one found lacks.
    package var missing: [String]
    /// Lines the schema found has and the expected one lacks.
    package var unexpected: [String]

    package init(missing: [String], unexpected: [String]) {
        self.missing = missing
        self.unexpected = unexpected
    }

    /// The difference between two sets of lines.
    package init(expected: [String], found: [String]) {
        let expectedSet = Set(expected)
        let foundSet = Set(found)
        self.missing = expected.filter { !foundSet.contains($0) }.sorted()
        self.unexpected = found.filter { !expectedSet.contains($0) }.sorted()
    }

    package var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty }

    /// `- line` for what is missing, `+ line` for what is unexpected, missing first.
    package var lines: [String] { missing.map { "- \($0)" } + unexpected.map { "+ \($0)" } }

    /// The first `limit` lines, and how many more there are, in one string for status and logs.
    package func summary(limit: Int = 3) -> String {
        let all = lines
        let shown = all.prefix(limit).joined(separator: "; ")
        return all.count > limit ? "\(shown); … \(all.count - limit) more" : shown
    }
}
