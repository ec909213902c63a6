import Logging

/// One `discover:` entry of an environment's `targets` (docs/tenants.md#discovered-targets): where
/// the targets it stands for are found when the fleet is read. Thread-safe value.
package struct DiscoverySource: Sendable, Hashable, Codable {
    /// What is read.
    package enum Kind: Sendable, Hashable, Codable {
        /// Schemas whose name matches a `LIKE` pattern, on the server and database `url` names.
        case schemas(pattern: String)
        /// Databases whose name matches a `LIKE` pattern on the MySQL or MariaDB server `url`
        /// names; each is a target on that server with it as its `schema`.
        case databases(pattern: String)
        /// The rows of a SQL query on the catalog database `url` names; columns `name`, `url`,
        /// `schema`, `tags` (any may be absent).
        case query(sql: String)
        /// JSON lines printed by a command (`{"name":…, "url":…, "schema":…, "tags":[…]}`), run in
        /// the inventory's folder within `timeout`.
        case command(arguments: [String], timeout: Duration)
    }

    package var kind: Kind
    /// The database to read (`schemas:`, `query:`), and the url of a discovered target whose row
    /// names none. Nil for a command.
    package var url: String?
    /// The variable holding the password of `url`, also given to the targets found on it.
    package var passwordEnv: String?
    /// `name: "tenant-{schema}"`: a template over the row's fields; nil: the row's name, else its schema.
    package var nameTemplate: String?
    /// Tags every target of this source carries (besides a row's own).
    package var tags: [String]
    /// A failure is a warning (the source gives no targets) instead of stopping the command.
    package var optional: Bool
    package var environment: String
    /// Where the entry is written (`file:line:column`), named in every message about it.
    package var location: SourceLocation
    /// How many listed targets of the environment come before this entry: discovered targets
    /// take the entry's place in the environment's order.
    package var position: Int

    package init(
        kind: Kind, url: String? = nil, passwordEnv: String? = nil, nameTemplate: String? = nil, tags: [String] = [],
        optional: Bool = false, environment: String, location: SourceLocation, position: Int = 0
    ) {
        self.kind = kind
        self.url = url
        self.passwordEnv = passwordEnv
        self.nameTemplate = nameTemplate
        self.tags = tags
        self.optional = optional
        self.environment = environment
        self.location = location
        self.position = position
    }

    /// The default command timeout.
    package static let defaultTimeout: Duration = .seconds(60)

    /// `discover (schemas tenant_%) at inventories/saas.yaml:12:9`: how every message names the
    /// source. Never the URL (it may hold a password).
    package var label: String {
        "discover (\(summary)) at \(location)"
    }

    /// `schemas tenant_%`, `query`, `command ./bin/list-tenants`.
    package var summary: String {
        switch kind {
        case .schemas(let pattern): return "schemas \(PrintableText.escaped(pattern))"
        case .databases(let pattern): return "databases \(PrintableText.escaped(pattern))"
        case .query: return "query"
        case .command(let arguments, _): return "command \(PrintableText.escaped(arguments.first ?? ""))"
        }
    }

    /// The source as a target, for connecting to the database it reads (its url and password_env).
    package var catalogTarget: Target? {
        guard let url else { return nil }
        return Target(
            name: "\(summary) source", environment: environment, connection: .url(url), passwordEnv: passwordEnv)
    }
}

/// How many targets one discovery source gave when the fleet was read, or the warning an
/// optional source left. Thread-safe value.
package struct DiscoveryCount: Sendable, Hashable, Codable {
    package var source: DiscoverySource
    package var targets: Int
    /// Why an optional source gave nothing; nil when it was read.
    package var warning: String?

    package init(source: DiscoverySource, targets: Int, warning: String? = nil) {
        self.source = source
        self.targets = targets
        self.warning = warning
    }

    /// `tenants: discover (schemas tenant_%) at saas.yaml:12:9 gave 500 targets`.
    package var line: String {
        if let warning { return "\(source.environment): \(source.label) gave no targets (optional): \(warning)" }
        return "\(source.environment): \(source.label) gave \(targets) target\(targets == 1 ? "" : "s")"
    }
}

/// A backend that can answer discovery sources (docs/tenants.md#discovered-targets): list schemas
/// matching a pattern and run a catalog query, on a plain read-only session. Implementations are
/// thread-safe; the calls block, so make them on an executor-owned thread.
package protocol DiscoveryCapableBackend: Backend {
    /// The database `target`'s connection names, or nil when it names none (a source must name
    /// the database it reads).
    func databaseName(of target: Target) -> String?

    /// The schemas of `target`'s database whose name matches the `LIKE` pattern, in name order.
    func schemas(matching pattern: String, on target: Target, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> [String]

    /// The rows of `sql`, run read-only on `target`'s database, each as one JSON object of its
    /// columns (arrays stay arrays): the same form a command source prints.
    func rows(of sql: String, on target: Target, timeouts: Timeouts, logger: Logger) throws(BackendError) -> [String]

    /// The databases of `target`'s server whose name matches the `LIKE` pattern, in name order
    /// (MySQL and MariaDB, where a tenant is a database); the URL need not name one.
    func databases(matching pattern: String, on target: Target, timeouts: Timeouts, logger: Logger)
        throws(BackendError) -> [String]
}

extension DiscoveryCapableBackend {
    package func databases(matching pattern: String, on target: Target, timeouts: Timeouts, logger: Logger)
        throws(BackendError) -> [String]
    {
        throw .unsupported(
            target: target.name,
            message:
                "a \(target.backendKind.rawValue) server has no databases: source; use schemas: on PostgreSQL, databases: on a mysql:// URL"
        )
    }
}

/// A backend that reads the history of many targets on one database at once
/// (docs/tenants.md#shared-sessions-per-server): targets that differ only in schema, read in a
/// few round trips instead of a session each. Implementations are thread-safe; the read blocks.
package protocol BatchHistoryReading: Backend {
    /// A key shared by the targets one session can read together (same server, database, user
    /// and settings); nil: `target` is read on its own.
    func historyGroup(of target: Target, timeouts: Timeouts) -> String?

    /// Each target's history rows by name (a target without the table reads as empty). Throws
    /// when the session cannot be had at all; then the caller reads each target on its own.
    func readHistories(of targets: [Target], timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> [String: Result<[HistoryEntry], BackendError>]

    /// `readHistories`, with the server the session reached (what `status` shows); nil when the
    /// backend does not say.
    func readHistoriesAndServer(of targets: [Target], timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> (histories: [String: Result<[HistoryEntry], BackendError>], server: DatabaseServer?)
}

extension BatchHistoryReading {
    package func readHistoriesAndServer(of targets: [Target], timeouts: Timeouts, logger: Logger)
        throws(BackendError) -> (histories: [String: Result<[HistoryEntry], BackendError>], server: DatabaseServer?)
    {
        (try readHistories(of: targets, timeouts: timeouts, logger: logger), nil)
    }
}
