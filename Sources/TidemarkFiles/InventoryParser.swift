import Foundation
import TidemarkCore
import Yams

/// One pass over one inventory document, collecting every problem. Not shared; used by one call.
struct InventoryParser {
    static let inventoryKeys = [
        "inventory", "plan", "concurrency", "order", "defaults", "environments", "notify", "control",
    ]
    static let timeoutKeys = ["lock_timeout", "statement_timeout", "connect_timeout", "per_server"]
    /// Lock safety on live environments (docs/live-production.md#lint-and-lock-risk-in-the-plan),
    /// in an environment or `defaults`.
    static let lockKeys = ["lock_risk_rows", "lock_retries"]
    static let scheduleKeys = ["windows", "freeze"]
    static let windowKeys = ["days", "from", "to", "tz"]
    static let freezeKeys = ["from", "to", "reason", "tz"]
    static let environmentKeys =
        ["tier", "live", "audit", "concurrency", "canary", "max_failures", "drift", "approval"] + timeoutKeys + lockKeys
        + scheduleKeys + ["targets"]
    static let targetKeys = [
        "name", "url", "service", "schema", "tags", "password_env", "option_file", "option_group", "replicas",
    ]
    static let notifyKeys = [
        "name", "type", "url", "url_env", "secret_env", "on", "environments", "routing_key_env", "api_key_env",
        "events_url", "api_url", "smtp_url", "from", "to", "username_env", "password_env",
    ]
    static let events = [
        "run.started", "target.succeeded", "target.failed", "target.blocked", "wave.halted", "wave.awaiting_approval",
        "run.finished", "step.progress",
    ]
    static let eventWords = events.compactMap { $0.split(separator: ".").last.map(String.init) }
    static let tiers = Tier.allCases.map(\.rawValue)

    /// The known keys of one mapping, in file order, with their key and value nodes.
    struct Fields {
        var entries: [(key: String, keyNode: Node, value: Node)] = []

        subscript(key: String) -> Node? {
            entries.first { $0.key == key }?.value
        }

        func keyNode(_ key: String) -> Node? {
            entries.first { $0.key == key }?.keyNode
        }
    }

    /// The most mappings and keys one inventory may bring in through `<<` merges. An alias
    /// repeats its whole mapping, so merges of merges multiply: without a bound, a few hundred
    /// bytes could ask for billions of keys.
    static let mergeLimit = InputLimits.mergedKeys

    let file: String
    /// Where the document ends, to keep every position a node gives inside it.
    private var end = YAMLSupport.TextEnd("")
    private(set) var errors: [InventoryError] = []
    /// Mappings and keys brought in through `<<` merges so far, against `mergeLimit`.
    private var mergedSoFar = 0
    /// Targets expanded so far (duplicates included), against `InventoryFile.targetLimit`.
    private var targetsSoFar = 0
    /// Target name → line of its first definition, across the whole inventory.
    private var targetLines: [String: Int] = [:]
    /// Environments that say `windows:` themselves (even `[]`): theirs replace those of defaults.
    var environmentsWithWindows: Set<String> = []

    init(file: String) {
        self.file = file
    }

    /// Errors in file order (line, then column); errors at the same place keep their order.
    var sortedErrors: [InventoryError] {
        errors.enumerated().sorted { a, b in
            let (x, y) = (a.element.location, b.element.location)
            if x.line != y.line { return x.line < y.line }
            if x.column != y.column { return x.column < y.column }
            return a.offset < b.offset
        }.map(\.element)
    }

    // MARK: - Reporting

    func location(_ node: Node) -> SourceLocation {
        let (line, column) = end.clamp(line: node.line, column: node.column)
        return SourceLocation(file: file, line: line, column: column)
    }

    mutating func fail(_ node: Node, _ message: String) {
        errors.append(InventoryError(location: location(node), message: message))
    }

    mutating func fail(line: Int, column: Int, _ message: String) {
        errors.append(
            InventoryError(location: SourceLocation(file: file, line: line, column: column), message: message))
    }

    // MARK: - Top level

    mutating func inventory(from yaml: String) -> Inventory? {
        end = YAMLSupport.TextEnd(yaml)
        let root: Node
        switch YAMLSupport.compose(yaml) {
        case .failure(let problem):
            fail(line: problem.line, column: problem.column, problem.message)
            return nil
        case .success(nil):
            fail(line: 1, column: 1, "the inventory is empty; it needs at least plan and environments.")
            return nil
        case .success(let node?):
            root = node
        }
        guard case .mapping(let mapping) = root else {
            fail(
                root, "an inventory is a mapping with keys such as plan and environments, not \(root.kindDescription).")
            return nil
        }
        let fields = fields(of: mapping, in: "inventory", known: Self.inventoryKeys)

        let name =
            fields["inventory"].flatMap { text($0, "inventory", example: "inventory: demo") }
            ?? PathText.baseName(of: file)
        if let control = PrintableText.firstControl(in: name) {
            let shown = PrintableText.escaped(name)
            if let node = fields["inventory"] {
                fail(
                    node,
                    "inventory name '\(shown)' holds the control character \(PrintableText.escaped(String(control.scalar))) at character \(control.position); names are printed in reports and logs, so write them without control characters."
                )
            } else {
                fail(
                    line: 1, column: 1,
                    "the inventory's file name '\(shown)' holds a control character; rename the file or set inventory: NAME."
                )
            }
        }

        var planDirectory = ""
        if let node = fields["plan"] {
            if let plan = text(node, "plan", example: "plan: ../plans/demo") {
                planDirectory = PathText.resolve(plan, against: PathText.directory(of: file))
            }
        } else {
            fail(root, "missing key 'plan': the plan directory, relative to this file, e.g. plan: ../plans/demo.")
        }

        let concurrency =
            fields["concurrency"].flatMap { integer($0, "concurrency", minimum: 1, example: "concurrency: 8") } ?? 8

        var defaults = Timeouts.standard
        var defaultDrift = DriftPolicy.off
        var lockDefaults = LockSettings()
        var defaultSchedule = ChangeSchedule()
        if let node = fields["defaults"] {
            if case .mapping(let defaultsMapping) = node {
                let timeoutFields = self.fields(
                    of: defaultsMapping, in: "defaults",
                    known: Self.timeoutKeys + ["drift"] + Self.lockKeys + Self.scheduleKeys)
                applyTimeouts(timeoutFields, to: &defaults)
                if let node = timeoutFields["windows"] { defaultSchedule.windows = windows(node) }
                if let node = timeoutFields["freeze"] { defaultSchedule.freezes = freezes(node) }
                applyLockSettings(timeoutFields, to: &lockDefaults)
                if let driftNode = timeoutFields["drift"], let value = drift(driftNode) { defaultDrift = value }
            } else if !node.isNull {
                fail(
                    node,
                    "defaults must be a mapping, e.g. defaults: { lock_timeout: 5s, statement_timeout: 5m, connect_timeout: 10s }."
                )
            }
        }

        var environments: [Environment] = []
        var declared: [String] = []
        if let node = fields["environments"], let key = fields.keyNode("environments") {
            (environments, declared) = self.environments(node, key: key, defaults: defaults, lockDefaults: lockDefaults)
            // An environment's windows replace those of defaults; freezes add up (docs/windows.md).
            for index in environments.indices {
                if environments[index].schedule.windows.isEmpty
                    && !environmentsWithWindows.contains(environments[index].name)
                {
                    environments[index].schedule.windows = defaultSchedule.windows
                }
                environments[index].schedule.freezes = defaultSchedule.freezes + environments[index].schedule.freezes
            }
        } else {
            fail(root, "missing key 'environments': a mapping of environment names to their tier and targets.")
        }

        let order = fields["order"].map { self.order($0, declared: declared) } ?? []
        let notify = fields["notify"].map { sinks($0, declared: declared) } ?? []

        var inventory = Inventory(
            name: name, file: file, planDirectory: planDirectory, concurrency: concurrency, order: order,
            defaults: defaults, environments: environments, notify: notify)
        inventory.defaultDrift = defaultDrift
        inventory.control = fields["control"].flatMap { control($0) }
        return inventory
    }

