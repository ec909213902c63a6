import Foundation
import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles

/// Reads an inventory's `discover:` sources and merges the targets they give with the listed
/// ones (docs/tenants.md#discovered-targets). Thread-safe value.
///
/// Every source is read, side by side, each on a worker thread (a source blocks in libpq or
/// waits for a command). Any problem in a source that is not `optional` stops the command
/// before anything runs: a fleet is never silently smaller.
package struct TargetDiscovery: Sendable {
    package var registry: BackendRegistry
    package var logger: Logger
    /// The variables a command source runs with (and the PATH it is looked up in).
    package var environment: [String: String]

    package init(
        registry: BackendRegistry, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.registry = registry
        self.logger = logger
        self.environment = environment
    }

    /// The most sources read at once.
    static let parallelSources = 8

    /// `inventory` with every source's targets in the source's place, `discover` emptied and
    /// `discovery` saying what each source gave; unchanged when it has no sources.
    package func resolve(_ inventory: Inventory) async throws(FleetError) -> Inventory {
        let sources = inventory.environments.flatMap(\.discover)
        guard !sources.isEmpty else { return inventory }
        let workers = DispatchWorkers(count: min(sources.count, Self.parallelSources), label: "tidemark-discover")
        let directory = URL(fileURLWithPath: inventory.file).deletingLastPathComponent().standardizedFileURL.path
        let read: [Result<[DiscoveredRow], DiscoveryProblem>] = await withTaskGroup(
            of: (Int, Result<[DiscoveredRow], DiscoveryProblem>).self
        ) { group in
            for (index, source) in sources.enumerated() {
                let timeouts = inventory.environment(named: source.environment)?.timeouts ?? inventory.defaults
                group.addTask { [self] in
                    (index, await workers.run { self.rows(of: source, timeouts: timeouts, directory: directory) })
                }
            }
            var results = [Result<[DiscoveredRow], DiscoveryProblem>](repeating: .success([]), count: sources.count)
            for await (index, result) in group { results[index] = result }
            return results
        }

        var problems: [String] = []
        var counts: [DiscoveryCount] = []
        // Name → who gave it, for the clash message.
        var owners: [String: String] = [:]
        for environment in inventory.environments {
            for target in environment.targets {
                owners[target.name] = "the target listed in environment '\(environment.name)'"
            }
        }
        var discovered: [Int: [Target]] = [:]
        var total = inventory.allTargets.count
        for (index, source) in sources.enumerated() {
            switch read[index] {
            case .failure(let problem):
                if source.optional {
                    logger.warning("\(source.label) gave no targets (it is optional): \(problem.message)")
                    counts.append(DiscoveryCount(source: source, targets: 0, warning: problem.message))
                } else {
                    problems.append("\(source.location): discover (\(source.summary)): \(problem.message)")
                }
            case .success(let rows):
                var targets: [Target] = []
                let problemsBefore = problems.count
                for row in rows {
                    switch target(from: row, source: source) {
                    case .failure(let problem):
                        problems.append(
                            "\(source.location): discover (\(source.summary)), \(row.place): \(problem.message)")
                    case .success(let target):
                        if let owner = owners[target.name] {
                            problems.append(
                                "\(source.location): discover (\(source.summary)), \(row.place): target '\(target.name)' is also \(owner); target names must be unique across the inventory, so rename one (name: \"…{schema}\" on a source sets its names)."
                            )
                        } else {
                            owners[target.name] = "given by \(source.label), \(row.place)"
                            targets.append(target)
                        }
                    }
                    // One source with thousands of bad rows is said in its first few.
                    if problems.count - problemsBefore >= 20 {
                        problems.append(
                            "\(source.location): discover (\(source.summary)): more problems not shown; fix these first."
                        )
                        break
                    }
                }
                total += targets.count
                discovered[index] = targets
                counts.append(DiscoveryCount(source: source, targets: targets.count))
            }
        }
        if total > InventoryFile.targetLimit {
            problems.append(
                "\(inventory.file): the listed and discovered targets come to \(total), more than \(InventoryFile.targetLimit); split the fleet into several inventories (one per server or region)."
            )
        }

        var resolved = inventory
        var sourceIndex = 0
        for (environmentIndex, environment) in inventory.environments.enumerated() {
            var targets: [Target] = []
            var nextListed = 0
            for source in environment.discover {
                while nextListed < min(source.position, environment.targets.count) {
                    targets.append(environment.targets[nextListed])
                    nextListed += 1
                }
                targets += discovered[sourceIndex] ?? []
                sourceIndex += 1
            }
            targets += environment.targets[nextListed...]
            resolved.environments[environmentIndex].targets = targets
            resolved.environments[environmentIndex].discover = []
            if let canary = environment.canary, !environment.discover.isEmpty,
                !targets.contains(where: { $0.name == canary })
            {
                problems.append(
                    "\(inventory.file): canary '\(canary)' of environment '\(environment.name)' is neither listed nor discovered; name one of its targets."
                )
            }
        }
        guard problems.isEmpty else { throw .discovery(problems) }
        resolved.discovery = counts
        return resolved
    }

    // MARK: - Reading a source

    /// The rows one source gives, each with its place (`row 3`, `line 3 of its output`).
    func rows(of source: DiscoverySource, timeouts: Timeouts, directory: String) -> Result<
        [DiscoveredRow], DiscoveryProblem
    > {
        switch source.kind {
        case .command(let arguments, let timeout):
            let output: String
            switch DiscoveryCommand.run(arguments, in: directory, timeout: timeout, environment: environment) {
            case .failure(let problem): return .failure(problem)
            case .success(let text): output = text
            }
            var rows: [DiscoveredRow] = []
            for (offset, line) in output.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
                if text.isEmpty { continue }
                switch DiscoveredRow.parse(text, place: "line \(offset + 1) of its output") {
                case .failure(let problem): return .failure(problem)
                case .success(let row): rows.append(row)
                }
            }
            return .success(rows)
        case .schemas(let pattern):
            return catalog(source) { backend, target in
                try backend.schemas(matching: pattern, on: target, timeouts: timeouts, logger: logger).enumerated().map
                { index, schema in
                    DiscoveredRow(
                        fields: ["schema": schema], tags: [],
                        place: "schema '\(PrintableText.escaped(schema))' (row \(index + 1))")
                }
            }
        case .databases(let pattern):
            return catalog(source, needsDatabase: false) { backend, target in
                try backend.databases(matching: pattern, on: target, timeouts: timeouts, logger: logger).enumerated()
                    .map { index, database in
                        DiscoveredRow(
                            fields: ["database": database, "schema": database], tags: [],
                            place: "database '\(PrintableText.escaped(database))' (row \(index + 1))")
                    }
            }
        case .query(let sql):
            return catalog(source) { backend, target in
                var rows: [DiscoveredRow] = []
                for (index, json) in try backend.rows(of: sql, on: target, timeouts: timeouts, logger: logger)
                    .enumerated()
                {
                    switch DiscoveredRow.parse(json, place: "row \(index + 1)") {
                    case .failure(let problem): throw problem
                    case .success(let row): rows.append(row)
                    }
                }
                return rows
            }
        }
    }

    /// Runs `body` against the source's database, after checking it names one.
    private func catalog(
        _ source: DiscoverySource, needsDatabase: Bool = true,
        _ body: (any DiscoveryCapableBackend, Target) throws -> [DiscoveredRow]
    ) -> Result<[DiscoveredRow], DiscoveryProblem> {
        guard let target = source.catalogTarget else { return .failure(DiscoveryProblem("it needs a url")) }
        let backend: any Backend
        do {
            backend = try registry.backend(for: target)
        } catch {
            return .failure(DiscoveryProblem(error.description))
        }
        guard let reader = backend as? any DiscoveryCapableBackend else {
            return .failure(
                DiscoveryProblem(
                    "a \(target.backendKind.rawValue) database cannot be a discovery source; use a postgres:// or mysql:// URL"
                ))
        }
        guard !needsDatabase || reader.databaseName(of: target) != nil else {
            let example = target.backendKind == .mysql ? "mysql://app@db-2/catalog" : "postgres://app@db-1/app"
            return .failure(
                DiscoveryProblem(
                    "its url \(target.redactedLocation) names no database; name the one to read, e.g. \(example)"))
        }
        do {
            return .success(try body(reader, target))
        } catch let problem as DiscoveryProblem {
            return .failure(problem)
        } catch {
            return .failure(DiscoveryProblem("\(error)"))
        }
    }

    // MARK: - A row into a target

    func target(from row: DiscoveredRow, source: DiscoverySource) -> Result<Target, DiscoveryProblem> {
        let name: String
        if let template = source.nameTemplate {
            switch Self.expand(template, with: row.fields) {
            case .failure(let problem): return .failure(problem)
            case .success(let text): name = text
            }
        } else if let given = row.fields["name"] ?? row.fields["schema"] {
            name = given
        } else {
            return .failure(
                DiscoveryProblem(
                    "the row has no name and no schema; give it a name field, or set name: \"tenant-{id}\" on the source"
                ))
        }
        if case .failure(let refused) = TargetName.validated(name) {
            return .failure(DiscoveryProblem("\(refused)"))
        }
        guard let url = row.fields["url"] ?? source.url else {
            return .failure(
                DiscoveryProblem(
                    "target '\(name)' has no url; print one (\"url\": \"postgres://…\") or set url on the source"))
        }
        if let scheme = ConnectionLocation.unknownScheme(in: url) {
            return .failure(
                DiscoveryProblem(
                    "target '\(name)' has a url with the unknown scheme '\(PrintableText.escaped(scheme))://'; Tidemark reads postgres://, sqlite:PATH and mysql:// URLs"
                ))
        }
        let schema = row.fields["schema"]
        // A MySQL database name is checked when its target connects (64 characters, not 63 bytes).
        let isMySQL = MySQLURL.hasMySQLScheme(url)
        if !isMySQL, let schema, let problem = InventoryFile.schemaProblem(schema) {
            return .failure(
                DiscoveryProblem("schema '\(PrintableText.escaped(schema))' of target '\(name)' \(problem)"))
        }
        var tags = source.tags
        for tag in row.tags where !tags.contains(tag) { tags.append(tag) }
        // A row with its own url is its own server: the source's password_env is the
        // catalog's, so it only goes to targets on the source's own url.
        let passwordEnv = row.fields["url"] == nil ? source.passwordEnv : nil
        return .success(
            Target(
                name: name, environment: source.environment, connection: .url(url), schema: schema, tags: tags,
                passwordEnv: passwordEnv))
    }

    /// `tenant-{schema}` with the row's fields; a field the row lacks is a problem naming the
    /// fields it has.
    static func expand(_ template: String, with fields: [String: String]) -> Result<String, DiscoveryProblem> {
        var result = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                return .failure(
                    DiscoveryProblem("name template '\(PrintableText.escaped(template))' opens { without closing it"))
            }
            let field = String(rest[rest.index(after: open)..<close])
            guard let value = fields[field] else {
                let known = fields.keys.sorted().joined(separator: ", ")
                return .failure(
                    DiscoveryProblem(
                        "name template '\(PrintableText.escaped(template))' uses {\(PrintableText.escaped(field))}, which the row does not have (its fields: \(known.isEmpty ? "none" : known))"
                    ))
            }
            result += value
            rest = rest[rest.index(after: close)...]
        }
        return .success(result + rest)
    }
}

