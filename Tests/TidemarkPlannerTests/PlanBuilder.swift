import Foundation
import TidemarkCore

/// Builds plans, fleets and histories for planner tests without touching files.
enum PlanBuilder {
    static func migration(
        _ version: Int, _ name: String = "", forward: String? = nil, undo: String?? = .some(nil),
        compensates: Int? = nil,
        irreversible: String? = nil
    ) -> Migration {
        let forwardSQL = forward ?? "CREATE TABLE t\(version) (id int);"
        let undoSQL: String? =
            switch undo {
            case .none: nil
            case .some(.none): "DROP TABLE t\(version);"
            case .some(.some(let text)): text
            }
        return Migration(
            version: Version(numeric: String(version)) ?? Version(numeric: "0")!,
            description: name.isEmpty ? "v\(version)" : name,
            forward: Script(
                path: "V\(version)__x.sql", sql: forwardSQL,
                checksum: "sum-\(version)-\(forwardSQL.hashValue & 0xffff)",
                compensates: compensates.flatMap { Version(numeric: String($0)) }),
            undo: undoSQL.map {
                Script(path: "U\(version)__x.sql", sql: $0, checksum: "undo-\(version)", irreversible: irreversible)
            })
    }

    static func plan(_ migrations: [Migration], quarantine: [Int] = []) -> Plan {
        Plan(
            name: "test", directory: "plans/test", format: .flyway, migrations: migrations,
            quarantine: quarantine.map {
                QuarantineEntry(version: v($0), reason: "bad \($0)", at: "2026-11-24T00:00:00Z")
            })
    }

    static func v(_ number: Int) -> Version { Version(numeric: String(number)) ?? Version(numeric: "0")! }

    /// The demo fleet's shape: dev, test, a prod in its downtime window, live prod, an audited env.
    static func inventory(extraEnvironments: [Environment] = []) -> Inventory {
        func target(_ name: String, _ environment: String) -> Target {
            Target(name: name, environment: environment, connection: .url("memory:\(name)"))
        }
        let environments =
            [
                Environment(name: "dev", tier: .dev, targets: [target("dev", "dev")]),
                Environment(name: "test", tier: .test, targets: [target("test", "test")]),
                Environment(
                    name: "prod-maintenance", tier: .prod, live: false,
                    targets: [target("prod-ap-1", "prod-maintenance")]),
                Environment(
                    name: "prod", tier: .prod, live: true, canary: "prod-eu-1",
                    targets: [target("prod-eu-1", "prod"), target("prod-shard-1", "prod")]),
                Environment(name: "compliance", tier: .test, audit: true, targets: [target("audit-1", "compliance")]),
            ] + extraEnvironments
        return Inventory(
            name: "test", file: "inventories/test.yaml", planDirectory: "plans/test",
            order: ["dev", "test", "prod-maintenance", "prod"], environments: environments)
    }

    /// History rows that applied `versions` forward, in order, from `plan`.
    static func history(_ plan: Plan, applied versions: [Int], kinds: [Int: StepKind] = [:]) -> TargetState {
        var state = TargetState()
        for (index, number) in versions.enumerated() {
            guard let migration = plan.migration(v(number)) else { continue }
            let kind = kinds[number] ?? .forward
            state.apply(
                HistoryEntry(
                    id: Int64(index + 1), version: migration.version.text, description: migration.description,
                    kind: kind,
                    script: migration.forward.path, checksum: migration.forward.checksum, runID: "r", appliedBy: "t",
                    startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 0),
                    executionMS: 1,
                    success: true, transactional: true))
        }
        return state
    }
}
