import Testing
import TidemarkCore
import TidemarkPlanner

/// The wave policy's table: budgets, canaries, limits and the sentences, as both ways of running
/// a rollout (the local executor, the control database) ask it.
@Suite struct WavePolicyTests {
    func inventory(_ environments: [Environment], concurrency: Int = 8) -> Inventory {
        Inventory(
            name: "fleet", file: "inventories/fleet.yaml", planDirectory: "plans/app", concurrency: concurrency,
            environments: environments)
    }

    func environment(_ name: String, _ tier: Tier, maxFailures: Int? = nil, concurrency: Int? = nil) -> Environment {
        Environment(name: name, tier: tier, concurrency: concurrency, maxFailures: maxFailures, targets: [])
    }

    func wave(_ name: String, _ tier: Tier) -> Wave {
        Wave(environment: name, tier: tier, live: false, audit: false, canary: nil, targets: [])
    }

    /// (failures so far, budget) → halted? and the sentence.
    @Test(
        arguments: [
            (1, 0, "wave dev halted after 1 failure (max_failures: 0)"),
            (2, 1, "wave dev halted after 2 failures (max_failures: 1)"),
            (1, 1, nil),
            (3, 3, nil),
            (0, 0, nil),
        ] as [(Int, Int, String?)])
    func aWaveHaltsOnlyWhenItsFailuresExceedItsBudget(failures: Int, budget: Int, halt: String?) {
        let rule = WavePolicy.Rule(environment: "dev", tier: .dev, maxFailures: budget, concurrency: nil)
        #expect(rule.halt(afterFailures: failures) == halt)
    }

    @Test func aWaveWithNoStoredBudgetNeverHaltsOnFailures() {
        let rule = WavePolicy.Rule(environment: "dev", tier: .dev, maxFailures: nil, concurrency: nil)
        #expect(rule.halt(afterFailures: 1_000) == nil)
    }

    @Test func theEnvironmentsBudgetAndLimitAreItsRule() {
        let policy = WavePolicy(
            inventory: inventory([environment("dev", .dev, maxFailures: 3, concurrency: 2), environment("prod", .prod)])
        )
        #expect(
            policy.rule(for: wave("dev", .dev))
                == WavePolicy.Rule(environment: "dev", tier: .dev, maxFailures: 3, concurrency: 2))
        #expect(policy.rule(for: wave("prod", .prod)).maxFailures == 0)
    }

    /// (worker threads, environment's concurrency) → targets in flight at once.
    @Test(arguments: [(8, nil, 8), (8, 2, 2), (2, 8, 2), (1, nil, 1), (0, nil, 1), (4, 0, 1)] as [(Int, Int?, Int)])
    func anEnvironmentsConcurrencyCapsItsWave(workers: Int, concurrency: Int?, limit: Int) {
        let rule = WavePolicy.Rule(environment: "dev", tier: .dev, maxFailures: 0, concurrency: concurrency)
        #expect(rule.limit(workers: workers) == limit)
    }

    @Test func workersComeFromTheRequestElseTheInventoryAndReadsUseTheConcurrency() {
        #expect(WavePolicy.workers(requested: nil, inventory: inventory([], concurrency: 8)) == 8)
        #expect(WavePolicy.workers(requested: 3, inventory: inventory([], concurrency: 8)) == 3)
        #expect(WavePolicy.workers(requested: 0, inventory: inventory([], concurrency: 8)) == 1)
        #expect(WavePolicy.readWorkers(inventory([], concurrency: 64)) == 64)
        #expect(WavePolicy.readWorkers(inventory([], concurrency: 4)) == 4)
    }

    @Test func aFailedCanaryHaltsItsWaveWhateverTheBudget() {
        var progress = WavePolicy.Progress(
            rule: WavePolicy.Rule(environment: "dev", tier: .dev, maxFailures: 10, concurrency: nil))
        #expect(
            progress.record(.failed, target: "dev-1", canary: true)
                == "canary dev-1 of wave dev failed, so the rest of the wave did not start")
        #expect(!progress.startsMore)
        #expect(progress.record(.failed, target: "dev-2", canary: false) == nil, "the halt is said once")
    }

    @Test func aProdWaveStartsNothingMoreOnceItsBudgetIsSpent() {
        var progress = WavePolicy.Progress(
            rule: WavePolicy.Rule(environment: "prod", tier: .prod, maxFailures: 1, concurrency: nil))
        #expect(progress.record(.succeeded, target: "p-1", canary: false) == nil)
        #expect(progress.record(.failed, target: "p-2", canary: false) == nil)
        #expect(progress.startsMore)
        #expect(
            progress.record(.failed, target: "p-3", canary: false)
                == "wave prod halted after 2 failures (max_failures: 1)")
        #expect(!progress.startsMore)
        #expect(progress.failures == 2)
    }

    /// No `max_failures` anywhere: 0 in every environment, prod or not.
    @Test func theDefaultBudgetIsZeroInEveryEnvironment() {
        let policy = WavePolicy(
            inventory: inventory([environment("dev", .dev), environment("test", .test), environment("prod", .prod)]))
        for (name, tier) in [("dev", Tier.dev), ("test", .test), ("prod", .prod)] {
            #expect(policy.rule(for: wave(name, tier)).maxFailures == 0, "\(name)")
        }
        #expect(policy.rule(for: wave("gone", .dev)).maxFailures == 0, "an environment the inventory no longer names")
    }

    /// Over its budget, a non-prod wave finishes its own targets; a prod wave starts none.
    @Test(arguments: [(Tier.dev, true), (.test, true), (.staging, true), (.prod, false)])
    func aHaltedWaveFinishesItsOwnTargetsUnlessItIsProd(tier: Tier, finishes: Bool) {
        var progress = WavePolicy.Progress(
            rule: WavePolicy.Rule(environment: "e", tier: tier, maxFailures: 0, concurrency: nil))
        #expect(
            progress.record(.failed, target: "e-1", canary: false) == "wave e halted after 1 failure (max_failures: 0)")
        #expect(progress.startsMore == finishes)
    }

    /// What `plan` says under each wave.
    @Test(
        arguments: [
            (Tier.dev, 0, false, "a failure in wave e stops the later waves (max_failures 0)"),
            (.test, 2, false, "more than 2 failures in wave e stop the later waves (max_failures 2)"),
            (
                .prod, 0, false,
                "a failure in wave e stops the later waves and its own targets not yet started (max_failures 0)"
            ),
            (.prod, 0, true, "a failure in wave e stops its own targets not yet started (max_failures 0)"),
            (.dev, 0, true, nil),
        ] as [(Tier, Int, Bool, String?)])
    func theSummarySaysWhatAFailureStops(tier: Tier, budget: Int, last: Bool, said: String?) {
        #expect(
            WavePolicy.Rule(environment: "e", tier: tier, maxFailures: budget, concurrency: nil).summary(last: last)
                == said)
    }
}
