import Foundation

/// A batched step's directive, `-- tidemark:batch table=T key=K size=N [pause=D]
/// [max_rows_per_second=R] [max_lag=D]` (docs/backfills.md). Thread-safe value.
package struct BatchSpec: Sendable, Hashable, Codable {
    /// The table whose key is walked, as the script writes it (maybe `schema.table`).
    package var table: String
    /// A unique, indexed integer column of `table`.
    package var key: String
    /// Keys per batch (at least 1).
    package var size: Int
    /// A sleep between two batches.
    package var pause: Duration?
    /// At most this many rows changed per second, averaged over the run.
    package var maxRowsPerSecond: Int?
    /// Waits before a batch while a replica lags more than this.
    package var maxLag: Duration?

    package init(
        table: String, key: String, size: Int, pause: Duration? = nil, maxRowsPerSecond: Int? = nil,
        maxLag: Duration? = nil
    ) {
        self.table = table
        self.key = key
        self.size = size
        self.pause = pause
        self.maxRowsPerSecond = maxRowsPerSecond
        self.maxLag = maxLag
    }

    /// The placeholders a batched statement must use.
    package static let startPlaceholder = ":batch_start"
    package static let endPlaceholder = ":batch_end"

    /// How many batches `rows` rows make (at least 1).
    package func batches(forRows rows: Double) -> Int {
        max(1, Int((max(0, rows) / Double(size)).rounded(.up)))
    }
}

/// Where a batched step got to: the last key its committed batches covered and the rows they
/// changed, kept in the step's history row (`batch_last_key`, `batch_rows`). Thread-safe value.
package struct BatchCheckpoint: Sendable, Hashable, Codable {
    /// The highest key a committed batch covered; nil before the first batch.
    package var lastKey: Int64?
    /// Rows the committed batches changed.
    package var rows: Int64

    package init(lastKey: Int64? = nil, rows: Int64 = 0) {
        self.lastKey = lastKey
        self.rows = rows
    }
}

/// What a backend found about a batched step's table and key on one target. Thread-safe value.
package enum BatchTable: Sendable, Hashable {
    /// The key range: nil bounds when the table is empty.
    case ready(minKey: Int64?, maxKey: Int64?)
    /// The table or key cannot be walked here; `problem` says why and what to do.
    case unusable(problem: String)
}

extension Plan {
    /// The batched scripts' directives, by version and direction (`BatchSpec.key(version:kind:)`).
    package var batchSpecs: [String: BatchSpec] {
        var specs: [String: BatchSpec] = [:]
        for migration in migrations {
            if let spec = migration.forward.batch {
                specs[BatchSpec.key(version: migration.version.text, kind: .forward)] = spec
            }
            if let spec = migration.undo?.batch {
                specs[BatchSpec.key(version: migration.version.text, kind: .undo)] = spec
            }
        }
        return specs
    }

    /// The tables batched scripts walk: their row estimates are read with the states, for `plan`.
    package var batchedTables: [String] {
        Array(Set(batchSpecs.values.map(\.table))).sorted()
    }
}

extension BatchSpec {
    /// `"4 forward"`, `"4 undo"`: a compensating step runs its forward script.
    package static func key(version: String, kind: StepKind) -> String {
        "\(version) \(kind == .undo ? "undo" : "forward")"
    }
}

/// Where an unfinished batched step is, as `status` shows it: `backfill 37% (1.2M of 3.4M rows)`.
/// Thread-safe value.
package struct BackfillStatus: Sendable, Hashable, Codable {
    package var version: String
    package var table: String
    package var lastKey: Int64?
    package var rows: Int64
    package var minKey: Int64?
    package var maxKey: Int64?
    /// The catalog's estimate of the table's rows (PostgreSQL, MySQL); nil on SQLite.
    package var tableRows: Double?

    package init(
        version: String, table: String, lastKey: Int64?, rows: Int64, minKey: Int64?, maxKey: Int64?, tableRows: Double?
    ) {
        self.version = version
        self.table = table
        self.lastKey = lastKey
        self.rows = rows
        self.minKey = minKey
        self.maxKey = maxKey
        self.tableRows = tableRows
    }

    /// How far through the key range (0…1), when known.
    package var fraction: Double? {
        guard let minKey, let maxKey, maxKey >= minKey else { return nil }
        guard let lastKey else { return 0 }
        return min(1, max(0, Double(lastKey - minKey + 1) / Double(maxKey - minKey + 1)))
    }

    /// `backfill 37% (1.2M of 3.4M rows)`, or `backfill 37% (74k rows)` without an estimate.
    package var text: String {
        let percent = fraction.map { " \(Int(($0 * 100).rounded(.down)))%" } ?? ""
        let done = Self.count(Double(rows))
        let of = tableRows.map { " of \(Self.count($0))" } ?? ""
        return "backfill\(percent) (\(done)\(of) rows)"
    }

    static func count(_ rows: Double) -> String {
        String(LockRisk.rowCount(rows).dropFirst()) // no "~": the rows done are counted, not estimated
    }
}
