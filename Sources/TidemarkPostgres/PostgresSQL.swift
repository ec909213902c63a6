import Foundation
import TidemarkCore

/// SQL text helpers for the PostgreSQL backend. Pure functions; thread-safe.
enum PostgresSQL {
    /// The longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer ones are truncated.
    static let maximumIdentifierBytes = 63

    /// `name` as a quoted identifier: `"tenant_42"`, embedded quotes doubled (`"a""b"`).
    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `values` as a PostgreSQL text array literal for a `$1::text[]` parameter: `{"a","b\\"c"}`.
    static func textArray(_ values: [String]) -> String {
        let elements = values.map { value in
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                + "\""
        }
        return "{" + elements.joined(separator: ",") + "}"
    }

    /// The schema-qualified, quoted name of the history table in `schema`.
    static func historyTable(in schema: String) -> String {
        quoteIdentifier(schema) + ".tidemark_history"
    }

    /// The advisory lock key of a schema's migrations: FNV-1a (64-bit) of `tidemark:<schema>`.
    ///
    /// Stable across processes and releases, unlike Swift's per-process seeded `Hasher`: every
    /// Tidemark run, on any machine, must compute the same key for the same schema.
    static func advisoryLockKey(schema: String) -> Int64 {
        Int64(bitPattern: StableHash.fnv1a64("tidemark:" + schema))
    }

    /// The key that serializes creating a schema's history table, distinct from the migration lock
    /// so that creating the table never waits for another run's whole migration.
    static func creationLockKey(schema: String) -> Int64 {
        Int64(bitPattern: StableHash.fnv1a64("tidemark-create:" + schema))
    }

    /// The 1-based line and column of the character at 0-based `offset` (in Unicode scalars, as
    /// PostgreSQL counts its error positions) in `text`.
    static func lineAndColumn(in text: String, scalarOffset offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if index >= offset { break }
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }

    /// Where each statement starts in `script`, as a 0-based scalar offset (nil if not found).
    ///
    /// A statement's text is an exact slice of the script, so searching forward from the end of
    /// the previous one finds it; error positions within it then map back to script lines.
    static func scalarOffsets(of statements: [String], in script: String) -> [Int?] {
        let scalars = Array(script.unicodeScalars)
        var cursor = 0
        return statements.map { statement -> Int? in
            let needle = Array(statement.unicodeScalars)
            guard let first = needle.first else { return nil }
            var index = cursor
            while index + needle.count <= scalars.count {
                if scalars[index] == first && scalars[index..<(index + needle.count)].elementsEqual(needle) {
                    cursor = index + needle.count
                    return index
                }
                index += 1
            }
            return nil
        }
    }
}

extension PostgresSQL {
    /// `PQserverVersion`'s number as a server: 160004 is 16.4, 90624 is 9.6.24; nil for 0 (no connection).
    static func server(versionNumber: Int) -> DatabaseServer? {
        guard versionNumber > 0 else { return nil }
        let version =
            versionNumber >= 100_000
            ? "\(versionNumber / 10000).\(versionNumber % 10000)"
            : "\(versionNumber / 10000).\((versionNumber / 100) % 100).\(versionNumber % 100)"
        return DatabaseServer(product: .postgresql, version: version)
    }
}
