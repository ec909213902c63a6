import Foundation

/// Another migration tool whose history `tidemark adopt` reads (docs/adopting.md). Thread-safe value.
package enum ForeignTool: String, Sendable, Hashable, Codable, CaseIterable {
    case flyway
    case golangMigrate = "golang-migrate"
    case diesel
    case sqitch

    /// The tools whose history Tidemark can read, in the order `--from auto` looks.
    package static let readable: [ForeignTool] = [.flyway, .golangMigrate, .diesel, .sqitch]

    /// The table the tool keeps its history in, with the columns adopt reads, as the tool
    /// creates it (Flyway `getRawCreateScript`, golang-migrate `ensureVersionTable`, Diesel
    /// `CREATE_MIGRATIONS_TABLE`, Sqitch's registry schema `sqitch`).
    package var historyTable: ForeignTable {
        switch self {
        case .flyway:
            return ForeignTable(
                name: "flyway_schema_history",
                columns: ["installed_rank", "version", "description", "type", "script", "checksum", "success"])
        case .golangMigrate: return ForeignTable(name: "schema_migrations", columns: ["version", "dirty"])
        case .diesel: return ForeignTable(name: "__diesel_schema_migrations", columns: ["version", "run_on"])
        case .sqitch:
            return ForeignTable(
                schema: "sqitch", name: "changes",
                columns: ["change_id", "change", "project", "committed_at", "script_hash"])
        }
    }
}

/// One version another tool's history says is in effect. Thread-safe value.
package struct ForeignVersion: Sendable, Hashable, Codable {
    /// How the tool's history vouches for the version.
    package enum Evidence: String, Sendable, Hashable, Codable {
        /// A row of its own records it (Flyway, Diesel).
        case recorded
        /// The tool records only its latest version; this one is below it (golang-migrate).
        case belowLatest = "below-latest"
        /// Below a `<< Flyway Baseline >>` row: the tool never ran it either.
        case belowBaseline = "below-baseline"
    }

    /// The version as the tool wrote it (`3`, `1.1`, `20190226002946`).
    package var version: String
    package var evidence: Evidence
    /// Flyway's CRC32 checksum of the script it ran, when it recorded one.
    package var checksum: Int32?
    /// The script the tool recorded (Flyway), or the change's name (Sqitch), if any.
    package var script: String?
    /// Sqitch: the project the change belongs to, and the SHA-1 of the deploy script it ran.
    package var project: String?
    package var scriptHash: String?

    package init(
        version: String, evidence: Evidence, checksum: Int32? = nil, script: String? = nil, project: String? = nil,
        scriptHash: String? = nil
    ) {
        self.version = version
        self.evidence = evidence
        self.checksum = checksum
        self.script = script
        self.project = project
        self.scriptHash = scriptHash
    }
}

