import ArgumentParser
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet

/// What `tidemark apply` does beyond choosing targets: confirmation, dry run, backups, workers,
/// the files it writes, the drift gate, verify scripts, change windows.
struct ApplyOptions: ParsableArguments {
    @Flag(help: "Do not ask: confirm writing to prod targets (required when not on a terminal).")
    var yes = false
    @Flag(help: "Show what would run; change nothing.")
    var dryRun = false
    @Flag(help: "Do not back up prod targets before data-losing steps (only a restore undoes those steps).")
    var noBackup = false
    @Option(help: "Fleet-wide worker limit (overrides the inventory's concurrency).")
    var concurrency: Int?
    @Option(name: .customLong("report"), help: "Write the run report here instead of .tidemark/runs/<run-id>.json.")
    var reportPath: String?
    @Option(
        help:
            "At the end, write the run's Prometheus metrics here (atomically, for node_exporter's textfile collector)."
    )
    var metricsFile: String?
    @Option(
        help:
            "Fingerprint each target before touching it: warn reports drift, block leaves a drifted target blocked (overrides drift: in the inventory; off disables it)."
    )
    var drift: DriftPolicy?
    @Flag(
        help:
            "Run each version's verify script (Sqitch's verify/) after its forward step; a failing verify fails the target (the step stays committed)."
    )
    var verify = false
    @Option(
        help:
            "Write even outside change windows and in freezes; the reason, with who gave it, goes into the history rows, the report and the page."
    )
    var overrideWindow: String?
    @Option(
        name: .customLong("approve"),
        help: ArgumentHelp(
            "Approve the wave of ENV (approval: required) in your name, for a run off a terminal (repeatable).",
            valueName: "ENV"))
    var approve: [String] = []

    func validate() throws {
        if let overrideWindow, overrideWindow.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError(
                "--override-window needs a reason: say why this run may write outside its change windows.")
        }
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1.") }
    }

    /// Puts these options into `apply`.
    func configure(_ apply: inout ApplyRequest) {
        apply.dryRun = dryRun
        apply.concurrency = concurrency
        apply.backups = noBackup ? .disabled : BackupPolicy()
        apply.reportPath = reportPath
        apply.metricsPath = metricsFile
        apply.drift = drift
        apply.verify = verify
        apply.windowOverride = overrideWindow
        apply.approve = Set(approve)
        apply.askApproval = ApprovalPrompt.make()
    }
}
