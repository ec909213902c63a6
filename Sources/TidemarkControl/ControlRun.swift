import Foundation
import TidemarkCore
import TidemarkPostgres

/// A run as the control database holds it. Thread-safe value.
package struct ControlRun: Sendable, Hashable {
    package var runID: String
    /// The digest of inventory, plan, selectors, version and strategy: runners with the same key join one run.
    package var key: String
    package var inventory: String
    package var plan: String
    package var selection: String
    package var desiredVersion: String?
    package var strategy: Strategy
    /// Every script of the plan the run was planned with: path → checksum.
    package var scripts: [String: String]
    package var state: String
    /// Why later waves do not start (a failure some runner saw); nil: not halted.
    package var halted: String?
    package var stopRequested: Bool
    package var createdBy: String
    package var createdAt: Date

    static let columns =
        "run_id, run_key, inventory, plan, selection, desired_version, strategy, scripts::text, state, halted, stop_requested, created_by, extract(epoch from created_at)::float8"

    init?(row: [String?]) {
        guard row.count >= 13, let runID = row[0], let key = row[1], let inventory = row[2], let plan = row[3],
            let selection = row[4],
            let strategy = row[6].flatMap(Strategy.init(rawValue:)), let state = row[8]
        else { return nil }
        self.runID = runID
        self.key = key
        self.inventory = inventory
        self.plan = plan
        self.selection = selection
        self.desiredVersion = row[5]
        self.strategy = strategy
        self.scripts = ControlStore.decode([String: String].self, row[7]) ?? [:]
        self.state = state
        self.halted = row[9]
        self.stopRequested = row[10] == "t"
        self.createdBy = row[11] ?? ""
        self.createdAt = Date(timeIntervalSince1970: row[12].flatMap(Double.init) ?? 0)
    }

    package init(
        runID: String, key: String, inventory: String, plan: String, selection: String, desiredVersion: String?,
        strategy: Strategy,
        scripts: [String: String], createdBy: String
    ) {
        self.runID = runID
        self.key = key
        self.inventory = inventory
        self.plan = plan
        self.selection = selection
        self.desiredVersion = desiredVersion
        self.strategy = strategy
        self.scripts = scripts
        self.state = "running"
        self.halted = nil
        self.stopRequested = false
        self.createdBy = createdBy
        self.createdAt = Date()
    }

    /// The first script (in path order) whose checksum differs between the run's plan and `scripts`,
    /// or that only one of them has; nil when the plans are the same.
    package func firstDifferingScript(from scripts: [String: String]) -> String? {
        let paths = Set(self.scripts.keys).union(scripts.keys).sorted()
        return paths.first { self.scripts[$0] != scripts[$0] }
    }
}

/// One target of a run, as a runner claimed it. Thread-safe value.
package struct Claim: Sendable, Hashable {
    package var plan: TargetPlan
    /// The runner that held it before (its lease ran out): the target's real state must be read again.
    package var previousRunner: String?
    /// How many times it has been claimed, this claim included.
    package var claims: Int
    /// Planned from an empty state because its creator could not read it.
    package var mustReadState = false
    /// Its wave's index in the run (a claimed batch is all of one wave).
    package var wave = 0

    /// Whether the target's real state must be read and the target planned again before it runs:
    /// claimed before (a runner died or was interrupted with it), or never read.
    package var needsFreshState: Bool { claims > 1 || mustReadState }
}

/// What a runner learns of its run with each outcome it records: whether a buffered target may
/// still start (docs/tenants.md#batched-claims). Thread-safe value.
package struct RunState: Sendable, Hashable {
    package var halted: String?
    /// After a halt, the wave that still finishes its own targets.
    package var finishingWave: Int?
    package var stopRequested = false

    /// Whether a claimed target of `wave` may still start.
    package func allows(wave: Int) -> Bool {
        !stopRequested && (halted == nil || finishingWave == wave)
    }
}

/// Where a run stands, for a runner deciding whether to wait, stop or leave. Thread-safe value.
package struct RunProgress: Sendable, Hashable {
    package var halted: String?
    package var stopRequested: Bool
    /// Some target this runner serves is not done yet.
    package var servesOpen: Bool
}