    /// `control: { url: postgres://…, password_env: VAR }`
    /// (docs/many-runners.md#one-run-across-runners-a-control-database).
    mutating func control(_ node: Node) -> ControlDatabase? {
        guard case .mapping(let mapping) = node else {
            fail(
                node,
                "control must be a mapping, e.g. control: { url: \"postgres://tidemark@control.db.internal/tidemark\", password_env: CONTROL_PASSWORD }."
            )
            return nil
        }
        let fields = fields(of: mapping, in: "control", known: ["url", "password_env"])
        guard let urlNode = fields["url"] else {
            fail(
                node,
                "control needs a url: the PostgreSQL control database, e.g. url: \"postgres://tidemark@control.db.internal/tidemark\"."
            )
            return nil
        }
        guard let url = text(urlNode, "url", example: "url: \"postgres://tidemark@control.db.internal/tidemark\"")
        else { return nil }
        if let scheme = ConnectionLocation.unknownScheme(in: url), scheme != "sqlite" {
            failUnknownScheme(scheme, at: urlNode, known: ["postgres", "postgresql"])
            return nil
        }
        let passwordEnv = fields["password_env"].flatMap {
            text($0, "password_env", example: "password_env: CONTROL_PASSWORD")
        }
        return ControlDatabase(url: url, passwordEnv: passwordEnv)
    }

    /// A `word://` URL Tidemark does not read; only the scheme is repeated (the URL may hold a password).
    /// The schemes a target's `url` may have (besides libpq conninfo strings).
    static let targetSchemes = ConnectionLocation.knownSchemes + MySQLURL.schemes

    /// `separator`: what followed the scheme as written, `://` or `:`.
    mutating func failUnknownScheme(_ scheme: String, at node: Node, known: [String], separator: String = "://") {
        let hint = Suggestion.closest(to: scheme, among: known).map { "did you mean '\($0)\(separator)'? " } ?? ""
        let forms = known.map { $0 == "sqlite" ? "sqlite:PATH" : "\($0)://" }
        fail(
            node,
            "unknown URL scheme '\(PrintableText.escaped(scheme))\(separator)'; \(hint)Tidemark reads \(forms.joined(separator: ", ")) and libpq conninfo strings (host=… dbname=…)."
        )
    }

    /// `drift: off|warn|block`.
    mutating func drift(_ node: Node) -> DriftPolicy? {
        let value = node.bool == false ? "off" : node.text ?? ""
        guard let policy = DriftPolicy(rawValue: value) else {
            fail(node, "drift must be off, warn or block\(Self.got(node)), e.g. drift: block.")
            return nil
        }
        return policy
    }