/// What another tool's history table says about a target: the versions in effect, or why it
/// cannot be trusted. Pure: built from the rows `BackendConnection.readRows` returns.
/// Thread-safe value.
package struct ForeignHistory: Sendable, Hashable, Codable {
    /// Why the history cannot be adopted as it stands.
    package enum Problem: Sendable, Hashable, Codable {
        /// golang-migrate `dirty = true`: a migration failed half-way at this version.
        case dirty(version: String)
        /// A Flyway row with `success = false`.
        case failed(version: String, script: String)
        /// A row adopt cannot read (a version that is not a number, a missing column).
        case unreadable(String)
    }

    package var tool: ForeignTool
    /// The versions in effect, in the order the tool would list them (a version's last word wins).
    package var inEffect: [ForeignVersion]
    /// For Flyway: the version of its baseline row, below which nothing was run by Flyway.
    package var baseline: String?
    /// What the history holds that adopt does not map (Flyway repeatable migrations, undo rows).
    package var notes: [String]
    package var problem: Problem?
    /// How many rows the table holds.
    package var rowCount: Int

    package init(
        tool: ForeignTool, inEffect: [ForeignVersion], baseline: String? = nil, notes: [String] = [],
        problem: Problem? = nil,
        rowCount: Int
    ) {
        self.tool = tool
        self.inEffect = inEffect
        self.baseline = baseline
        self.notes = notes
        self.problem = problem
        self.rowCount = rowCount
    }

    /// Reads `rows` of `tool.historyTable` (columns in its order). `planVersions` are needed for
    /// golang-migrate, which records only its latest version: every plan version up to it is in
    /// effect.
    package static func read(_ tool: ForeignTool, rows: [[String?]], planVersions: [Version]) -> ForeignHistory {
        switch tool {
        case .flyway: return flyway(rows, planVersions: planVersions)
        case .golangMigrate: return golangMigrate(rows, planVersions: planVersions)
        case .diesel: return diesel(rows)
        case .sqitch: return sqitch(rows)
        }
    }

    /// `schema_migrations (version bigint, dirty boolean)`: one row, the latest version.
    static func golangMigrate(_ rows: [[String?]], planVersions: [Version]) -> ForeignHistory {
        guard
            let row = rows.max(by: {
                (Int64($0.first.flatMap { $0 } ?? "") ?? 0) < (Int64($1.first.flatMap { $0 } ?? "") ?? 0)
            })
        else {
            return ForeignHistory(tool: .golangMigrate, inEffect: [], rowCount: 0)
        }
        guard row.count == 2, let text = row[0], let latest = Version(numeric: text) else {
            return ForeignHistory(
                tool: .golangMigrate, inEffect: [],
                problem: .unreadable("schema_migrations.version is '\(row.first.flatMap { $0 } ?? "NULL")'"),
                rowCount: rows.count)
        }
        if isTrue(row[1]) {
            return ForeignHistory(
                tool: .golangMigrate, inEffect: [], problem: .dirty(version: text), rowCount: rows.count)
        }
        var versions = planVersions.filter { $0 < latest }.map {
            ForeignVersion(version: $0.text, evidence: .belowLatest)
        }
        versions.append(ForeignVersion(version: text, evidence: .recorded))
        return ForeignHistory(tool: .golangMigrate, inEffect: versions, rowCount: rows.count)
    }

    /// `__diesel_schema_migrations (version varchar(50), run_on timestamp)`: one row per version
    /// run; `diesel migration revert` deletes the row.
    static func diesel(_ rows: [[String?]]) -> ForeignHistory {
        var versions: [ForeignVersion] = []
        for row in rows {
            guard let text = row.first ?? nil, Version(diesel: text) != nil else {
                return ForeignHistory(
                    tool: .diesel, inEffect: [],
                    problem: .unreadable(
                        "__diesel_schema_migrations.version is '\(row.first.flatMap { $0 } ?? "NULL")'"),
                    rowCount: rows.count)
            }
            versions.append(ForeignVersion(version: text, evidence: .recorded))
        }
        versions.sort { $0.version < $1.version }
        return ForeignHistory(tool: .diesel, inEffect: versions, rowCount: rows.count)
    }

    /// `flyway_schema_history`, folded in `installed_rank` order: a successful versioned row puts
    /// its version in effect, an undo row (`UNDO_SQL`, …) or a `DELETE` row (`flyway repair`)
    /// takes it out, a `BASELINE` row puts every version up to it in effect, the `SCHEMA` row and
    /// repeatable migrations (no version) are noted, not mapped.
    static func flyway(_ rows: [[String?]], planVersions: [Version]) -> ForeignHistory {
        struct Row {
            var rank: Int
            var version: String?
            var description: String
            var type: String
            var script: String
            var checksum: Int32?
            var success: Bool
        }
        var parsed: [Row] = []
        for row in rows {
            guard row.count == 7, let rank = row[0].flatMap({ Int($0) }) else {
                return ForeignHistory(
                    tool: .flyway, inEffect: [],
                    problem: .unreadable("a flyway_schema_history row without installed_rank"), rowCount: rows.count)
            }
            parsed.append(
                Row(
                    rank: rank, version: row[1], description: row[2] ?? "", type: row[3] ?? "", script: row[4] ?? "",
                    checksum: row[5].flatMap { Int32($0) }, success: isTrue(row[6])))
        }
        parsed.sort { $0.rank < $1.rank }
        if let failed = parsed.first(where: { !$0.success }) {
            return ForeignHistory(
                tool: .flyway, inEffect: [],
                problem: .failed(version: failed.version ?? "(repeatable)", script: failed.script),
                rowCount: rows.count)
        }
        var versions: [ForeignVersion] = []
        var baseline: String?
        var notes: [String] = []
        for row in parsed {
            guard let text = row.version, !text.isEmpty else {
                notes.append(
                    "repeatable migration \(row.script) is not mapped (Tidemark has no repeatable migrations); its checksum was not checked"
                )
                continue
            }
            guard Version(numeric: text) != nil else {
                return ForeignHistory(
                    tool: .flyway, inEffect: [], problem: .unreadable("flyway_schema_history.version is '\(text)'"),
                    rowCount: rows.count)
            }
            switch row.type {
            case "SCHEMA":
                continue
            case "BASELINE":
                baseline = text
            case "DELETE":
                versions.removeAll { Version(numeric: $0.version) == Version(numeric: text) }
                notes.append("version \(text) was marked deleted by flyway repair")
            case let type where type.hasPrefix("UNDO"):
                versions.removeAll { Version(numeric: $0.version) == Version(numeric: text) }
                notes.append("version \(text) was undone by Flyway (\(row.script))")
            default:
                versions.removeAll { Version(numeric: $0.version) == Version(numeric: text) }
                versions.append(
                    ForeignVersion(
                        version: text, evidence: .recorded, checksum: row.type == "SQL" ? row.checksum : nil,
                        script: row.script))
                if row.type != "SQL" {
                    notes.append(
                        "version \(text) is a \(row.type) migration; Flyway's checksum of it could not be checked")
                }
            }
        }
        if let baseline, let baselineVersion = Version(numeric: baseline) {
            let recorded = Set(versions.compactMap { Version(numeric: $0.version) })
            var below = planVersions.filter { $0 < baselineVersion && !recorded.contains($0) }.map {
                ForeignVersion(version: $0.text, evidence: .belowBaseline)
            }
            if !recorded.contains(baselineVersion) {
                below.append(ForeignVersion(version: baseline, evidence: .belowBaseline))
            }
            versions = below + versions
        }
        return ForeignHistory(tool: .flyway, inEffect: versions, baseline: baseline, notes: notes, rowCount: rows.count)
    }

    /// Sqitch's registry `changes`: one row per change deployed and not reverted (`sqitch revert`
    /// deletes the row; `events` keeps the story), keyed by the change id Sqitch computes from
    /// the plan. In deploy order; every project's rows (the caller keeps its plan's).
    static func sqitch(_ rows: [[String?]]) -> ForeignHistory {
        var versions: [(committed: String, version: ForeignVersion)] = []
        for row in rows {
            guard row.count == 5, let id = row[0], !id.isEmpty else {
                return ForeignHistory(
                    tool: .sqitch, inEffect: [], problem: .unreadable("a sqitch.changes row without change_id"),
                    rowCount: rows.count)
            }
            versions.append(
                (
                    row[3] ?? "",
                    ForeignVersion(
                        version: id, evidence: .recorded, script: row[1], project: row[2], scriptHash: row[4])
                ))
        }
        versions.sort { $0.committed < $1.committed }
        return ForeignHistory(tool: .sqitch, inEffect: versions.map(\.version), rowCount: rows.count)
    }

    /// PostgreSQL writes booleans as `t`/`true`, SQLite as `1`.
    static func isTrue(_ text: String?) -> Bool {
        guard let text else { return false }
        return ["t", "true", "1", "yes", "on"].contains(text.lowercased())
    }
}

extension ForeignHistory.Problem {
    /// One sentence: what is wrong and the fix.
    package func sentence(_ tool: ForeignTool) -> String {
        switch self {
        case .dirty(let version):
            return
                "golang-migrate says version \(version) is dirty (a migration failed half-way); fix the schema and run `migrate force \(version)` (or the version before it), then adopt"
        case .failed(let version, let script):
            return
                "flyway_schema_history records a failed migration, version \(version) (\(script)); fix the schema and run `flyway repair`, then adopt"
        case .unreadable(let message):
            return "\(tool.rawValue)'s history cannot be read: \(message)"
        }
    }
}

extension SchemaFingerprint {
    /// This fingerprint without the history tables other migration tools keep in the target's
    /// own schema (`flyway_schema_history`, `schema_migrations`, `__diesel_schema_migrations`):
    /// bookkeeping, like `tidemark_history`, that an adopted target keeps so its team can go back,
    /// and that no fingerprint recorded by `rehearse` has.
    package var withoutForeignHistories: SchemaFingerprint {
        ForeignTool.allCases.filter { $0.historyTable.schema == nil }.reduce(self) {
            $0.excludingTable($1.historyTable.name)
        }
    }
}
