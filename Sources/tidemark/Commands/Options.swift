import ArgumentParser
import Foundation
import Logging
import TidemarkCore
import TidemarkFleet
import TidemarkObserve

/// `-i INVENTORY`: the inventory file most commands act on.
struct InventoryOption: ParsableArguments {
    @Option(name: [.customShort("i"), .customLong("inventory")], help: "The inventory file (inventories/NAME.yaml).")
    var inventory: String

    /// Loads the inventory, or fails with every problem as `file:line:column: message` (exit 2).
    func load() throws(FleetError) -> Inventory {
        try FleetInputs.inventory(at: inventory)
    }

    /// Loads the inventory and reads its `discover:` sources (docs/tenants.md#discovered-targets).
    func loadFleet(logger: Logger) async throws(FleetError) -> Inventory {
        try await FleetInputs.fleet(at: inventory, registry: Backends.standard, logger: logger)
    }
}

/// `--plan DIR | -i INVENTORY`: commands that need only a plan accept either.
struct PlanSourceOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .customLong("inventory")], help: "The inventory file; its `plan:` is used.")
    var inventory: String?

    @Option(name: .customLong("plan"), help: "The plan directory (plans/NAME).")
    var plan: String?

    func validate() throws {
        if inventory == nil && plan == nil {
            throw ValidationError("Say which plan: --plan DIR or -i INVENTORY.")
        }
        if inventory != nil && plan != nil {
            throw ValidationError("Give either --plan DIR or -i INVENTORY, not both.")
        }
    }

    /// Where the plan comes from; `validate()` made sure exactly one was given.
    var source: PlanSource {
        if let inventory { return .inventory(inventory) }
        return .directory(plan ?? "")
    }
}

/// `--env E`… `--target T`…: which targets a fleet command acts on (default: all).
struct SelectionOptions: ParsableArguments {
    @Option(name: .customLong("env"), help: "Only targets of this environment (repeatable).")
    var environments: [String] = []
    @Option(name: .customLong("target"), help: "Only this target (repeatable).")
    var targets: [String] = []

    @Option(
        name: .customLong("partition"),
        help:
            "Only slice I of N of the selected targets (0-based, by a stable hash of each name): N runners given 0/N … N-1/N cover every target once."
    )
    var partition: String?

    func validate() throws {
        if let partition {
            do {
                _ = try Partition(parsing: partition)
            } catch {
                throw ValidationError(error.description)
            }
        }
    }

    /// The selection; `validate()` has checked `--partition`.
    var selection: TargetSelection {
        TargetSelection(
            environments: environments, targets: targets, partition: partition.flatMap { try? Partition(parsing: $0) })
    }

    /// What to say when `--partition` left nothing to do (nil when it did not).
    func emptyPartitionNote(inventory: String, targetsPlanned: Int) -> String? {
        guard targetsPlanned == 0, let partition = selection.partition else { return nil }
        return
            "partition \(partition) holds none of the selected targets of \(inventory) (each target's slice is a stable hash of its name); nothing to do."
    }

    /// Whether any of these options narrows the fleet.
    var isGiven: Bool { !environments.isEmpty || !targets.isEmpty || partition != nil }
}

/// `--to V` and `--strategy S`.
struct PlanningOptions: ParsableArguments {
    @Option(
        name: .customLong("to"),
        help: "The desired version, 0 for no version (default: the latest that is not quarantined).")
    var desiredVersion: String?
    @Option(help: "auto (follow the rules), rollback, or rollforward.")
    var strategy: Strategy = .auto
}

extension Strategy: ExpressibleByArgument {}

/// Logging to standard error; the level comes from `--verbose` or TIDEMARK_LOG_LEVEL.
struct LoggingOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log debug detail (also: TIDEMARK_LOG_LEVEL=debug).")
    var verbose = false

    func makeLogger(label: String = "tidemark") -> Logger {
        Self.logger(label: label, verbose: verbose)
    }

    /// The logger of a command without `--verbose`, or of one with it.
    static func logger(label: String = "tidemark", verbose: Bool) -> Logger {
        let environmentLevel = ProcessInfo.processInfo.environment["TIDEMARK_LOG_LEVEL"].flatMap(
            Logger.Level.init(rawValue:))
        var logger = Logger(label: label) { EscapingLogHandler(label: $0) }
        logger.logLevel = verbose ? .debug : environmentLevel ?? .warning
        return logger
    }
}

