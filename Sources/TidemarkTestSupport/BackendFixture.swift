import Logging
import TidemarkCore

/// A backend under conformance test: it makes fresh targets and can look at their schema
/// through its own means, so the suite checks real effects, not just history rows.
/// Implementations are thread-safe.
public protocol BackendFixture: Sendable, CustomStringConvertible {
    var backend: any Backend { get }

    /// A fresh target with an empty schema and no history; unique per call.
    func makeTarget(name: String) throws -> Target

    /// Another target in the same database as `target` but in its own schema, or nil when the
    /// backend has no schemas (SQLite, memory).
    func makeSiblingTarget(of target: Target, name: String) throws -> Target?

    /// SQL that creates a table called `table` with one integer column `id`.
    func createTableSQL(_ table: String) -> String

    /// SQL that fails when it runs (not when parsed), e.g. selecting from a missing table.
    var failingSQL: String { get }

    /// SQL that keeps the server busy for about `seconds` seconds (for timeouts and cancel).
    func slowSQL(seconds: Int) -> String

    /// Whether `table` exists in the target's schema, checked outside Tidemark's history.
    func tableExists(_ table: String, in target: Target) throws -> Bool
}