    /// The mapping's known keys; unknown and non-text keys are reported. `<<` merge keys are
    /// followed: merged entries fill in keys the mapping does not set itself.
    mutating func fields(of mapping: Node.Mapping, in context: String, known: [String]) -> Fields {
        var fields = Fields()
        var merged: [Node] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.text else {
                fail(keyNode, "keys in \(context) must be plain names, not \(keyNode.kindDescription).")
                continue
            }
            if key == "<<" {
                merged += value.sequence.map(Array.init) ?? [value]
                continue
            }
            guard known.contains(key) else {
                fail(keyNode, "unknown key '\(key)' in \(context)\(Self.hint(key, known: known))")
                continue
            }
            fields.entries.append((key, keyNode, value))
        }
        for source in merged {
            guard case .mapping(let sourceMapping) = source else {
                fail(source, "a << merge in \(context) takes a mapping (an alias such as *defaults).")
                continue
            }
            let before = mergedSoFar
            mergedSoFar += 1 + sourceMapping.count
            guard mergedSoFar <= Self.mergeLimit else {
                if before <= Self.mergeLimit {
                    fail(
                        source,
                        "<< merges in this inventory bring in more than \(Self.mergeLimit) keys (a merge of merges repeats each one); merge fewer mappings."
                    )
                }
                break
            }
            for entry in self.fields(of: sourceMapping, in: context, known: known).entries
            where fields[entry.key] == nil {
                fields.entries.append(entry)
            }
        }
        return fields
    }

    /// "; did you mean 'x'?" for a near miss, else "; known keys: a, b, c."
    static func hint(_ key: String, known: [String]) -> String {
        if let close = Suggestion.closest(to: key, among: known) { return "; did you mean '\(close)'?" }
        return "; known keys: \(known.joined(separator: ", "))."
    }

    // MARK: - Values

    /// A single non-empty value. `what` names it in messages; the value itself is not repeated,
    /// because urls may hold secrets.
    mutating func text(_ node: Node, _ what: String, example: String) -> String? {
        if node.isNull {
            fail(node, "\(what) is empty; give a value, e.g. \(example).")
            return nil
        }
        guard let value = node.text, !value.isEmpty else {
            fail(node, "\(what) must be a single value, not \(node.kindDescription), e.g. \(example).")
            return nil
        }
        return value
    }

    mutating func integer(_ node: Node, _ what: String, minimum: Int, example: String) -> Int? {
        let bound = minimum == 0 ? "0 or more" : "at least \(minimum)"
        guard let value = node.text.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), value >= minimum else {
            fail(node, "\(what) must be a whole number, \(bound)\(Self.got(node)), e.g. \(example).")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, _ what: String) -> Bool? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = node.bool else {
            fail(node, "\(what) must be true or false\(Self.got(node)).")
            return nil
        }
        return value
    }

    mutating func duration(_ node: Node, _ what: String) -> Duration? {
        guard let value = node.text, let duration = DurationText.parse(value) else {
            let shown = node.text.map { " '\($0)'" } ?? ""
            fail(node, "bad duration\(shown) for \(what); write a number and a unit, e.g. \(DurationText.examples).")
            return nil
        }
        return duration
    }

    /// The name of an environment variable; the value is never repeated (it might be the secret).
    mutating func environmentVariableName(_ node: Node, _ what: String, example: String) -> String? {
        guard let value = node.text, let first = value.unicodeScalars.first,
            first == "_" || (first.isASCII && first.properties.isAlphabetic),
            value.unicodeScalars.allSatisfy({
                $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0)
            })
        else {
            fail(
                node,
                "\(what) must name an environment variable (letters, digits and _, not starting with a digit), e.g. \(what): \(example); it holds the variable's name, never the secret itself."
            )
            return nil
        }
        return value
    }

    /// A list of single values, each with its node.
    mutating func list(_ node: Node, _ what: String, example: String) -> [(text: String, node: Node)] {
        if node.isNull { return [] }
        guard case .sequence(let sequence) = node else {
            fail(node, "\(what) must be a list, e.g. \(example).")
            return []
        }
        var items: [(String, Node)] = []
        for item in sequence {
            if let value = item.text, !value.isEmpty {
                items.append((value, item))
            } else {
                fail(
                    item, "each entry of \(what) must be a single value, not \(item.kindDescription), e.g. \(example).")
            }
        }
        return items
    }

    /// " (got 'x')" for a scalar, "" otherwise.
    static func got(_ node: Node) -> String {
        if let value = node.text { return " (got '\(value)')" }
        return node.isNull ? " (got nothing)" : " (got \(node.kindDescription))"
    }

    mutating func applyTimeouts(_ fields: Fields, to timeouts: inout Timeouts) {
        if let node = fields["lock_timeout"], let value = duration(node, "lock_timeout") {
            timeouts.lockTimeout = value
        }
        if let node = fields["statement_timeout"], let value = duration(node, "statement_timeout") {
            timeouts.statementTimeout = value
        }
        if let node = fields["connect_timeout"], let value = duration(node, "connect_timeout") {
            timeouts.connectTimeout = value
        }
        if let node = fields["per_server"],
            let value = integer(node, "per_server", minimum: 1, example: "per_server: 4")
        {
            timeouts.sessionsPerServer = value
        }
    }

    /// `lock_risk_rows` and `lock_retries` as written; unset ones fall back to `defaults`, then to
    /// `Environment`'s defaults (which depend on `live`).
    struct LockSettings {
        var riskRows: Int?
        var retries: Int?
    }

    mutating func applyLockSettings(_ fields: Fields, to settings: inout LockSettings) {
        if let node = fields["lock_risk_rows"],
            let value = integer(node, "lock_risk_rows", minimum: 0, example: "lock_risk_rows: 100000")
        {
            settings.riskRows = value
        }
        if let node = fields["lock_retries"],
            let value = integer(node, "lock_retries", minimum: 0, example: "lock_retries: 5")
        {
            settings.retries = value
        }
    }

    // MARK: - Environments

    /// The environments in file order, and every declared name (also of broken environments,
    /// so `order` and `notify` do not report them a second time).
    mutating func environments(_ node: Node, key: Node, defaults: Timeouts, lockDefaults: LockSettings) -> (
        [Environment], [String]
    ) {
        let example = "environments: { dev: { tier: dev, targets: [ { name: dev, url: \"sqlite:dev.db\" } ] } }"
        guard case .mapping(let mapping) = node else {
            if node.isNull {
                fail(key, "environments is empty; add at least one environment, e.g. \(example).")
            } else {
                fail(
                    node,
                    "environments must be a mapping of environment names to settings, not \(node.kindDescription), e.g. \(example)."
                )
            }
            return ([], [])
        }
        if mapping.isEmpty {
            fail(node, "environments is empty; add at least one environment, e.g. \(example).")
        }
        var environments: [Environment] = []
        var declared: [String] = []
        for (keyNode, value) in mapping {
            guard let name = keyNode.text, !name.isEmpty else {
                fail(
                    keyNode,
                    "environment names must be plain names such as dev or prod, not \(keyNode.kindDescription).")
                continue
            }
            declared.append(name)
            if let control = PrintableText.firstControl(in: name) {
                fail(
                    keyNode,
                    "environment name '\(PrintableText.escaped(name))' holds the control character \(PrintableText.escaped(String(control.scalar))) at character \(control.position); names are printed in reports and logs, so write them without control characters."
                )
            }
            if let environment = environment(
                name, key: keyNode, value: value, defaults: defaults, lockDefaults: lockDefaults)
            {
                environments.append(environment)
            }
        }
        return (environments, declared)
    }

    mutating func environment(_ name: String, key: Node, value: Node, defaults: Timeouts, lockDefaults: LockSettings)
        -> Environment?
    {
        let example = "\(name): { tier: dev, targets: [ { name: \(name), url: \"sqlite:\(name).db\" } ] }"
        guard case .mapping(let mapping) = value, !mapping.isEmpty else {
            if value.isNull || value.mapping != nil {
                fail(key, "environment '\(name)' is empty; give it a tier and targets, e.g. \(example).")
            } else {
                fail(
                    value,
                    "environment '\(name)' must be a mapping with tier and targets, not \(value.kindDescription), e.g. \(example)."
                )
            }
            return nil
        }
        let fields = fields(of: mapping, in: "environment '\(name)'", known: Self.environmentKeys)

        var tier: Tier?
        if let node = fields["tier"] {
            tier = self.tier(node)
        } else {
            fail(key, "environment '\(name)' needs a tier: one of \(Self.tiers.joined(separator: ", ")).")
        }
        let live = fields["live"].flatMap { bool($0, "live") }
        let audit = fields["audit"].flatMap { bool($0, "audit") } ?? false
        let concurrency = fields["concurrency"].flatMap {
            integer($0, "concurrency", minimum: 1, example: "concurrency: 2")
        }
        let maxFailures = fields["max_failures"].flatMap {
            integer($0, "max_failures", minimum: 0, example: "max_failures: 0")
        }
        var timeouts = defaults
        applyTimeouts(fields, to: &timeouts)
        var lock = lockDefaults
        applyLockSettings(fields, to: &lock)

        var targets: [Target] = []
        var sources: [DiscoverySource] = []
        let errorsBeforeTargets = errors.count
        if let node = fields["targets"], let targetsKey = fields.keyNode("targets") {
            (targets, sources) = self.targets(node, key: targetsKey, environment: name)
        } else {
            fail(key, "environment '\(name)' has no targets; add targets: [ { name: ..., url: ... } ].")
        }
        let targetsAreComplete = errors.count == errorsBeforeTargets

        var canary: String?
        if let node = fields["canary"],
            let value = text(node, "canary", example: "canary: \(targets.first?.name ?? "prod-eu-1")")
        {
            canary = value
            let names = targets.map(\.name)
            // A discovered target is known once the fleet is read: checked then.
            if targetsAreComplete && sources.isEmpty && !names.contains(value) {
                let suggestion = Suggestion.closest(to: value, among: names)
                let fix = suggestion.map { "did you mean '\($0)'?" } ?? "name one of its targets."
                fail(node, "canary '\(value)' is not a target of environment '\(name)'; \(fix)")
            }
        }

        guard let tier else { return nil }
        var environment = Environment(
            name: name, tier: tier, live: live, audit: audit, concurrency: concurrency, canary: canary,
            maxFailures: maxFailures, timeouts: timeouts, lockRiskRows: lock.riskRows, lockRetries: lock.retries,
            targets: targets)
        environment.drift = fields["drift"].flatMap { drift($0) }
        if let node = fields["windows"] {
            environment.schedule.windows = windows(node)
            environmentsWithWindows.insert(name)
        }
        if let node = fields["freeze"] { environment.schedule.freezes = freezes(node) }
        if let node = fields["approval"] {
            switch node.text {
            case "required": environment.approvalRequired = true
            case "none": environment.approvalRequired = false
            default: fail(node, "approval must be required or none\(Self.got(node)), e.g. approval: required.")
            }
        }
        environment.discover = sources
        return environment
    }

    mutating func tier(_ node: Node) -> Tier? {
        let tiers = Self.tiers.joined(separator: ", ")
        guard let value = node.text else {
            fail(node, "tier must be one of \(tiers)\(Self.got(node)).")
            return nil
        }
        guard let tier = Tier(rawValue: value) else {
            if let close = Suggestion.closest(to: value, among: Self.tiers) {
                fail(node, "unknown tier '\(value)'; did you mean '\(close)'? Tiers are \(tiers).")
            } else {
                fail(node, "unknown tier '\(value)'; use one of \(tiers).")
            }
            return nil
        }
        return tier
    }

    // MARK: - Targets

    mutating func targets(_ node: Node, key: Node, environment: String) -> ([Target], [DiscoverySource]) {
        let example = "targets: [ { name: \(environment), url: \"sqlite:\(environment).db\" } ]"
        guard case .sequence(let sequence) = node else {
            if node.isNull {
                fail(key, "environment '\(environment)' has no targets; add \(example).")
            } else {
                fail(node, "targets must be a list, not \(node.kindDescription), e.g. \(example).")
            }
            return ([], [])
        }
        if sequence.isEmpty {
            fail(node, "environment '\(environment)' has no targets; add \(example).")
        }
        var targets: [Target] = []
        var sources: [DiscoverySource] = []
        for item in sequence {
            if case .mapping(let mapping) = item, mapping["discover"] != nil {
                if let source = discoverySource(
                    item, mapping: mapping, environment: environment, position: targets.count)
                {
                    sources.append(source)
                }
            } else {
                targets += target(item, environment: environment)
            }
        }
        return (targets, sources)
    }

    static let discoverKeys = ["discover", "name", "tags", "optional", "timeout", "password_env"]
    static let discoverSourceKeys = ["url", "schemas", "databases", "query", "command"] + discoverKeys.dropFirst()

    /// `- discover: { url: …, schemas: "tenant_%" }` (or `query:`, or `command: [...]`), with
    /// `name`, `tags`, `optional`, `timeout` and `password_env` beside `discover` or inside it
    /// (docs/tenants.md#discovered-targets).
    mutating func discoverySource(_ node: Node, mapping: Node.Mapping, environment: String, position: Int)
        -> DiscoverySource?
    {
        let example = "- discover: { url: \"postgres://app@db-1/app\", schemas: \"tenant_%\" }"
        let outer = fields(of: mapping, in: "a discover entry", known: Self.discoverKeys)
        guard let inner = outer["discover"], case .mapping(let innerMapping) = inner else {
            fail(outer["discover"] ?? node, "discover must be a mapping naming one source, e.g. \(example).")
            return nil
        }
        let own = fields(of: innerMapping, in: "discover", known: Self.discoverSourceKeys)
        // A key may sit beside `discover` or inside it; written twice, the inner one wins.
        var fields = own
        for entry in outer.entries where entry.key != "discover" {
            if let twice = own.keyNode(entry.key) {
                fail(
                    twice,
                    "\(entry.key) is set both beside discover (line \(entry.keyNode.line)) and inside it; keep one.")
                return nil
            }
            fields.entries.append(entry)
        }
        let errorsBefore = errors.count
        let kinds = ["schemas", "databases", "query", "command"].filter { fields[$0] != nil }
        guard kinds.count == 1 else {
            if kinds.isEmpty {
                fail(
                    inner,
                    "discover needs one source: schemas (a LIKE pattern), databases (a LIKE pattern, on a MySQL server), query (SQL on a catalog database) or command (a list: the program and its arguments), e.g. \(example)."
                )
            } else {
                let later = kinds.compactMap { fields.keyNode($0) }.max { ($0.line, $0.column) < ($1.line, $1.column) }
                fail(later ?? inner, "discover has \(kinds.joined(separator: " and ")); give one source per entry.")
            }
            return nil
        }
        let url = fields["url"].flatMap { text($0, "url", example: "url: \"postgres://app@db-1/app\"") }
        if let url, let urlNode = fields["url"], let scheme = ConnectionLocation.unknownScheme(in: url) {
            failUnknownScheme(scheme, at: urlNode, known: ConnectionLocation.knownSchemes)
        }
        let kind: DiscoverySource.Kind?
        switch kinds[0] {
        case "schemas":
            kind = fields["schemas"].flatMap { text($0, "schemas", example: "schemas: \"tenant_%\"") }.map {
                .schemas(pattern: $0)
            }
            if url == nil, fields["url"] == nil {
                fail(inner, "discover with schemas needs the url of the database to read, e.g. \(example).")
            }
            if let url, let node = fields.keyNode("schemas"), MySQLURL.hasMySQLScheme(url) {
                fail(
                    node,
                    "on a MySQL or MariaDB server a tenant is a database: write databases: instead of schemas:, e.g. - discover: { url: \"mysql://app@db-2/\", databases: \"tenant_%\" }."
                )
            }
        case "query":
            kind = fields["query"].flatMap { text($0, "query", example: "query: \"SELECT name, schema FROM tenants\"") }
                .map { .query(sql: $0) }
            if url == nil, fields["url"] == nil {
                fail(
                    inner,
                    "discover with query needs the url of the catalog database, e.g. - discover: { url: \"postgres://app@catalog/app\", query: \"SELECT name, schema FROM tenants\" }."
                )
            }
        case "databases":
            let mysqlExample = "- discover: { url: \"mysql://app@db-2/\", databases: \"tenant_%\" }"
            kind = fields["databases"].flatMap { text($0, "databases", example: "databases: \"tenant_%\"") }.map {
                .databases(pattern: $0)
            }
            if url == nil, fields["url"] == nil {
                fail(inner, "discover with databases needs the url of the MySQL server to read, e.g. \(mysqlExample).")
            }
            if let url, let node = fields["url"], !MySQLURL.hasMySQLScheme(url),
                ConnectionLocation.unknownScheme(in: url) == nil
            {
                fail(
                    node,
                    "discover with databases reads a MySQL or MariaDB server; use a mysql:// or mariadb:// URL (on PostgreSQL, schemas: finds tenant schemas), e.g. \(mysqlExample)."
                )
            }
        default:
            var arguments: [String] = []
            if let node = fields["command"] {
                arguments = list(node, "command", example: "command: [\"./bin/list-tenants\", \"--region\", \"eu\"]")
                    .map(\.text)
                if arguments.isEmpty && errors.count == errorsBefore {
                    fail(
                        node,
                        "command is empty; give the program and its arguments, e.g. command: [\"./bin/list-tenants\"].")
                }
            }
            let timeout = fields["timeout"].flatMap { duration($0, "timeout") } ?? DiscoverySource.defaultTimeout
            kind = .command(arguments: arguments, timeout: timeout)
        }
        if kinds[0] != "command", let node = fields.keyNode("timeout") {
            fail(
                node,
                "timeout applies to a command source only; a \(kinds[0]) source waits connect_timeout and statement_timeout."
            )
        }
        let template = fields["name"].flatMap { text($0, "name", example: "name: \"tenant-{schema}\"") }
        let tags = fields["tags"].map { list($0, "tags", example: "tags: [eu]").map(\.text) } ?? []
        let optional = fields["optional"].flatMap { bool($0, "optional") } ?? false
        let passwordEnv = fields["password_env"].flatMap {
            environmentVariableName($0, "password_env", example: "TENANTS_PASSWORD")
        }
        guard errors.count == errorsBefore, let kind else { return nil }
        return DiscoverySource(
            kind: kind, url: url, passwordEnv: passwordEnv, nameTemplate: template, tags: tags, optional: optional,
            environment: environment, location: location(node), position: position)
    }

    /// One target entry, expanded into one target per value of its brace ranges.
    mutating func target(_ node: Node, environment: String) -> [Target] {
        guard case .mapping(let mapping) = node else {
            fail(
                node,
                "each target is a mapping with a name and a url or service, e.g. - { name: \(environment), url: \"sqlite:\(environment).db\" }."
            )
            return []
        }
        let writtenName = mapping["name"]?.text
        let fields = fields(of: mapping, in: writtenName.map { "target '\($0)'" } ?? "target", known: Self.targetKeys)
        guard let nameNode = fields["name"] else {
            fail(node, "target in environment '\(environment)' needs a name, e.g. name: \(environment)-1.")
            return []
        }
        guard let name = text(nameNode, "name", example: "name: \(environment)-1") else { return [] }

        let errorsBefore = errors.count
        let urlNode = fields["url"]
        let serviceNode = fields["service"]
        var url: String?
        var service: String?
        switch (urlNode, serviceNode) {
        case (nil, nil):
            fail(
                node,
                "target '\(name)' needs url (a PostgreSQL URI or conninfo, a mysql:// URL, or sqlite:PATH) or service (a libpq service name)."
            )
        case (.some, .some):
            let urlKey = fields.keyNode("url")
            let serviceKey = fields.keyNode("service")
            let later = [urlKey, serviceKey].compactMap { $0 }.max { ($0.line, $0.column) < ($1.line, $1.column) }
            if let later { fail(later, "target '\(name)' has both url and service; keep one.") }
        case (let urlNode?, nil):
            url = text(urlNode, "url", example: "url: \"sqlite:\(environment).db\"")
            if let value = url, case .sqlite(path: "") = ConnectionLocation(.url(value)) {
                fail(urlNode, "url \(value) needs a file path, e.g. url: \"sqlite:.tidemark/\(environment).db\".")
                url = nil
            } else if let value = url, case .other(let scheme, _) = ConnectionLocation(.url(value)),
                value.dropFirst(scheme.count).hasPrefix("://")
                    || Suggestion.closest(to: scheme, among: Self.targetSchemes) != nil
            {
                // `postgress://…` or `sqllite:app.db` is a typo, refused here. Another `SCHEME:NAME`
                // may be a backend the embedding program registers (the tests' `memory:`); the
                // backend registry refuses it by name at connect when there is none.
                let separator = value.dropFirst(scheme.count).hasPrefix("://") ? "://" : ":"
                failUnknownScheme(scheme, at: urlNode, known: Self.targetSchemes, separator: separator)
                url = nil
            }
            // A MySQL URL is read by Tidemark's own grammar: its mistakes are found here, at
            // load time (one written with a brace range is checked once expanded, at connect).
            if let value = url, !value.contains("{"), case .mysql = ConnectionLocation(.url(value)) {
                do {
                    _ = try MySQLURL(parsing: value)
                } catch {
                    fail(urlNode, error.sentence(target: name, url: value))
                    url = nil
                }
            }
        case (nil, let serviceNode?):
            service = text(serviceNode, "service", example: "service: billing")
        }
        let schema = fields["schema"].flatMap { text($0, "schema", example: "schema: tenant_42") }
        let tags = fields["tags"].map { list($0, "tags", example: "tags: [eu, primary]").map(\.text) } ?? []
        let passwordEnv = fields["password_env"].flatMap {
            environmentVariableName($0, "password_env", example: "SHARD_PASSWORD")
        }
        // The MySQL client's own option files: read by Connector/C, relative to the inventory.
        var optionFile = fields["option_file"].flatMap { text($0, "option_file", example: "option_file: ~/.my.cnf") }
        let optionGroup = fields["option_group"].flatMap { text($0, "option_group", example: "option_group: tidemark") }
        for key in ["option_file", "option_group"] {
            guard let node = fields.keyNode(key) else { continue }
            if url.map({ !MySQLURL.hasMySQLScheme($0) }) ?? true {
                fail(node, "target '\(name)' sets \(key), which only a mysql:// or mariadb:// target reads; remove it.")
            }
        }
        let replicas = fields["replicas"].map { replicaList($0, target: name, url: url) }
        if let path = optionFile {
            let expandedHome =
                path.hasPrefix("~/") ? (ProcessInfo.processInfo.environment["HOME"] ?? "~") + path.dropFirst(1) : path
            optionFile = PathText.resolve(expandedHome, against: PathText.absolute(PathText.directory(of: file)))
        }
        guard errors.count == errorsBefore, url != nil || service != nil else { return [] }

        // Brace ranges expand in name, url, service and schema together, zipped.
        var expandable: [(node: Node, text: String, ranges: [BraceRange])] = []
        for (fieldNode, value) in [
            (nameNode, name), (urlNode, url), (serviceNode, service), (fields["schema"], schema),
        ] {
            guard let fieldNode, let value else { continue }
            switch BraceRange.ranges(in: value) {
            case .success(let ranges):
                expandable.append((fieldNode, value, ranges))
            case .failure(.expandsToNothing(let written)):
                fail(
                    fieldNode,
                    "range \(written) in target '\(name)' expands to nothing; write ascending numbers, e.g. {001..064}."
                )
                return []
            case .failure(.tooLarge(let written)):
                fail(
                    fieldNode,
                    "range \(written) in target '\(name)' expands to more than \(BraceRange.limit) targets; split it.")
                return []
            }
        }
        let allRanges = expandable.flatMap(\.ranges)
        if let first = allRanges.first {
            for field in expandable {
                if let other = field.ranges.first(where: { $0.count != first.count }) {
                    fail(
                        field.node,
                        "ranges in target '\(name)' have different lengths: \(first.written) expands to \(first.count) but \(other.written) to \(other.count); give every range in one target the same length."
                    )
                    return []
                }
            }
            if expandable[0].ranges.isEmpty && first.count > 1 {
                fail(
                    nameNode,
                    "target '\(name)' has a range \(first.written) but its name has none, so every expanded target would be named '\(name)'; put the range in the name too, e.g. \(name)-\(first.written)."
                )
                return []
            }
        }

        var targets: [Target] = []
        let count = allRanges.first?.count ?? 1
        let before = targetsSoFar
        targetsSoFar += count
        guard targetsSoFar <= InventoryFile.targetLimit else {
            if before <= InventoryFile.targetLimit {
                fail(
                    nameNode,
                    "this inventory expands to more than \(InventoryFile.targetLimit) targets; split the fleet into several inventories."
                )
            }
            return []
        }
        var reportedDuplicate = false
        for index in 0..<count {
            func expanded(_ value: String?, _ fieldNode: Node?) -> String? {
                guard let value else { return nil }
                let ranges = expandable.first { $0.node == fieldNode && $0.text == value }?.ranges ?? []
                return BraceRange.expand(value, ranges: ranges, at: index)
            }
            let targetName = expanded(name, nameNode) ?? name
            // Names become file names (backups), so the rule is checked on each expanded name;
            // one message per entry is enough, as every expansion shares the same text.
            if case .failure(let refused) = TargetName.validated(targetName) {
                fail(nameNode, "\(refused).")
                return []
            }
            if let firstLine = targetLines[targetName] {
                if !reportedDuplicate {
                    fail(
                        nameNode,
                        "duplicate target name '\(targetName)' (first at line \(firstLine)); target names must be unique across the inventory, so rename one."
                    )
                    reportedDuplicate = true
                }
                continue
            }
            targetLines[targetName] = nameNode.line
            let targetSchema = expanded(schema, fields["schema"])
            if let targetSchema, let schemaNode = fields["schema"], let problem = Self.schemaProblem(targetSchema) {
                fail(schemaNode, "schema '\(PrintableText.escaped(targetSchema))' of target '\(targetName)' \(problem)")
                return []
            }
            let connection: Connection
            if let url = expanded(url, urlNode) {
                connection = .url(resolveSQLitePath(in: url))
            } else {
                connection = .service(expanded(service, serviceNode) ?? "")
            }
            targets.append(
                Target(
                    name: targetName, environment: environment, connection: connection,
                    schema: targetSchema, tags: tags, passwordEnv: passwordEnv, optionFile: optionFile,
                    optionGroup: optionGroup))
            targets[targets.count - 1].replicas = replicas
        }
        return targets
    }

    /// `replicas:` of a MySQL target (docs/backfills.md#mysql-and-mariadb): URLs, or mappings
    /// `{ url: …, password_env: … }`; a password is never written here but in the URL's
    /// password_env or the option files.
    mutating func replicaList(_ node: Node, target name: String, url: String?) -> [TargetReplica] {
        let example = "replicas: [\"mysql://tidemark@replica-1/app\"]"
        if url.map({ !MySQLURL.hasMySQLScheme($0) }) ?? true {
            fail(
                node,
                "target '\(name)' sets replicas, which only a mysql:// or mariadb:// target reads (PostgreSQL's replicas are read from pg_stat_replication); remove it."
            )
            return []
        }
        guard case .sequence(let sequence) = node else {
            fail(node, "replicas of target '\(name)' must be a list, e.g. \(example).")
            return []
        }
        var replicas: [TargetReplica] = []
        for item in sequence {
            var replica: TargetReplica?
            if case .mapping(let mapping) = item {
                let fields = fields(of: mapping, in: "a replica of target '\(name)'", known: ["url", "password_env"])
                if let urlNode = fields["url"], let text = text(urlNode, "url", example: example) {
                    replica = TargetReplica(
                        url: text,
                        passwordEnv: fields["password_env"].flatMap {
                            environmentVariableName($0, "password_env", example: "REPLICA_PASSWORD")
                        })
                } else {
                    fail(item, "each replica of target '\(name)' needs a url, e.g. { url: \"mysql://replica-1/app\" }.")
                }
            } else if let text = item.text, !text.isEmpty {
                replica = TargetReplica(url: text)
            } else {
                fail(item, "each replica of target '\(name)' is a URL or { url: …, password_env: … }, e.g. \(example).")
            }
            guard let replica else { continue }
            do {
                let parsed = try MySQLURL(parsing: replica.url)
                if parsed.password?.isEmpty == false {
                    fail(
                        item,
                        "replica \(Redaction.redactConnectionString(replica.url)) of target '\(name)' has a password in its URL; move it to an environment variable named by password_env, or to an option file."
                    )
                    continue
                }
                replicas.append(replica)
            } catch {
                fail(item, error.sentence(target: name, url: replica.url))
            }
        }
        return replicas
    }

    /// PostgreSQL keeps identifiers in NAMEDATALEN (64) bytes, the last one a NUL: a longer name
    /// is cut to 63 bytes (two long names would name one schema), and a NUL cannot be sent at all.
    static let schemaByteLimit = 63

    /// Why `schema` cannot name a PostgreSQL schema (a sentence ending the message), or nil.
    static func schemaProblem(_ schema: String) -> String? {
        if schema.utf8.contains(0) {
            return "holds a NUL byte; PostgreSQL names cannot contain one."
        }
        let bytes = schema.utf8.count
        if bytes > schemaByteLimit {
            return
                "is \(bytes) bytes long; PostgreSQL names are at most \(schemaByteLimit) bytes (NAMEDATALEN 64, less its NUL) and cuts longer ones, so shorten it."
        }
        return nil
    }

    /// A SQLite file path (`sqlite:PATH`, `sqlite://PATH`, `sqlite:///abs`) resolved against the
    /// inventory file's directory and normalised, as `sqlite:/absolute/path`; other URLs
    /// (PostgreSQL, `memory:`, `sqlite::memory:`, `sqlite:file:…`) unchanged.
    func resolveSQLitePath(in url: String) -> String {
        let location = ConnectionLocation(.url(url))
        guard let path = location.sqliteFilePath, !path.hasPrefix("file:") else { return url }
        let base = PathText.absolute(PathText.directory(of: file))
        return ConnectionLocation.sqlite(path: PathText.resolve(path, against: base)).url ?? url
    }

    // MARK: - Order and notifications

    mutating func order(_ node: Node, declared: [String]) -> [String] {
        var order: [String] = []
        for (name, itemNode) in list(node, "order", example: "order: [dev, test, prod]") {
            if order.contains(name) {
                fail(itemNode, "environment '\(name)' is listed twice in order; list it once.")
            } else if !declared.contains(name) {
                fail(
                    itemNode, "unknown environment '\(name)' in order\(Self.environmentHint(name, declared: declared))")
            } else {
                order.append(name)
            }
        }
        return order
    }

    static func environmentHint(_ name: String, declared: [String]) -> String {
        if let close = Suggestion.closest(to: name, among: declared) { return "; did you mean '\(close)'?" }
        if declared.isEmpty { return "; no environment is declared under 'environments'." }
        return "; environments are \(declared.joined(separator: ", "))."
    }

    /// `name@domain` with no space, angle bracket, comma or control character: what goes
    /// between `<` and `>` in SMTP's `MAIL FROM` and `RCPT TO`, so it cannot break out of them.
    static func isMailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        return !text.unicodeScalars.contains {
            $0.value < 0x21 || $0.value == 0x7F || $0 == "<" || $0 == ">" || $0 == ","
        }
    }

    mutating func sinks(_ node: Node, declared: [String]) -> [NotifySink] {
        if node.isNull { return [] }
        guard case .sequence(let sequence) = node else {
            fail(
                node,
                "notify must be a list of sinks, e.g. notify: [ { name: oncall, type: slack, url_env: ONCALL_WEBHOOK_URL } ]."
            )
            return []
        }
        var sinks: [NotifySink] = []
        var nameLines: [String: Int] = [:]
        for item in sequence {
            guard case .mapping(let mapping) = item else {
                fail(
                    item,
                    "each notify sink is a mapping, e.g. - { name: oncall, type: slack, url_env: ONCALL_WEBHOOK_URL }.")
                continue
            }
            let writtenName = mapping["name"]?.text
            let fields = fields(
                of: mapping, in: writtenName.map { "notify sink '\($0)'" } ?? "notify sink", known: Self.notifyKeys)
            guard let nameNode = fields["name"] else {
                fail(item, "notify sink needs a name, e.g. name: oncall.")
                continue
            }
            guard let name = text(nameNode, "name", example: "name: oncall") else { continue }
            if let firstLine = nameLines[name] {
                fail(nameNode, "duplicate notify sink name '\(name)' (first at line \(firstLine)); rename one.")
            } else {
                nameLines[name] = nameNode.line
            }

            var kind: NotifySink.Kind?
            let kinds = NotifySink.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            if let typeNode = fields["type"] {
                if let value = typeNode.text, let parsed = NotifySink.Kind(rawValue: value) {
                    kind = parsed
                } else {
                    fail(typeNode, "unknown notify type\(typeNode.text.map { " '\($0)'" } ?? ""); use one of \(kinds).")
                }
            } else {
                fail(item, "notify sink '\(name)' needs a type: one of \(kinds).")
            }

            var url: String?
            var urlEnv: String?
            var keyEnv: String?
            var serviceURL: String?
            // Each kind's own keys; another kind's key is a mistake worth naming (a pagerduty
            // sink with url_env would otherwise page nobody).
            let ownKeys: [NotifySink.Kind: [String]] = [
                .slack: ["url", "url_env", "secret_env"], .webhook: ["url", "url_env", "secret_env"],
                .teams: ["url", "url_env", "secret_env"],
                .pagerduty: ["routing_key_env", "events_url"], .opsgenie: ["api_key_env", "api_url"],
                .email: ["smtp_url", "from", "to", "username_env", "password_env"],
            ]
            if let kind {
                let allowed = ownKeys[kind] ?? []
                for key in Self.notifyKeys
                where !["name", "type", "on", "environments"].contains(key) && !allowed.contains(key) {
                    if let keyNode = fields.keyNode(key) {
                        fail(
                            keyNode,
                            "notify sink '\(name)' (\(kind.rawValue)) does not take \(key); its keys are \(allowed.joined(separator: ", "))."
                        )
                    }
                }
            }
            var from: String?
            var recipients: [String] = []
            var usernameEnv: String?
            var passwordEnv: String?
            switch kind {
            case .email?:
                if let urlNode = fields["smtp_url"] {
                    serviceURL = text(urlNode, "smtp_url", example: "smtp_url: \"smtp://mail.example.com:587\"")
                    if let value = serviceURL,
                        !["smtp://", "smtps://"].contains(where: { value.lowercased().hasPrefix($0) })
                    {
                        fail(
                            urlNode,
                            "notify sink '\(name)': smtp_url must start with smtp:// (STARTTLS) or smtps:// (TLS), e.g. smtp://mail.example.com:587."
                        )
                    }
                } else {
                    fail(item, "notify sink '\(name)' needs smtp_url, e.g. smtp_url: \"smtp://mail.example.com:587\".")
                }
                if let fromNode = fields["from"] {
                    from = text(fromNode, "from", example: "from: tidemark@example.com")
                    if let address = from, !Self.isMailAddress(address) {
                        fail(
                            fromNode,
                            "notify sink '\(name)': '\(address)' is not a mail address; write it as name@domain.")
                    }
                } else {
                    fail(
                        item, "notify sink '\(name)' needs from, the sender's address, e.g. from: tidemark@example.com."
                    )
                }
                if let toNode = fields["to"] {
                    for (address, node) in list(toNode, "to", example: "to: [oncall@example.com]") {
                        if Self.isMailAddress(address) {
                            recipients.append(address)
                        } else {
                            fail(
                                node,
                                "notify sink '\(name)': '\(address)' is not a mail address; write it as name@domain.")
                        }
                    }
                } else {
                    fail(item, "notify sink '\(name)' needs to, the recipients, e.g. to: [oncall@example.com].")
                }
                usernameEnv = fields["username_env"].flatMap {
                    environmentVariableName($0, "username_env", example: "SMTP_USERNAME")
                }
                passwordEnv = fields["password_env"].flatMap {
                    environmentVariableName($0, "password_env", example: "SMTP_PASSWORD")
                }
                if (fields["username_env"] == nil) != (fields["password_env"] == nil),
                    let node = fields.keyNode(fields["username_env"] == nil ? "password_env" : "username_env")
                {
                    fail(node, "notify sink '\(name)' needs both username_env and password_env to log in, or neither.")
                }
            case .pagerduty?, .opsgenie?:
                let keyName = kind == .pagerduty ? "routing_key_env" : "api_key_env"
                let urlName = kind == .pagerduty ? "events_url" : "api_url"
                if let keyNode = fields[keyName] {
                    keyEnv = environmentVariableName(
                        keyNode, keyName, example: kind == .pagerduty ? "PAGERDUTY_ROUTING_KEY" : "OPSGENIE_API_KEY")
                } else {
                    fail(
                        item,
                        "notify sink '\(name)' needs \(keyName) (the environment variable holding its \(kind == .pagerduty ? "Events API v2 routing key" : "API key"))."
                    )
                }
                if let urlNode = fields[urlName] {
                    serviceURL = text(urlNode, urlName, example: "\(urlName): \"http://127.0.0.1:9000\"")
                }
            default:
                switch (fields["url"], fields["url_env"]) {
                case (nil, nil):
                    if kind != nil {
                        fail(
                            item,
                            "notify sink '\(name)' needs url_env (the environment variable holding the webhook URL) or url."
                        )
                    }
                case (.some, .some):
                    let later = [fields.keyNode("url"), fields.keyNode("url_env")].compactMap { $0 }
                        .max { ($0.line, $0.column) < ($1.line, $1.column) }
                    if let later {
                        fail(
                            later,
                            "notify sink '\(name)' has both url and url_env; keep one (url_env keeps the URL out of the file)."
                        )
                    }
                case (let urlNode?, nil):
                    url = text(urlNode, "url", example: "url: \"http://127.0.0.1:9000/tidemark\"")
                case (nil, let envNode?):
                    urlEnv = environmentVariableName(envNode, "url_env", example: "ONCALL_WEBHOOK_URL")
                }
            }
            let secretEnv = fields["secret_env"].flatMap {
                environmentVariableName($0, "secret_env", example: "HOOK_SECRET")
            }

            var events: [String] = []
            if let onNode = fields["on"] {
                for (event, eventNode) in list(onNode, "on", example: "on: [failed, blocked, finished]") {
                    if Self.events.contains(event) || Self.eventWords.contains(event) {
                        events.append(event)
                    } else {
                        let close = Suggestion.closest(to: event, among: Self.eventWords + Self.events)
                        let hint = close.map { "did you mean '\($0)'? Events" } ?? "events"
                        fail(
                            eventNode,
                            "unknown event '\(event)' in on; \(hint) are \(Self.events.joined(separator: ", ")), or their last word (\(Self.eventWords.joined(separator: ", ")))."
                        )
                    }
                }
            }

            var environments: [String] = []
            if let environmentsNode = fields["environments"] {
                for (environment, environmentNode) in list(
                    environmentsNode, "environments", example: "environments: [prod]")
                {
                    if declared.contains(environment) {
                        environments.append(environment)
                    } else {
                        fail(
                            environmentNode,
                            "notify sink '\(name)' names unknown environment '\(environment)'\(Self.environmentHint(environment, declared: declared))"
                        )
                    }
                }
            }

            if let kind {
                sinks.append(
                    NotifySink(
                        name: name, kind: kind, url: url, urlEnv: urlEnv, secretEnv: secretEnv, on: events,
                        environments: environments, keyEnv: keyEnv, serviceURL: serviceURL, from: from, to: recipients,
                        usernameEnv: usernameEnv, passwordEnv: passwordEnv))
            }
        }
        return sinks
    }
}
