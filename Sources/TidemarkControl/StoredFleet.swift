import Foundation
import TidemarkCore

/// The fleet a shared run's first runner read from its inventory's `discover:` sources, as the
/// control database stores it (docs/tenants.md#a-shared-run-stores-its-fleet): the targets of
/// every environment that has a source, in the order the runner read them, each with its
/// connection string stripped of any password (the names of `password_env` variables stay), its
/// schema and its tags; and what each source gave. A runner that joins the run takes this list
/// instead of reading the sources again, so a tenant created (or dropped) between two runners
/// joining cannot split the run. Thread-safe value.
package struct StoredFleet: Sendable, Hashable, Codable {
    package struct EnvironmentTargets: Sendable, Hashable, Codable {
        package var environment: String
        package var targets: [Target]
    }

    package var environments: [EnvironmentTargets]
    package var counts: [DiscoveryCount]

    /// What `resolved` (an inventory with its sources read) holds for the environments that
    /// `listed` (the same inventory as written) discovers targets in; nil when it has no source.
    package init?(resolved: Inventory, listed: Inventory) {
        let discovering = Set(listed.environments.filter { !$0.discover.isEmpty }.map(\.name))
        guard !discovering.isEmpty else { return nil }
        environments = resolved.environments.filter { discovering.contains($0.name) }.map { environment in
            EnvironmentTargets(
                environment: environment.name, targets: environment.targets.map(Self.withoutPassword))
        }
        counts = resolved.discovery
    }

    /// `listed` (the inventory as written, sources unread) with the stored targets in place of
    /// its sources' environments' targets. A stored target the file lists itself is taken from
    /// the file, whole (its connection string as written).
    package func applied(to listed: Inventory) -> Inventory {
        var inventory = listed
        let stored = Dictionary(
            environments.map { ($0.environment, $0.targets) }, uniquingKeysWith: { first, _ in first })
        for index in inventory.environments.indices where !inventory.environments[index].discover.isEmpty {
            let environment = inventory.environments[index]
            let own = Dictionary(environment.targets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            inventory.environments[index].targets = (stored[environment.name] ?? environment.targets).map {
                own[$0.name] ?? $0
            }
            inventory.environments[index].discover = []
        }
        inventory.discovery = counts
        return inventory
    }

    /// `target` with any password removed from its connection string: a URI's `user:password@`
    /// becomes `user@`, a `password=…` keyword goes.
    static func withoutPassword(_ target: Target) -> Target {
        guard case .url(let url) = target.connection else { return target }
        var stripped = target
        stripped.connection = .url(withoutPassword(url))
        return stripped
    }

    static func withoutPassword(_ url: String) -> String {
        guard Redaction.redactConnectionString(url) != url else { return url }
        var text = url
        if let schemeEnd = text.range(of: "://"),
            let password = Redaction.uriPassword(in: text[schemeEnd.upperBound...]),
            let at = text.range(of: ":" + password + "@", range: schemeEnd.upperBound..<text.endIndex)
        {
            text.replaceSubrange(at, with: "@")
        }
        if let keyword = try? NSRegularExpression(
            pattern: #"(?i)\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*)[&]?"#)
        {
            text = keyword.stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
        }
        // Whatever Redaction still finds would be a password: never store it.
        return Redaction.redactConnectionString(text)
    }
}

extension ControlStore {
    /// Stores the fleet the run was created from.
    package func storeFleet(_ fleet: StoredFleet, runID: String) throws(ControlError) {
        try with { session throws(BackendError) in
            try session.query(
                "UPDATE tidemark_control.runs SET fleet = $2::jsonb WHERE run_id = $1",
                [runID, ControlStore.json(fleet)])
        }
    }

    /// The fleet stored for `runID`; nil when its creator stored none (no sources, or a Tidemark
    /// from before control schema version 6).
    package func storedFleet(_ runID: String) throws(ControlError) -> StoredFleet? {
        let text = try with { session throws(BackendError) in
            try session.query("SELECT fleet::text FROM tidemark_control.runs WHERE run_id = $1", [runID]).first?.first
                ?? nil
        }
        guard let text else { return nil }
        guard let fleet = ControlStore.decode(StoredFleet.self, text) else {
            throw .corrupt(runID: runID, what: "the run's stored fleet")
        }
        return fleet
    }
}
