import TidemarkCore

/// How the waves of a rollout run and stop (docs/running.md#waves-and-failure-budgets), the one
/// rule both ways of running a rollout follow: the local executor and the control database's
/// claim and record. Pure values: no clock, no I/O. Thread-safe.
///
/// In each wave the canary runs alone first; a failed canary keeps the rest of its wave from
/// starting and stops the later waves. A wave whose failures exceed its failure budget
/// (`max_failures`, default 0 in every environment) stops the later waves; a prod wave also
/// starts no new target of its own, a non-prod wave finishes its own targets.
package struct WavePolicy: Sendable, Hashable {
    /// The failure budget of an environment that names none: one failed dev target keeps test
    /// and prod from starting.
    package static let defaultMaxFailures = 0

    /// The rule of each wave, by environment.
    package let rules: [String: Rule]

    package init(inventory: Inventory) {
        var rules: [String: Rule] = [:]
        for environment in inventory.environments {
            rules[environment.name] = Rule(
                environment: environment.name, tier: environment.tier,
                maxFailures: environment.maxFailures ?? Self.defaultMaxFailures, concurrency: environment.concurrency,
                approvalRequired: environment.approvalRequired)
        }
        self.rules = rules
    }

    /// The rules as stored (a shared run's, as it was opened).
    package init(rules: [Rule]) {
        self.rules = Dictionary(rules.map { ($0.environment, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The rule of `wave` (an environment the inventory no longer names: the defaults).
    package func rule(for wave: Wave) -> Rule {
        rules[wave.environment]
            ?? Rule(
                environment: wave.environment, tier: wave.tier, maxFailures: Self.defaultMaxFailures, concurrency: nil)
    }

    /// Worker threads for a run: `--concurrency N`, else the inventory's `concurrency`; at least one.
    package static func workers(requested: Int?, inventory: Inventory) -> Int {
        max(1, requested ?? inventory.concurrency)
    }

    /// Worker threads that read or check every selected target (no step runs on them): the
    /// concurrency, as for writes. What one server gets at once is `per_server`'s to cap
    /// (docs/tenants.md#shared-sessions-per-server), not a fixed number of readers.
    package static func readWorkers(_ inventory: Inventory) -> Int {
        max(inventory.concurrency, 1)
    }

    /// One wave's rule. Thread-safe value.
    package struct Rule: Sendable, Hashable {
        package var environment: String
        package var tier: Tier
        /// Failures the wave may have and still let later waves run; nil: no budget at all (a
        /// shared run opened by a Tidemark that stored none for non-prod environments).
        package var maxFailures: Int?
        /// The environment's own limit on targets in flight, across every runner of a run; nil:
        /// only the fleet-wide limit.
        package var concurrency: Int?
        /// `approval: required`: the wave starts only once a person approves it
        /// (docs/on-call.md#approvals).
        package var approvalRequired: Bool

        package init(
            environment: String, tier: Tier, maxFailures: Int?, concurrency: Int?, approvalRequired: Bool = false
        ) {
            self.environment = environment
            self.tier = tier
            self.maxFailures = maxFailures
            self.concurrency = concurrency
            self.approvalRequired = approvalRequired
        }

        /// Targets of this wave in flight at once with `workers` worker threads.
        package func limit(workers: Int) -> Int {
            min(max(1, workers), max(1, concurrency ?? workers))
        }

        /// Whether the wave still starts its own remaining targets once its budget is spent: a
        /// non-prod wave finishes them (they tell how far the failure reaches), a prod wave does not.
        package var finishesOwnTargetsAfterHalt: Bool { tier != .prod }

        /// Whether the wave still starts its own targets after the halt just decided (`canary`:
        /// its canary failed, which stops the rest of the wave whatever the tier).
        package func continues(afterHaltByCanary canary: Bool) -> Bool { finishesOwnTargetsAfterHalt && !canary }

        /// Why the wave halts after `failures` failures; nil while they are within its budget.
        package func halt(afterFailures failures: Int) -> String? {
            guard let maxFailures, failures > maxFailures else { return nil }
            return
                "wave \(environment) halted after \(failures) failure\(failures == 1 ? "" : "s") (max_failures: \(maxFailures))"
        }

        /// Why the wave halts when its canary fails, whatever the budget: the canary exists to
        /// stop the rest.
        package func canaryHalt(_ canary: String) -> String {
            "canary \(canary) of wave \(environment) failed, so the rest of the wave did not start"
        }

        /// What a failure in this wave does, said before the run (`plan`, `apply`); nil when it
        /// stops nothing (a non-prod wave with no wave after it). `last`: no wave follows.
        package func summary(last: Bool) -> String? {
            guard let maxFailures else {
                return
                    "failures in wave \(environment) stop nothing (a run opened by an older Tidemark: no max_failures stored)"
            }
            let stopped: String
            switch (finishesOwnTargetsAfterHalt, last) {
            case (true, true): return nil
            case (true, false): stopped = "the later waves"
            case (false, true): stopped = "its own targets not yet started"
            case (false, false): stopped = "the later waves and its own targets not yet started"
            }
            let failures =
                maxFailures == 0
                ? "a failure in wave \(environment) stops"
                : "more than \(maxFailures) failures in wave \(environment) stop"
            return "\(failures) \(stopped) (max_failures \(maxFailures))"
        }
    }

    /// A wave in progress: counts its failures and says when it halts, and whether it may start
    /// another target. Both ways of running a wave keep one (the control database keeps the
    /// count in its rows and asks `rule`). Pure value.
    package struct Progress: Sendable, Hashable {
        package let rule: Rule
        package private(set) var failures = 0
        /// Why the wave halted; nil while it has not.
        package private(set) var haltReason: String?
        private var canaryFailed = false

        package init(rule: Rule) {
            self.rule = rule
        }

        /// Records a finished target (`canary`: it is the wave's canary); returns the halt reason
        /// when this outcome caused the halt.
        package mutating func record(_ outcome: Outcome, target: String, canary: Bool) -> String? {
            guard outcome == .failed else { return nil }
            failures += 1
            guard haltReason == nil else { return nil }
            canaryFailed = canary
            haltReason = canary ? rule.canaryHalt(target) : rule.halt(afterFailures: failures)
            return haltReason
        }

        /// Whether the wave may start another of its targets.
        package var startsMore: Bool {
            haltReason == nil || rule.continues(afterHaltByCanary: canaryFailed)
        }
    }
}
