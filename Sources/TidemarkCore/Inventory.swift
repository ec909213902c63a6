/// A tier decides which rollback rules apply to an environment.
package enum Tier: String, Sendable, Codable, CaseIterable {
    case dev, test, staging, prod
}

/// Timeouts applied to every connection and step; environments may override the defaults.
package struct Timeouts: Sendable, Hashable, Codable {
    /// How long to wait for a lock held by somebody else inside the database.
    package var lockTimeout: Duration
    /// The longest one statement may run.
    package var statementTimeout: Duration
    /// The longest a connection attempt may take.
    package var connectTimeout: Duration
    /// `per_server` (docs/tenants.md#shared-sessions-per-server): the most sessions open on one
    /// server at once, shared by targets that differ only in schema; nil: a connection per target.
    /// Not a timeout, but it travels with them to every connection a target opens.
    package var sessionsPerServer: Int?

    package init(
        lockTimeout: Duration = .seconds(5), statementTimeout: Duration = .seconds(300),
        connectTimeout: Duration = .seconds(10)
    ) {
        self.lockTimeout = lockTimeout
        self.statementTimeout = statementTimeout
        self.connectTimeout = connectTimeout
    }

    package static let standard = Timeouts()
}

extension Duration {
    /// Whole milliseconds, rounded down (what `SET statement_timeout` takes).
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// How to reach a target's database.
package enum Connection: Sendable, Hashable, Codable {
    /// A libpq URI or conninfo string, `sqlite:PATH`, or `memory:NAME` (tests).
    case url(String)
    /// A libpq service name (pg_service.conf).
    case service(String)
}

/// Which backend a target's connection needs.
package struct BackendKind: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The kind's name: the URL scheme of its databases for every kind but PostgreSQL's.
    package var rawValue: String

    package init(rawValue: String) { self.rawValue = rawValue }

    /// PostgreSQL over libpq (URLs, conninfo strings, services).
    package static let postgres = BackendKind(rawValue: "postgres")
    /// SQLite files.
    package static let sqlite = BackendKind(rawValue: "sqlite")
    /// MySQL 5.7/8.x and MariaDB 10.x/11.x servers: one backend over MariaDB Connector/C.
    package static let mysql = BackendKind(rawValue: "mysql")

    package var description: String { rawValue }
}

/// One database (or one schema in a database) that Tidemark migrates. Thread-safe value.
package struct Target: Sendable, Hashable, Codable {
    package var name: String
    package var environment: String
    package var connection: Connection
    /// The schema that holds the application tables and `tidemark_history` (PostgreSQL).
    package var schema: String?
    package var tags: [String]
    /// The name of the environment variable that holds the password; never the password itself.
    package var passwordEnv: String?
    /// MySQL: an option file the client library reads before connecting (`option_file`); what
    /// the URL names wins over it.
    package var optionFile: String?
    /// MySQL: the option-file group to read (`option_group`; default `client`).
    package var optionGroup: String?
    /// MySQL: the replicas `max_lag` reads (`replicas:`, docs/backfills.md#mysql-and-mariadb);
    /// nil or empty: none named.
    package var replicas: [TargetReplica]?

    package init(
        name: String, environment: String, connection: Connection, schema: String? = nil,
        tags: [String] = [], passwordEnv: String? = nil, optionFile: String? = nil, optionGroup: String? = nil
    ) {
        self.name = name
        self.environment = environment
        self.connection = connection
        self.schema = schema
        self.tags = tags
        self.passwordEnv = passwordEnv
        self.optionFile = optionFile
        self.optionGroup = optionGroup
    }

    package var backendKind: BackendKind { location.backendKind }

    /// The connection with any password removed: safe for output, logs and reports.
    package var redactedLocation: String {
        switch connection {
        case .service(let name): return "service=\(name)"
        case .url(let url): return Redaction.redactConnectionString(url)
        }
    }
}