/// One row of `tidemark runs`. Thread-safe value.
package struct RunSummary: Sendable, Hashable, Codable {
    package var runID: String
    package var inventory: String
    package var plan: String
    package var desiredVersion: String?
    package var state: String
    package var halted: String?
    package var stopRequested: Bool
    /// Targets per state (`pending`, `claimed`) and, for done ones, per outcome.
    package var counts: [String: Int]
    package var runners: [String]
    package var createdAt: Date
    package var lastHeartbeat: Date?
    /// Runners alive now: not left, heartbeat within their lease. A running run with none
    /// waits until a runner joins or `tidemark stop` ends it.
    package var liveRunners: Int
}

/// Why the lowest open wave of a run does not move, as a waiting runner sees it: its targets
/// nobody holds (pending, or claimed under a lease that ran out) and the runners alive now with
/// what they serve. Thread-safe value.
package struct WaveWait: Sendable, Hashable {
    /// A target of the wave nobody holds.
    package struct Unheld: Sendable, Hashable {
        package var target: String
        package var environment: String
        /// The runner that held it last, when its lease ran out (it died or lost the control database).
        package var lastRunner: String?
        /// How long ago that lease ran out.
        package var leaseEndedSecondsAgo: Double?

        package init(
            target: String, environment: String, lastRunner: String? = nil, leaseEndedSecondsAgo: Double? = nil
        ) {
            self.target = target
            self.environment = environment
            self.lastRunner = lastRunner
            self.leaseEndedSecondsAgo = leaseEndedSecondsAgo
        }
    }

    /// A runner that renewed its heartbeat lately and has not left, with its `--serve`
    /// selectors (empty: it serves every target).
    package struct LiveRunner: Sendable, Hashable {
        package var runner: String
        package var selectors: [String]

        package init(runner: String, selectors: [String]) {
            self.runner = runner
            self.selectors = selectors
        }
    }

    /// The lowest wave not done, 0-based.
    package var wave: Int
    package var unheld: [Unheld]
    package var live: [LiveRunner]

    package init(wave: Int, unheld: [Unheld], live: [LiveRunner]) {
        self.wave = wave
        self.unheld = unheld
        self.live = live
    }

    /// The unheld targets no live runner may claim: nothing will move them until a runner that
    /// serves them starts or the run is stopped.
    package func unserved(in fleet: FleetIndex) -> [Unheld] {
        unheld.filter { target in
            !live.contains { ServeSelector.serves($0.selectors, target: fleet.targets[target.target]) }
        }
    }

    /// The warning a waiting runner prints: which targets, who held them, and the two ways on.
    package static func notice(runID: String, wave: Int, unserved: [Unheld]) -> String {
        var environments: [String] = []
        for target in unserved where !environments.contains(target.environment) {
            environments.append(target.environment)
        }
        let shown = unserved.prefix(5).map(\.target).joined(separator: ", ")
        let more = unserved.count > 5 ? " and \(unserved.count - 5) more" : ""
        let count = unserved.count == 1 ? "1 target" : "\(unserved.count) targets"
        var text =
            "run \(runID) waits on wave \(wave + 1) (\(environments.joined(separator: ", "))): \(count) no live runner serves: \(shown)\(more)"
        if let dead = unserved.first(where: { $0.lastRunner != nil }), let runner = dead.lastRunner {
            let ago = dead.leaseEndedSecondsAgo.map { " \(Self.elapsed($0)) ago" } ?? ""
            text += " (\(dead.target) was held by runner \(runner), whose lease ran out\(ago))"
        }
        let serve = environments.map { "--serve \($0)" }.joined(separator: " ")
        return text + ". Start a runner that serves them (\(serve)), or end the run: tidemark stop \(runID) --control …"
    }

    static func elapsed(_ seconds: Double) -> String {
        let whole = max(0, Int(seconds.rounded()))
        return whole < 120 ? "\(whole) s" : "\(whole / 60) min"
    }
}

/// What `tidemark runs --prune` deleted, and how many runs are left. Thread-safe value.
package struct PruneSummary: Sendable, Hashable, Codable {
    package var runs: Int
    package var targets: Int
    package var events: Int
    /// Runs left in the control database.
    package var kept: Int

    package init(runs: Int, targets: Int, events: Int, kept: Int) {
        self.runs = runs
        self.targets = targets
        self.events = events
        self.kept = kept
    }
}
