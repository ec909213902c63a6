import Foundation
import Testing
import TidemarkTestSupport

/// Mattermost's 109 MySQL versions (../shared/corpora/mattermost-mysql) through the `tidemark`
/// binary on a real MariaDB server (docs/mysql.md#the-mattermost-corpus): `apply` leaves the
/// schema PyMySQL leaves when it sends each file whole with MULTI_STATEMENTS, and `rehearse`
/// names the undo scripts that do not undo.
@Suite("MySQL corpus", .serialized, .enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MySQLCorpusTests {
    static let corpus = CommandRunner.repositoryRoot.appendingPathComponent("../shared/corpora/mattermost-mysql")
        .standardizedFileURL

    struct Document: Decodable {
        struct Result: Decodable {
            struct Diff: Decodable {
                var missing: [String]
                var unexpected: [String]
            }
            var version: String
            var verdict: String
            var error: String?
            var diff: Diff?
        }
        var results: [Result]
    }

    /// A copy of the corpus as a plan and an inventory of one target database.
    func workspace(database: String) throws -> URL {
        try #require(
            FileManager.default.fileExists(atPath: Self.corpus.path),
            "the Mattermost corpus is missing at \(Self.corpus.path)")
        let root = try CommandRunner.temporaryDirectory("tidemark-mattermost")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("plans"), withIntermediateDirectories: true)
        let plan = root.appendingPathComponent("plans/mattermost")
        try FileManager.default.copyItem(at: Self.corpus, to: plan)
        for extra in ["MAPPING.tsv", "PROVENANCE.txt"] {
            try? FileManager.default.removeItem(at: plan.appendingPathComponent(extra))
        }
        try TestWorkspace.write(
            [
                "inventories/mm.yaml": """
                inventory: mm
                plan: ../plans/mattermost
                environments:
                  dev:
                    tier: dev
                    targets:
                      - { name: mm-1, url: "\(try TestMariaDB.requireURL())", schema: \(database) }

                """
            ], under: root)
        return root
    }

    /// The schema as `information_schema` states it: tables, columns (type, nullability,
    /// default, charset, collation, extra, position), index columns, routines; the history table
    /// left out.
    static func schema(of database: String) throws -> [String] {
        let name = TestMariaDB.literal(database)
        let queries = [
            "SELECT 'table', TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = \(name)",
            """
            SELECT 'column', TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
              CHARACTER_SET_NAME, COLLATION_NAME, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = \(name)
            """,
            """
            SELECT 'index', TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, INDEX_TYPE
            FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = \(name)
            """,
            "SELECT 'routine', ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = \(name)",
        ]
        return try queries.flatMap { try TestMariaDB.catalog($0) }
            .map { $0.map { $0 ?? "NULL" }.joined(separator: " | ") }
            .filter { !$0.contains("| tidemark_history |") }
            .sorted()
    }

    /// Every version applied by Tidemark (statement by statement, its own splitter) leaves the
    /// tables, columns and indexes PyMySQL leaves sending each file whole.
    @Test func applyLeavesTheSchemaPyMySQLLeaves() async throws {
        let ours = TestMariaDB.uniqueDatabaseName(for: "mm_tidemark")
        let reference = TestMariaDB.uniqueDatabaseName(for: "mm_pymysql")
        let root = try workspace(database: ours)
        defer {
            try? FileManager.default.removeItem(at: root)
            try? TestMariaDB.dropDatabase(ours)
            try? TestMariaDB.dropDatabase(reference)
        }
        let applied = try await CommandRunner.run(["apply", "-i", "inventories/mm.yaml", "--yes"], in: root)
        #expect(applied.status == 0, "\(applied)")
        let script = CommandRunner.repositoryRoot.appendingPathComponent("scripts/pymysql-apply").path
        let python = try await ExternalTool.run(
            "python3",
            [script, "--url", try TestMariaDB.requireURL(), "--dir", Self.corpus.path, "--create", reference])
        #expect(python.status == 0, "\(python)")
        #expect(python.standardOutput.hasPrefix("applied 109 versions to 1 databases"), "\(python)")

        let mine = try Self.schema(of: ours)
        let theirs = try Self.schema(of: reference)
        #expect(mine.filter { $0.hasPrefix("table |") }.count == theirs.filter { $0.hasPrefix("table |") }.count)
        #expect(theirs.filter { $0.hasPrefix("table |") }.count > 40, "\(theirs)")
        #expect(mine.filter { $0.hasPrefix("column |") }.count > 400, "\(mine.count)")
        #expect(
            mine == theirs,
            "only Tidemark: \(Set(mine).subtracting(theirs).sorted())\nonly PyMySQL: \(Set(theirs).subtracting(mine).sorted())"
        )
    }
}
