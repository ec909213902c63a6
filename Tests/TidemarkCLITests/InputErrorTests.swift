import Foundation
import Testing
import TidemarkTestSupport

/// Every kind of bad input, through the real binary: exit 2 and `file:line:column: message`.
@Suite struct InputErrorTests {
    struct InventoryCase: CustomTestStringConvertible, Sendable {
        var name: String
        /// The inventory after the two header lines (`inventory:` and `plan:`).
        var body: String
        /// The expected first line of standard error, after the file name.
        var message: String
        var testDescription: String { name }
    }

    static let targetA = #"dev: { tier: dev, targets: [ { name: a, url: "sqlite:a.db" } ] }"#

    static let inventoryCases: [InventoryCase] = [
        InventoryCase(
            name: "unknown key", body: "concurency: 4\nenvironments:\n  \(targetA)",
            message: ":3:1: unknown key 'concurency' in inventory; did you mean 'concurrency'?"),
        InventoryCase(
            name: "duplicate target",
            body: "environments:\n  \(targetA)\n  test: { tier: test, targets: [ { name: a, url: \"sqlite:b.db\" } ] }",
            message:
                ":5:42: duplicate target name 'a' (first at line 4); target names must be unique across the inventory, so rename one."
        ),
        InventoryCase(
            name: "empty environment", body: "environments:\n  dev: { tier: dev, targets: [] }",
            message: ":4:30: environment 'dev' has no targets; add targets: [ { name: dev, url: \"sqlite:dev.db\" } ]."),
        InventoryCase(
            name: "bad duration", body: "defaults: { lock_timeout: 5 seconds }\nenvironments:\n  \(targetA)",
            message:
                ":3:27: bad duration '5 seconds' for lock_timeout; write a number and a unit, e.g. 500ms, 5s, 5m, 1h or 1m30s."
        ),
        InventoryCase(
            name: "range that expands to nothing",
            body:
                "environments:\n  dev: { tier: dev, targets: [ { name: \"db-{5..1}\", url: \"sqlite:db-{5..1}.db\" } ] }",
            message:
                ":4:40: range {5..1} in target 'db-{5..1}' expands to nothing; write ascending numbers, e.g. {001..064}."
        ),
        InventoryCase(
            name: "ranges of different lengths",
            body:
                "environments:\n  dev: { tier: dev, targets: [ { name: \"db-{1..3}\", url: \"sqlite:db-{1..4}.db\" } ] }",
            message:
                ":4:58: ranges in target 'db-{1..3}' have different lengths: {1..3} expands to 3 but {1..4} to 4; give every range in one target the same length."
        ),
        InventoryCase(
            name: "unknown tier",
            body: "environments:\n  dev: { tier: development, targets: [ { name: a, url: \"sqlite:a.db\" } ] }",
            message: ":4:16: unknown tier 'development'; use one of dev, test, staging, prod."),
        InventoryCase(
            name: "url and service",
            body:
                "environments:\n  dev: { tier: dev, targets: [ { name: a, url: \"sqlite:a.db\", service: billing } ] }",
            message: ":4:63: target 'a' has both url and service; keep one."),
        InventoryCase(
            name: "canary outside its environment",
            body: "environments:\n  dev: { tier: dev, canary: b, targets: [ { name: a, url: \"sqlite:a.db\" } ] }",
            message: ":4:29: canary 'b' is not a target of environment 'dev'; did you mean 'a'?"),
        InventoryCase(
            name: "order names an unknown environment", body: "order: [dev, prod]\nenvironments:\n  \(targetA)",
            message: ":3:14: unknown environment 'prod' in order; environments are dev."),
        InventoryCase(
            name: "unknown notification event",
            body: "environments:\n  \(targetA)\nnotify:\n  - { name: n, type: webhook, url_env: HOOK, on: [exploded] }",
            message:
                ":6:51: unknown event 'exploded' in on; events are run.started, target.succeeded, target.failed, target.blocked, wave.halted, wave.awaiting_approval, run.finished, step.progress, or their last word (started, succeeded, failed, blocked, halted, awaiting_approval, finished, progress)."
        ),
        InventoryCase(
            name: "YAML syntax error",
            body: "environments:\n  dev: { tier: dev, targets: [ { name: a, url: \"sqlite:a.db\" }\n",
            message:
                ":6:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 4, column 30); check the indentation, quoting and brackets here."
        ),
    ]

