import Foundation

/// How a MySQL or MariaDB server runs an `ALTER TABLE` (its online-DDL algorithm), cheapest first.
package enum OnlineDDLClass: String, Sendable, Hashable, Codable, Comparable, CaseIterable {
    /// Only the data dictionary changes: no table scan, no rebuild.
    case instant = "INSTANT"
    /// In place, without a rebuild (an index built, metadata changed); reads and writes go on.
    case inplace = "INPLACE"
    /// In place, but the table and its indexes are rebuilt: time grows with the rows.
    case inplaceRebuild = "INPLACE with rebuild"
    /// A full copy of the table; writes are blocked throughout.
    case copy = "COPY"

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }

    /// The `ALGORITHM=` that asks the server for this class and fails if it cannot (on MariaDB,
    /// `NOCOPY` is in place without a rebuild).
    package func algorithm(on server: DatabaseServer) -> String {
        switch self {
        case .instant: return "INSTANT"
        case .inplace: return server.product == .mariadb ? "NOCOPY" : "INPLACE"
        case .inplaceRebuild: return "INPLACE"
        case .copy: return "COPY"
        }
    }
}

/// One `ALTER TABLE` (or `CREATE`/`DROP INDEX`) and the online DDL the server allows for it.
/// Thread-safe value.
package struct OnlineDDLFinding: Sendable, Hashable, Codable {
    package var line: Int
    package var endLine: Int
    package var table: String
    /// The clauses as classified: `ADD COLUMN email`, `MODIFY total`.
    package var operations: [String]
    /// The costliest clause's class: the statement's.
    package var onlineClass: OnlineDDLClass
    /// Whether reads and writes go on while it runs (`LOCK=NONE`); false: writes wait (`LOCK=SHARED`).
    package var concurrentDML: Bool
    /// What to write instead, or how to make the server refuse a costlier algorithm.
    package var safeForm: String
    /// What the class depends on that the text cannot show (a column's current type).
    package var caveat: String?

    package init(
        line: Int, endLine: Int, table: String, operations: [String], onlineClass: OnlineDDLClass, concurrentDML: Bool,
        safeForm: String, caveat: String? = nil
    ) {
        self.line = line
        self.endLine = endLine
        self.table = table
        self.operations = operations
        self.onlineClass = onlineClass
        self.concurrentDML = concurrentDML
        self.safeForm = safeForm
        self.caveat = caveat
    }
}