/// An environment: a tier, its rules and its targets. Thread-safe value.
package struct Environment: Sendable, Hashable, Codable {
    package var name: String
    package var tier: Tier
    /// Serving traffic: roll forward only. Defaults to true for `prod`, false otherwise.
    package var live: Bool
    /// Compliance: never roll back.
    package var audit: Bool
    /// Per-environment worker limit, within the fleet-wide one.
    package var concurrency: Int?
    /// The target that runs alone first; the rest wait for it.
    package var canary: String?
    /// Stop this environment (and later waves) after this many failures.
    package var maxFailures: Int?
    package var timeouts: Timeouts
    /// `drift:` in the environment; nil: the inventory's default.
    package var drift: DriftPolicy?
    /// `lock_risk_rows`: on a live environment, a lock-risky step on a table with more estimated
    /// rows than this blocks the target (docs/live-production.md#lint-and-lock-risk-in-the-plan).
    package var lockRiskRows: Int
    /// `lock_retries`: how often a transactional step that timed out waiting for a lock is tried again.
    package var lockRetries: Int
    /// `windows:` and `freeze:` (docs/windows.md): when its targets may be written; unrestricted by default.
    package var schedule = ChangeSchedule()
    /// `approval: required`: the environment's wave waits until a person approves it
    /// (docs/on-call.md#approvals).
    package var approvalRequired = false
    /// The listed targets; after the fleet is read, the discovered ones too, in their sources' places.
    package var targets: [Target]
    /// `discover:` entries of `targets` (docs/tenants.md#discovered-targets), read when the fleet
    /// is read; empty once they have been.
    package var discover: [DiscoverySource] = []

    /// The default `lock_risk_rows`.
    package static let defaultLockRiskRows = 100_000

    /// The default `lock_retries`: 5 on a live environment, where waiting out a busy table beats
    /// failing the deployment; 0 elsewhere.
    package static func defaultLockRetries(live: Bool) -> Int { live ? 5 : 0 }

    package init(
        name: String, tier: Tier, live: Bool? = nil, audit: Bool = false, concurrency: Int? = nil,
        canary: String? = nil, maxFailures: Int? = nil, timeouts: Timeouts = .standard, lockRiskRows: Int? = nil,
        lockRetries: Int? = nil, targets: [Target]
    ) {
        let live = live ?? (tier == .prod)
        self.lockRiskRows = lockRiskRows ?? Self.defaultLockRiskRows
        self.lockRetries = lockRetries ?? Self.defaultLockRetries(live: live)
        self.name = name
        self.tier = tier
        self.live = live
        self.audit = audit
        self.concurrency = concurrency
        self.canary = canary
        self.maxFailures = maxFailures
        self.timeouts = timeouts
        self.targets = targets
    }
}

/// Where and when to send notifications (docs/observing.md#notifications, docs/on-call.md).
/// Thread-safe value.
package struct NotifySink: Sendable, Hashable, Codable {
    package enum Kind: String, Sendable, Codable, CaseIterable {
        case slack, webhook
        /// PagerDuty's Events API v2: incidents triggered and resolved by `dedup_key`.
        case pagerduty
        /// Opsgenie's Alert API: alerts created and closed by `alias`.
        case opsgenie
        /// A Microsoft Teams Workflows webhook: Adaptive Cards.
        case teams
        /// SMTP (through libcurl): a plain-text run summary, failures first.
        case email

        /// Sinks that open incidents and resolve them when the target recovers.
        package var tracksIncidents: Bool { self == .pagerduty || self == .opsgenie }

        /// Sinks whose address is a webhook URL (`url` or `url_env`).
        package var takesWebhookURL: Bool { self == .slack || self == .webhook || self == .teams }
    }
    package var name: String
    package var kind: Kind
    /// A literal URL from the inventory (for local receivers); prefer `urlEnv`.
    package var url: String?
    /// The environment variable holding the URL.
    package var urlEnv: String?
    /// The environment variable holding the HMAC secret.
    package var secretEnv: String?
    /// Event names or their last word; empty means every event.
    package var on: [String]
    /// Environment names; empty means every environment.
    package var environments: [String]
    /// `routing_key_env` (pagerduty) or `api_key_env` (opsgenie): the variable holding the key,
    /// read at send time and never written anywhere.
    package var keyEnv: String?
    /// `events_url` (pagerduty) or `api_url` (opsgenie): where the service is, for proxies and
    /// tests; nil: the service's public address. For `email`, `smtp_url` (`smtp://host:587`,
    /// `smtps://host:465`).
    package var serviceURL: String?
    /// `email`: the sender's address.
    package var from: String?
    /// `email`: the recipients' addresses.
    package var to: [String] = []
    /// `email`: the variables holding the SMTP login (`username_env`, `password_env`).
    package var usernameEnv: String?
    package var passwordEnv: String?

    package init(
        name: String, kind: Kind, url: String? = nil, urlEnv: String? = nil, secretEnv: String? = nil,
        on: [String] = [], environments: [String] = [], keyEnv: String? = nil, serviceURL: String? = nil,
        from: String? = nil,
        to: [String] = [], usernameEnv: String? = nil, passwordEnv: String? = nil
    ) {
        self.from = from
        self.to = to
        self.usernameEnv = usernameEnv
        self.passwordEnv = passwordEnv
        self.name = name
        self.kind = kind
        self.url = url
        self.urlEnv = urlEnv
        self.secretEnv = secretEnv
        self.on = on
        self.environments = environments
        self.keyEnv = keyEnv
        self.serviceURL = serviceURL
    }
}

