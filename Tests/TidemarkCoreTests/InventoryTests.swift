import Testing
import TidemarkCore

/// `Inventory` lookups and the values targets and environments derive from what is written.
@Suite struct InventoryTests {
    static func target(_ name: String, _ environment: String, _ url: String = "memory:x") -> Target {
        Target(name: name, environment: environment, connection: .url(url))
    }

    static let inventory = Inventory(
        name: "shop", file: "inventories/shop.yaml", planDirectory: "plans/shop", order: ["prod", "staging", "gone"],
        environments: [
            Environment(name: "dev", tier: .dev, targets: [target("dev-1", "dev")]),
            Environment(
                name: "staging", tier: .staging, targets: [target("stage-1", "staging"), target("stage-2", "staging")]),
            Environment(name: "prod", tier: .prod, targets: [target("prod-1", "prod"), target("prod-2", "prod")]),
            Environment(name: "eu-new", tier: .test, targets: [target("eu-1", "eu-new")]),
        ])

    @Test func targetIsFoundInWhicheverEnvironmentHoldsIt() {
        #expect(Self.inventory.target(named: "dev-1")?.environment == "dev")
        #expect(Self.inventory.target(named: "prod-2")?.environment == "prod")
        #expect(Self.inventory.target(named: "eu-1")?.environment == "eu-new")
        #expect(Self.inventory.target(named: "prod") == nil, "an environment's name is not a target's")
        #expect(Self.inventory.target(named: "PROD-1") == nil, "names are matched exactly")
    }

    @Test func environmentIsFoundByName() {
        #expect(Self.inventory.environment(named: "staging")?.targets.map(\.name) == ["stage-1", "stage-2"])
        #expect(Self.inventory.environment(named: "qa") == nil)
    }

    @Test func allTargetsAreInFileOrder() {
        #expect(Self.inventory.allTargets.map(\.name) == ["dev-1", "stage-1", "stage-2", "prod-1", "prod-2", "eu-1"])
    }

    @Test func wavesFollowTheOrderThenTheRestInFileOrder() {
        // `gone` names no environment and is left out; dev and eu-new were not listed.
        #expect(Self.inventory.waves.map(\.name) == ["prod", "staging", "dev", "eu-new"])
    }

    @Test func withoutAnOrderWavesAreInFileOrder() {
        var inventory = Self.inventory
        inventory.order = []
        #expect(inventory.waves.map(\.name) == ["dev", "staging", "prod", "eu-new"])
    }

    @Test func prodIsLiveUnlessToldOtherwise() {
        #expect(Environment(name: "p", tier: .prod, targets: []).live)
        #expect(!Environment(name: "p", tier: .prod, live: false, targets: []).live)
        #expect(!Environment(name: "s", tier: .staging, targets: []).live)
        #expect(Environment(name: "s", tier: .staging, live: true, targets: []).live)
    }

    @Test func connectionDecidesTheBackend() {
        #expect(Self.target("a", "e", "sqlite:dbs/a.db").backendKind == .sqlite)
        #expect(Self.target("a", "e", "memory:a").backendKind == BackendKind(rawValue: "memory"))
        #expect(Self.target("a", "e", "postgres://db/a").backendKind == .postgres)
        #expect(Self.target("a", "e", "host=db dbname=a").backendKind == .postgres)
        #expect(Target(name: "a", environment: "e", connection: .service("a")).backendKind == .postgres)
    }

    @Test func durationMillisecondsRoundDown() {
        #expect(Duration.seconds(2).milliseconds == 2000)
        #expect(Duration.milliseconds(1500).milliseconds == 1500)
        #expect(Duration.microseconds(1999).milliseconds == 1)
        #expect(Duration.zero.milliseconds == 0)
        #expect(Timeouts.standard.statementTimeout.milliseconds == 300_000)
    }
}