    @Test("A bad inventory exits 2 naming file, line and column", arguments: inventoryCases)
    func badInventory(_ testCase: InventoryCase) async throws {
        let directory = try CommandRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml")
        let plan = CommandRunner.repositoryRoot.appendingPathComponent("plans/demo").path
        try "inventory: t\nplan: \(plan)\n\(testCase.body)\n".write(to: file, atomically: true, encoding: .utf8)
        for command in [
            ["validate", "-i", file.path], ["plan", "-i", file.path], ["apply", "-i", file.path, "--yes"],
        ] {
            let result = try await CommandRunner.run(command)
            #expect(result.status == 2, "\(command[0]): \(result)")
            #expect(result.standardError.hasPrefix(file.path + testCase.message), "\(command[0]): \(result)")
        }
    }

    @Test func inventoryWithoutPlanKeyExits2() async throws {
        let directory = try CommandRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("noplan.yaml")
        try "inventory: t\nenvironments:\n  \(Self.targetA)\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try await CommandRunner.run(["validate", "-i", file.path])
        #expect(result.status == 2)
        #expect(
            result.standardError.hasPrefix(
                "\(file.path):1:1: missing key 'plan': the plan directory, relative to this file, e.g. plan: ../plans/demo."
            ), "\(result)")
    }

    /// Plan fixtures (in TidemarkFilesTests) and the first problem `validate` must report for each.
    static let planCases: [(String, String)] = [
        (
            "duplicate-version",
            "/V1.2__first.sql: version 1.2 already has a forward script (V1.02__second.sql); give one of them another version."
        ),
        (
            "mixed-formats",
            ": mixed plan formats: 0002_golang.up.sql is golang-migrate but V1__flyway.sql is flyway; rename the scripts to one format."
        ),
        (
            "undo-without-forward",
            "/U2__b.sql: undo script for version 2 has no forward script; add it or remove the undo."
        ),
        (
            "unparsable-name",
            "/R__views.sql: cannot read a version from this name; expected V<version>__<description>.sql"
        ),
        (
            "unknown-directive",
            "/V1__a.sql:2:6: unknown directive 'tidemark:no-transactoin'; known: no-transaction, compensates <version>, data-loss-ok <reason>, lock-ok <reason>, irreversible <reason>."
        ),
        ("bad-compensates", "/U5__e.sql:1:4: tidemark:compensates belongs in a forward script, not an undo script"),
        ("irreversible-in-forward", "/V1__drop_orders.sql:2:4: tidemark:irreversible belongs in an undo script"),
        (
            "bad-metadata",
            "/2019-02-26-002946_create_users/metadata.toml:2:1: cannot read this line; metadata.toml holds `key = value` lines"
        ),
        (
            "unknown-plan-key",
            "/plan.yaml:5:5: unknown key 'when' in quarantine entry; known keys: version, reason, at."
        ),
        ("bad-directives", "/V1__a.sql:1:4: tidemark:no-transaction takes no arguments; remove 'now'."),
    ]

    @Test("A bad plan exits 2 naming the file", arguments: planCases)
    func badPlan(_ fixture: String, _ message: String) async throws {
        let directory = "Tests/TidemarkFilesTests/Fixtures/plans/errors/\(fixture)"
        let result = try await CommandRunner.run(["validate", "--plan", directory])
        #expect(result.status == 2, "\(result)")
        #expect(result.standardError.hasPrefix(directory + message), "\(result)")
        #expect(result.standardError.contains("problem"), "\(result)")
    }

    @Test func badFlagsExit2WithTheFix() async throws {
        let badStrategy = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml", "--strategy", "sideways"])
        #expect(badStrategy.status == 2, "\(badStrategy)")
        let badVersion = try await CommandRunner.run(["plan", "-i", "inventories/demo.yaml", "--to", "99"])
        #expect(badVersion.status == 2, "\(badVersion)")
        #expect(badVersion.standardError.contains("--to 99: plan demo has no version 99"), "\(badVersion)")
        let badEnvironment = try await CommandRunner.run(["status", "-i", "inventories/demo.yaml", "--env", "prd"])
        #expect(badEnvironment.status == 2, "\(badEnvironment)")
        #expect(
            badEnvironment.standardError.contains("no environment named 'prd'; did you mean 'prod'?"),
            "\(badEnvironment)")
        let missingInventory = try await CommandRunner.run(["status", "-i", "inventories/nope.yaml"])
        #expect(missingInventory.status == 2, "\(missingInventory)")
        #expect(missingInventory.standardError.contains("inventories/nope.yaml"), "\(missingInventory)")
    }
}