/// Where the control database of a many-runner rollout is
/// (docs/many-runners.md#one-run-across-runners-a-control-database): a libpq URL and the variable
/// holding its password, never the password. Thread-safe value.
package struct ControlDatabase: Sendable, Hashable, Codable {
    package var url: String
    package var passwordEnv: String?

    package init(url: String, passwordEnv: String? = nil) {
        self.url = url
        self.passwordEnv = passwordEnv
    }

    /// As a target, so the PostgreSQL connection code (URL, service, password_env, redaction)
    /// serves it unchanged; named `control database` in every message.
    package var target: Target {
        Target(name: "control database", environment: "", connection: .url(url), passwordEnv: passwordEnv)
    }
}

/// Environments, their targets, and how to roll out across them. Thread-safe value.
package struct Inventory: Sendable, Hashable, Codable {
    package var name: String
    /// The inventory file it was read from.
    package var file: String
    /// The plan directory, resolved against the inventory file's directory.
    package var planDirectory: String
    /// Fleet-wide worker limit.
    package var concurrency: Int
    /// Environment names in wave order; environments not listed run last, in file order.
    package var order: [String]
    package var defaults: Timeouts
    /// `drift:` in `defaults` (docs/recovery.md#the-drift-gate-apply---drift-warnblock): what apply
    /// does when a target's schema drifted.
    package var defaultDrift: DriftPolicy = .off
    /// In file order.
    package var environments: [Environment]
    package var notify: [NotifySink]
    /// `control: {url, password_env}`
    /// (docs/many-runners.md#one-run-across-runners-a-control-database): the control database
    /// runners share; nil: none.
    package var control: ControlDatabase?
    /// What each discovery source gave when the fleet was read (docs/tenants.md#discovered-targets);
    /// empty when none was read.
    package var discovery: [DiscoveryCount] = []

    package init(
        name: String, file: String, planDirectory: String, concurrency: Int = 8, order: [String] = [],
        defaults: Timeouts = .standard, environments: [Environment], notify: [NotifySink] = []
    ) {
        self.name = name
        self.file = file
        self.planDirectory = planDirectory
        self.concurrency = concurrency
        self.order = order
        self.defaults = defaults
        self.environments = environments
        self.notify = notify
    }

    package var allTargets: [Target] { environments.flatMap(\.targets) }

    package func environment(named name: String) -> Environment? {
        environments.first { $0.name == name }
    }

    /// The timeouts that govern `target`: its environment's, or the inventory's defaults when
    /// the environment is not in this inventory (a target built by hand, a stale rollout).
    ///
    /// `per_server` unset is the concurrency (docs/tenants.md#shared-sessions-per-server): sessions
    /// are shared per server unless `per_server` is written otherwise.
    package func timeouts(for target: Target) -> Timeouts {
        var timeouts = environment(named: target.environment)?.timeouts ?? defaults
        if timeouts.sessionsPerServer == nil { timeouts.sessionsPerServer = max(1, concurrency) }
        return timeouts
    }

    /// The drift gate that governs `target`: its environment's `drift:`, else `defaults`' drift.
    package func driftPolicy(for target: Target) -> DriftPolicy {
        environment(named: target.environment)?.drift ?? defaultDrift
    }

    /// The target called `name`. Searches in place: `allTargets` copies the whole fleet, which
    /// made a lookup per target quadratic (10,000 targets: seconds of retain/release). For a
    /// lookup per target, build a `FleetIndex` once.
    package func target(named name: String) -> Target? {
        for environment in environments {
            if let target = environment.targets.first(where: { $0.name == name }) { return target }
        }
        return nil
    }

    /// Environments grouped into waves: `order` first, then any others in file order.
    package var waves: [Environment] {
        let listed = order.compactMap { environment(named: $0) }
        let rest = environments.filter { !order.contains($0.name) }
        return listed + rest
    }
}

/// A replica of a MySQL target, read for its lag (`Seconds_Behind_Master`) by `max_lag`: its URL
/// and, optionally, the environment variable holding its password (else the URL's, else the
/// target's option files). Thread-safe value.
package struct TargetReplica: Sendable, Hashable, Codable {
    package var url: String
    package var passwordEnv: String?

    package init(url: String, passwordEnv: String? = nil) {
        self.url = url
        self.passwordEnv = passwordEnv
    }
}
