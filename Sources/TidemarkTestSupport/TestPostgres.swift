import Foundation
import Logging
import TidemarkCore
import TidemarkPostgres

/// The PostgreSQL server tests may use, named by `TIDEMARK_TEST_POSTGRES_URL` (`scripts/test`
/// and `scripts/with-postgres` start a throwaway cluster and set it). The variable is read here
/// and nowhere else. Thread-safe: immutable state, and each call opens its own connection.
package enum TestPostgres {
    /// The name of the variable that holds the URL.
    package static let variable = "TIDEMARK_TEST_POSTGRES_URL"

    /// The test server's URL (its role is a superuser of a throwaway cluster); nil when the
    /// variable is unset or empty, and PostgreSQL tests are skipped.
    package static let url: String? = url(in: ProcessInfo.processInfo.environment)

    /// Whether PostgreSQL tests can run.
    package static var isAvailable: Bool { url != nil }

    /// Why PostgreSQL tests are skipped, for `.enabled(if:_:)` and warnings.
    package static let skipReason =
        "\(variable) not set: PostgreSQL tests skipped; run scripts/with-postgres swift test"

    /// The URL as `environment` sets it; nil when unset or empty.
    package static func url(in environment: [String: String]) -> String? {
        guard let url = environment[variable], !url.isEmpty else { return nil }
        return url
    }

    /// A schema name unique per call: `tm_<name>_<random>`, lower-case letters, digits and `_`,
    /// within PostgreSQL's 63-byte limit.
    package static func uniqueSchemaName(for name: String) -> String {
        let cleaned = String(name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }.prefix(32))
        let random = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        return "tm_\(cleaned)_\(random)"
    }

    /// `name` as a quoted SQL identifier.
    package static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Creates an empty schema with a unique name (see `uniqueSchemaName`) and returns the name.
    package static func createSchema(for name: String) throws -> String {
        let schema = uniqueSchemaName(for: name)
        try execute("CREATE SCHEMA \(quoted(schema))")
        return schema
    }

    /// Drops `schema` and everything in it; a no-op when it does not exist.
    package static func dropSchema(_ schema: String) throws {
        try execute("DROP SCHEMA IF EXISTS \(quoted(schema)) CASCADE")
    }

    /// Whether `table` exists in `schema`, read from the catalog.
    package static func tableExists(_ table: String, inSchema schema: String) throws -> Bool {
        // A step reports no rows, so the answer comes back as a distinctive error or none.
        let name = (quoted(schema) + "." + quoted(table)).replacingOccurrences(of: "'", with: "''")
        do {
            try execute(
                "DO $tm$ BEGIN IF to_regclass('\(name)') IS NULL THEN RAISE EXCEPTION USING ERRCODE = '\(absentState)'; END IF; END $tm$"
            )
            return true
        } catch let error as BackendError {
            if case .stepFailed(_, _, _, _, let state, _) = error, state == absentState { return false }
            throw error
        }
    }

    /// Whether `table` in `schema` has a column `column`, read from the catalog.
    package static func columnExists(_ column: String, table: String, inSchema schema: String) throws -> Bool {
        let name = (quoted(schema) + "." + quoted(table)).replacingOccurrences(of: "'", with: "''")
        let columnLiteral = column.replacingOccurrences(of: "'", with: "''")
        do {
            try execute(
                """
                DO $tm$ BEGIN
                  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('\(name)') AND attname = '\(columnLiteral)' AND NOT attisdropped)
                  THEN RAISE EXCEPTION USING ERRCODE = '\(absentState)'; END IF;
                END $tm$
                """)
            return true
        } catch let error as BackendError {
            if case .stepFailed(_, _, _, _, let state, _) = error, state == absentState { return false }
            throw error
        }
    }

    /// Runs `sql` as the URL's role, in one transaction, outside every test target.
    ///
    /// The public backend is the only way in from here (the test support is built in release for
    /// the benchmark, so it cannot reach TidemarkPostgres' internals), so the SQL runs as a step
    /// on an administration schema, `tidemark_test_admin`, whose history collects these rows and
    /// is never a test's target. Errors are the backend's `BackendError`.
    package static func execute(_ sql: String) throws {
        guard let url else { throw BackendError.unsupported(target: "test-admin", message: skipReason) }
        let admin = Target(
            name: "test-admin", environment: "test", connection: .url(url), schema: "tidemark_test_admin")
        let connection = try PostgresBackend().connect(to: admin, timeouts: .standard, logger: .silent)
        defer { connection.close() }
        try connection.ensureHistoryTable()
        try connection.run(
            StepRequest(
                version: UUID().uuidString, description: "test administration", kind: .forward, scriptPath: "",
                sql: sql, checksum: "", transactional: true, runID: "test-admin", appliedBy: "tests"))
    }

    /// The SQLSTATE `tableExists` raises for a missing table (class TM: Tidemark's tests).
    static let absentState = "TM404"
}
