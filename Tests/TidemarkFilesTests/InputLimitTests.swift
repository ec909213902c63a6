import Foundation
import Testing
import TidemarkCore

@testable import TidemarkFiles

/// What one input may cost (docs/reference.md#limits): past each bound, a clean error with its position.
@Suite("Input limits") struct InputLimitTests {
    func inventoryErrors(_ yaml: String) -> [String] {
        do {
            _ = try InventoryFile.parse(yaml: yaml, file: "fleet.yaml")
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func mergesOfMergesStopAtTheMergeLimitInsteadOfMultiplying() {
        // Each level merges the previous one ten times: 10^8 keys without the limit.
        var mappings = ["&m0 {tier: dev}"]
        for level in 1...8 {
            mappings.append(
                "&m\(level) {<<: [" + Array(repeating: "*m\(level - 1)", count: 10).joined(separator: ", ") + "]}")
        }
        let yaml = """
            plan: p
            environments:
              dev:
                targets: [ {name: a, url: "sqlite:a.db"} ]
                <<: [\(mappings.joined(separator: ", "))]

            """
        let clock = ContinuousClock()
        var errors: [String] = []
        let elapsed = clock.measure { errors = inventoryErrors(yaml) }
        #expect(
            errors.contains {
                $0.contains("<< merges in this inventory bring in more than \(InputLimits.mergedKeys) keys")
            })
        #expect(elapsed < .seconds(10))
    }

    @Test func anInventoryOfMoreThanTheTargetLimitIsRefusedOnce() {
        let yaml = """
            plan: p
            environments:
              prod:
                tier: prod
                targets:
                  - { name: "a-{1..60000}", url: "postgres://a-{1..60000}/app" }
                  - { name: "b-{1..60000}", url: "postgres://b-{1..60000}/app" }
                  - { name: "c-{1..60000}", url: "postgres://c-{1..60000}/app" }
            """
        #expect(
            inventoryErrors(yaml) == [
                "fleet.yaml:7:17: this inventory expands to more than 100000 targets; split the fleet into several inventories."
            ])
    }

    @Test func yamlNestedPastLibyamlsLimitIsASyntaxErrorInsideTheFile() {
        // libyaml counts a little more than brackets: 1,012 nested lists pass, 1,013 do not.
        let depth = InputLimits.yamlNesting * 2
        let errors = inventoryErrors(
            "plan: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n")
        #expect(
            errors == [
                "fleet.yaml:1:8: YAML syntax error: Maximum nesting level reached, set with yaml_set_max_nest_level()) (while parsing at line 1, column 8); check the indentation, quoting and brackets here."
            ])
    }

    @Test func yamlNestedToLibyamlsLimitParsesOnTheConcurrencyPool() async {
        // Yams builds the node tree recursively: the deepest document libyaml accepts must fit
        // in a cooperative-pool thread's stack, where commands parse their inputs.
        let depth = InputLimits.yamlNesting + 12
        let yaml = "plan: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
        let errors = await Task.detached { inventoryErrors(yaml) }.value
        #expect(errors.contains { $0.contains("plan must be a single value") })
    }

    @Test func aScriptPastTheSizeLimitIsRefusedUnread() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try Data(repeating: 0x28, count: InputLimits.scriptBytes + 1).write(
            to: URL(fileURLWithPath: directory + "/V1__big.sql"))
        #expect(
            planProblems(at: directory) == [
                "\(directory)/V1__big.sql: cannot read: it is 8388609 bytes; Tidemark reads scripts up to 8 MiB: split it (load bulk data with COPY from a file)."
            ])
    }

    @Test func aPlanYAMLPastItsLimitIsRefusedUnread() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        try TestPaths.write("SELECT 1;\n", to: "V1__a.sql", in: directory)
        try Data(repeating: 0x23, count: 2 * 1024 * 1024).write(to: URL(fileURLWithPath: directory + "/plan.yaml"))
        #expect(
            planProblems(at: directory) == [
                "\(directory)/plan.yaml: cannot read: it is 2 MiB; Tidemark reads plan.yaml and metadata.toml up to 1 MiB: keep settings only in it."
            ])
    }

    @Test func aScriptWithMoreStatementsThanTheLimitNamesTheFirstPastIt() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        let script = String(repeating: "SELECT 1;\n", count: InputLimits.statementsPerScript + 1)
        try TestPaths.write(script, to: "V1__many.sql", in: directory)
        #expect(
            planProblems(at: directory) == [
                "\(directory)/V1__many.sql:100001:1: this script has more than 100000 statements (this is the first past the limit); split it into several versions."
            ])
    }

    @Test func suggestionsSkipWordsTooLongOrTooDifferentInLengthToBeTypos() {
        #expect(Suggestion.closest(to: "concurency", among: ["concurrency", "canary"]) == "concurrency")
        #expect(Suggestion.closest(to: String(repeating: "x", count: 100_000), among: ["concurrency"]) == nil)
        let names = (0..<2_000).map { String(repeating: "n", count: 500) + "\($0)" }
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = Suggestion.closest(to: "prod", among: names) }
        #expect(elapsed < .seconds(1))
    }
}
