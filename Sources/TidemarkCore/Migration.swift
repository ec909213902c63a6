/// The on-disk layout a plan uses; one plan uses exactly one.
package enum PlanFormat: String, Sendable, Codable {
    /// `V3__add_email.sql` / `U3__add_email.sql`.
    case flyway
    /// `0003_add_email.up.sql` / `0003_add_email.down.sql`.
    case golangMigrate = "golang-migrate"
    /// `<version>_<name>/up.sql`, `down.sql`, optional `metadata.toml`.
    case diesel
    /// `sqitch.plan` with `deploy/`, `revert/` and optional `verify/`: versions are positions in the plan.
    case sqitch
}

/// Why a script runs outside Tidemark's own transaction.
package enum NoTransactionReason: Sendable, Hashable, Codable {
    /// The script says `-- tidemark:no-transaction`.
    case directive
    /// Diesel's `metadata.toml` says `run_in_transaction = false`.
    case dieselMetadata
    /// The script writes its own `BEGIN` / `COMMIT` (Sqitch does this in every script).
    case managesOwnTransaction(statement: String)
    /// The script holds a statement PostgreSQL refuses inside a transaction block.
    case refusedInTransaction(statement: String)

    /// One phrase for `validate` and plan output.
    package var explanation: String {
        switch self {
        case .directive: return "marked -- tidemark:no-transaction"
        case .dieselMetadata: return "metadata.toml says run_in_transaction = false"
        case .managesOwnTransaction(let statement):
            return "manages its own transaction (\(statement)); runs as written"
        case .refusedInTransaction(let statement):
            return "holds \(statement), which PostgreSQL refuses inside a transaction block; runs as written"
        }
    }
}

/// One SQL script of a migration, forward or undo, with its directives. Thread-safe value.
package struct Script: Sendable, Hashable, Codable {
    /// Path relative to the plan directory (`V3__add_email.sql`, `2019-..._x/up.sql`).
    package var path: String
    package var sql: String
    /// SHA-256 hex of the script bytes with CRLF normalised to LF, leaving out the
    /// acknowledgement lines (`-- tidemark:lock-ok …`, `-- tidemark:data-loss-ok …`).
    package var checksum: String
    /// The older form, every byte (CRLF as LF), when acknowledgement lines make it differ:
    /// history rows written before acknowledgements were left out hold it, and still match.
    package var wholeFileChecksum: String?
    /// Nil when the script runs inside Tidemark's transaction with its history row.
    package var noTransaction: NoTransactionReason?
    /// `-- tidemark:compensates V`: this forward version is the roll-forward of V.
    package var compensates: Version?
    /// `-- tidemark:data-loss-ok <reason>`.
    package var dataLossAcknowledged: String?
    /// `-- tidemark:irreversible <reason>` (undo scripts): only a restore can undo this version.
    package var irreversible: String?
    /// `-- tidemark:lock-ok <reason>`: its lock-risky statements may run on live environments.
    package var lockAcknowledged: String?
    /// Who acknowledged the lock risk on the command line (`--lock-ok VERSION --reason TEXT`);
    /// nil when the script itself says `lock-ok`, or nothing does.
    package var lockAcknowledgedBy: String?
    /// `-- tidemark:batch …`: the one statement runs once per key range, each batch its own
    /// transaction with the step's checkpoint (docs/backfills.md).
    package var batch: BatchSpec?

    package init(
        path: String, sql: String, checksum: String, wholeFileChecksum: String? = nil,
        noTransaction: NoTransactionReason? = nil,
        compensates: Version? = nil, dataLossAcknowledged: String? = nil, irreversible: String? = nil,
        lockAcknowledged: String? = nil, batch: BatchSpec? = nil
    ) {
        self.batch = batch
        self.wholeFileChecksum = wholeFileChecksum
        self.lockAcknowledged = lockAcknowledged
        self.path = path
        self.sql = sql
        self.checksum = checksum
        self.noTransaction = noTransaction
        self.compensates = compensates
        self.dataLossAcknowledged = dataLossAcknowledged
        self.irreversible = irreversible
    }

    /// Whether a history row's checksum is this script's, in either form.
    package func matches(recordedChecksum: String) -> Bool {
        recordedChecksum == checksum || recordedChecksum == wholeFileChecksum
    }

    /// Whether Tidemark wraps the script and its history row in one transaction.
    package var isTransactional: Bool { noTransaction == nil }
}

/// One version of a plan: its forward script and, usually, its undo script. Thread-safe value.
package struct Migration: Sendable, Hashable, Codable {
    package var version: Version
    package var description: String
    package var forward: Script
    package var undo: Script?
    /// A script that checks the forward step worked (Sqitch's `verify/`): run after the forward
    /// step by `rehearse` and by `apply --verify`; an error from it fails the step's target.
    package var verify: Script?
    /// The Sqitch change this version is, for plans in the Sqitch layout.
    package var sqitch: SqitchChange?

    package init(
        version: Version, description: String, forward: Script, undo: Script?, verify: Script? = nil,
        sqitch: SqitchChange? = nil
    ) {
        self.version = version
        self.description = description
        self.forward = forward
        self.undo = undo
        self.verify = verify
        self.sqitch = sqitch
    }

    /// The version this one reverses by rolling forward, if it is a compensating migration.
    package var compensates: Version? { forward.compensates }
}

/// A version that must never run again anywhere (`tidemark quarantine`).
package struct QuarantineEntry: Sendable, Hashable, Codable {
    package var version: Version
    package var reason: String
    /// When it was quarantined, as written in plan.yaml (ISO 8601).
    package var at: String

    package init(version: Version, reason: String, at: String) {
        self.version = version
        self.reason = reason
        self.at = at
    }
}

/// The ordered migrations of one schema, as read from `plans/<name>/`. Thread-safe value.
package struct Plan: Sendable, Hashable, Codable {
    package var name: String
    /// The plan directory as given (absolute or relative to the working directory).
    package var directory: String
    package var format: PlanFormat
    /// Sorted by version, ascending; versions are unique.
    package var migrations: [Migration]
    package var quarantine: [QuarantineEntry]

    package init(
        name: String, directory: String, format: PlanFormat, migrations: [Migration],
        quarantine: [QuarantineEntry] = []
    ) {
        self.name = name
        self.directory = directory
        self.format = format
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.quarantine = quarantine
    }

    package var versionStyle: VersionStyle { format == .diesel ? .diesel : .numeric }

    package func migration(_ version: Version) -> Migration? {
        migrations.first { $0.version == version }
    }

    package func isQuarantined(_ version: Version) -> Bool {
        quarantine.contains { $0.version == version }
    }

    /// The newest version that is not quarantined: the default desired version.
    package var latestUsableVersion: Version? {
        migrations.last { !isQuarantined($0.version) }?.version
    }
}