/// Why a discovery source or one of its rows cannot be used: a sentence without the source's
/// name (the caller says which). Thread-safe value.
package struct DiscoveryProblem: Error, Sendable, Hashable {
    package var message: String

    package init(_ message: String) {
        self.message = message
    }
}

/// One row a source gave: its text fields (`name`, `url`, `schema`, or any a template names) and
/// tags. Thread-safe value.
struct DiscoveredRow: Sendable, Hashable {
    var fields: [String: String]
    var tags: [String]
    /// `row 3`, `line 3 of its output`: named in every problem with the row.
    var place: String

    /// One JSON object (a line of a command's output, a query row as `row_to_json` gives it).
    static func parse(_ text: String, place: String) -> Result<DiscoveredRow, DiscoveryProblem> {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            return .failure(
                DiscoveryProblem(
                    "\(place) is not JSON (\(PrintableText.escaped(String(text.prefix(80))))); print one JSON object per line, e.g. {\"name\": \"tenant-1\", \"url\": \"postgres://app@db-1/app\", \"schema\": \"tenant_1\"}"
                ))
        }
        guard let dictionary = object as? [String: Any] else {
            return .failure(
                DiscoveryProblem(
                    "\(place) is JSON but not an object; print one object per line, e.g. {\"name\": \"tenant-1\", \"schema\": \"tenant_1\"}"
                ))
        }
        var fields: [String: String] = [:]
        var tags: [String] = []
        for (key, value) in dictionary {
            if key == "tags" {
                switch Self.tags(value) {
                case .some(let list): tags = list
                case .none:
                    return .failure(DiscoveryProblem("\(place): tags must be a list of text, e.g. \"tags\": [\"eu\"]"))
                }
                continue
            }
            switch value {
            case is NSNull: continue
            case let text as String: fields[key] = text
            case let number as NSNumber:
                fields[key] = number.stringValue
            default:
                if ["name", "url", "schema"].contains(key) {
                    return .failure(DiscoveryProblem("\(place): \(key) must be text"))
                }
            }
        }
        if let name = fields["name"], name.isEmpty {
            return .failure(DiscoveryProblem("\(place) has an empty name"))
        }
        return .success(DiscoveredRow(fields: fields, tags: tags, place: place))
    }

    /// A JSON array of text, a PostgreSQL array's text (`{a,b}`) or comma-separated text; nil
    /// for anything else.
    static func tags(_ value: Any) -> [String]? {
        if value is NSNull { return [] }
        if let list = value as? [Any] {
            let texts = list.compactMap { $0 as? String }
            return texts.count == list.count ? texts : nil
        }
        if let text = value as? String {
            // A MySQL catalog has no arrays: JSON_ARRAY('eu', 'beta') arrives as its text.
            if text.hasPrefix("["), let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] {
                return tags(list)
            }
            let trimmed = text.hasPrefix("{") && text.hasSuffix("}") ? String(text.dropFirst().dropLast()) : text
            return trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return nil
    }
}