extension ApplyRequest.ProductionConfirmation {
    /// `--yes`; otherwise, on a terminal, the inventory's name typed after `doing` and the prod
    /// targets (grouped into brace ranges, or one by one); otherwise a refusal.
    static func fromTerminal(yes: Bool, doing: String, grouped: Bool) -> Self {
        if yes { return .given }
        guard isatty(STDIN_FILENO) == 1 else { return .unavailable }
        return .ask { prodTargets, inventory in
            let count = "\(prodTargets.count) prod target\(prodTargets.count == 1 ? "" : "s")"
            let names = grouped ? TargetNames.compressed(prodTargets) : prodTargets.joined(separator: ", ")
            Terminal.standardOutput.write("\n\(doing) \(count): \(names).")
            Terminal.standardOutput.write("Type the inventory name (\(inventory.name)) to go on: ")
            return readLine()?.trimmingCharacters(in: .whitespaces) == inventory.name
        }
    }
}

/// `--control URL`: the PostgreSQL control database that coordinates many runners
/// (docs/many-runners.md#one-run-across-runners-a-control-database).
struct ControlDatabaseOption: ParsableArguments {
    @Option(
        name: .customLong("control"),
        help: "The PostgreSQL control database (a libpq URL; its password from PGPASSWORD or .pgpass).")
    var control: String?

    var database: ControlDatabase? { control.map { ControlDatabase(url: $0) } }
}

/// `--run-id`, `--serve`, `--lease`: how a runner takes part in a many-runner rollout.
struct RunnerOptions: ParsableArguments {
    @Option(
        name: .customLong("run-id"),
        help: "Join this run (default: the open run for the same inventory, plan, selectors and --to, or a new one).")
    var runID: String?
    @Option(
        name: .customLong("serve"),
        help: "Claim only these targets: an environment, tag:NAME or a target name (repeatable; default: all).")
    var serve: [String] = []
    @Option(
        help:
            "How long a claim holds without renewal (\(DurationText.examples)); a runner that dies loses its targets after it."
    )
    var lease: String = "30s"

    @Option(
        name: .customLong("runner"),
        help:
            "This runner's name in the control database (default: the pod's or host's name, HOSTNAME); its id is NAME/<pid>-<random>."
    )
    var runnerName: String?

    var leaseDuration: Duration? { DurationText.parse(lease).flatMap { $0 > .zero ? $0 : nil } }

    var isGiven: Bool { runID != nil || !serve.isEmpty || lease != "30s" || runnerName != nil }

    func validate() throws {
        if let runnerName, let problem = RunnerName.problem(runnerName) {
            throw ValidationError("--runner \(PrintableText.escaped(runnerName)): \(problem).")
        }
    }
}

extension DriftPolicy: ExpressibleByArgument {}

/// `--lock-ok VERSION --reason TEXT`, repeatable in pairs: a version's lock risk acknowledged for
/// this run, without editing its script (docs/live-production.md#acknowledging-a-lock-risk).
struct LockOkOptions: ParsableArguments {
    @Option(
        name: .customLong("lock-ok"),
        help:
            "Accept the lock risk of this version's forward script on live environments for this run, as `-- tidemark:lock-ok` in the script would (repeatable; each needs a --reason)."
    )
    var versions: [String] = []
    @Option(
        name: .customLong("reason"),
        help:
            "Why the lock is acceptable (one per --lock-ok, in the same order); recorded in the report and the history rows."
    )
    var reasons: [String] = []

    func validate() throws {
        if versions.count > reasons.count {
            let missing = versions[reasons.count...].map { "--lock-ok \($0)" }.joined(separator: ", ")
            throw ValidationError(
                "\(missing) has no --reason: give one after each, e.g. --lock-ok \(versions[reasons.count]) --reason \"orders is written only by the nightly batch\"."
            )
        }
        if reasons.count > versions.count {
            throw ValidationError(
                "--reason without --lock-ok: say which version's lock risk it accepts, e.g. --lock-ok 2 --reason TEXT.")
        }
        if let blank = zip(versions, reasons).first(where: { $0.1.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--lock-ok \(blank.0) has an empty --reason: say why the lock is acceptable.")
        }
    }

    /// The acknowledgements, each as given by `by` (the run's `applied_by`).
    func acknowledgements(by: String) -> [LockAcknowledgement] {
        zip(versions, reasons).map { LockAcknowledgement(version: $0, reason: $1, by: by) }
    }
}
