import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkObserve
import TidemarkPlanner

/// Why a fleet use case (status, plan, apply) could not run. Each case renders one sentence
/// naming the file, target or version and the fix; `category` says which exit code it means.
/// Thread-safe value.
package enum FleetError: Error, Sendable, CustomStringConvertible {
    /// The inventory file has problems (each with `file:line:column`).
    case inventory(InventoryProblems)
    /// The plan directory has problems.
    case plan(PlanProblems)
    case unknownEnvironment(String, inventory: String, known: [String])
    case unknownTarget(String, inventory: String, known: [String])
    /// `--partition` that is not I/N with 0 ≤ I < N.
    case partition(String, reason: String)
    /// `--to TEXT` names no version of the plan.
    case desiredVersion(DesiredVersionError)
    /// A saved rollout file that cannot be used.
    case rolloutFile(RolloutFileError)
    /// Some targets changed since the saved rollout was planned; nothing ran.
    case staleRollout(path: String, changes: [String])
    /// Another apply of the same inventory runs on this machine.
    case runLockHeld(RunLock.Held)
    case runLockUnavailable(inventory: String, message: String)
    /// Prod targets would be written and nobody confirmed it.
    case confirmationRequired(prodTargets: [String])
    case notConfirmed
    /// A `TIDEMARK_NOTIFY_*` setting is wrong.
    case notifySettings(String)
    /// `fingerprints.json` is missing from the plan.
    case noFingerprints(planDirectory: String)
    /// `fingerprints.json` cannot be read.
    case fingerprints(PlanError)
    /// A target that had to be read could not be.
    case unreadable(BackendError)
    /// `tidemark report RUN_ID`: no such report, or one that cannot be read.
    case runReport(runID: String, path: String, reason: String)
    /// `tidemark repair --target T` named targets that are not dirty.
    case notDirty(targets: [String], inventory: String)
    /// `repair --auto` needs fingerprints of these versions that `fingerprints.json` lacks.
    case repairNeedsFingerprints(versions: [String], backends: [BackendKind], planDirectory: String)
    /// `adopt --baseline V` names no version of the plan.
    case adoptBaseline(String, planDirectory: String, latest: String?)
    /// `rehearse --from/--to V` names no version of the plan.
    case rehearsalRange(option: String, text: String, plan: String)
    /// The scratch database of a rehearsal could not be made or rebuilt.
    case scratchDatabase(String)
    /// The rehearsal's fingerprints could not be written.
    case recordFingerprints(String)
    /// A backup or restore failed; `locked` when another session held what it needed.
    case backup(String, locked: Bool)
    /// `restore`: the backup file does not exist.
    case noBackupFile(String)
    /// `restore` of a prod target without `--yes`.
    case restoreNeedsConfirmation(target: String)
    /// `tidemark report RUN_ID`: the run has no report of its own here, and its runners' reports
    /// are several (none asked for) or none of them is the runner asked for (`--runner`).
    case runnerReports(runID: String, asked: String?, found: [(runner: String, path: String)])
    /// `TIDEMARK_NOW` (debug builds) is not an ISO 8601 instant.
    case badClock(String)
    /// `--lock-ok V` names no version of the plan.
    case unknownLockOkVersion(String, planDirectory: String, versions: [String])
    /// `max_lag` in a batched script that MySQL targets without `replicas:` would run.
    case maxLagNeedsReplicas([String])
    /// `discover:` sources of the inventory failed or gave targets that cannot be used (each
    /// problem names its source, `file:line:column`, and the row); nothing ran.
    case discovery([String])

    /// Which documented exit code the error means.
    package enum Category: Sendable {
        case invalidInput, locked, failed
    }

    package var category: Category {
        switch self {
        case .runLockHeld: return .locked
        case .backup(_, let locked): return locked ? .locked : .failed
        case .runLockUnavailable, .unreadable, .scratchDatabase, .recordFingerprints: return .failed
        default: return .invalidInput
        }
    }

    package var description: String {
        switch self {
        case .inventory(let problems): return problems.description
        case .plan(let problems): return problems.description
        case .unknownEnvironment(let name, let inventory, let known):
            let hint =
                Suggestion.closest(to: name, among: known).map { "did you mean '\($0)'?" }
                ?? "environments: \(known.joined(separator: ", "))"
            return "\(inventory): no environment named '\(name)'; \(hint)"
        case .unknownTarget(let name, let inventory, let known):
            let hint =
                Suggestion.closest(to: name, among: known).map { "did you mean '\($0)'?" }
                ?? "targets: \(known.prefix(8).joined(separator: ", "))\(known.count > 8 ? ", …" : "")"
            return "\(inventory): no target named '\(name)'; \(hint)"
        case .partition(let text, let reason): return "--partition \(text): \(reason)."
        case .desiredVersion(let error):
            switch error {
            case .unknownVersion(let text, _, _): return "--to \(text): \(error)"
            }
        case .rolloutFile(let error): return error.description
        case .staleRollout(let path, let changes):
            return "\(path): refusing to apply a stale rollout; nothing was run.\n" + changes.joined(separator: "\n")
        case .runLockHeld(let held): return held.description
        case .runLockUnavailable(let inventory, let message):
            return "cannot take the run lock for \(inventory): \(message)"
        case .confirmationRequired(let names):
            return
                "refusing to write to \(names.count) prod target\(names.count == 1 ? "" : "s") (\(TargetNames.compressed(names))) without confirmation: standard input is not a terminal, so pass --yes."
        case .notConfirmed: return "not confirmed; nothing was changed."
        case .notifySettings(let message): return message
        case .noFingerprints(let directory):
            return
                "\(FingerprintFile.path(inPlan: directory)): no recorded fingerprints; run `tidemark rehearse --plan \(directory) --record` first."
        case .fingerprints(let error): return error.description
        case .unreadable(let error): return error.description
        case .runReport(let runID, let path, let reason):
            return
                "\(path): cannot read the report of run \(runID) (\(reason)); `ls \(URL(fileURLWithPath: path).deletingLastPathComponent().path)` lists the runs kept here."
        case .notDirty(let targets, let inventory):
            let names = targets.map { "'\($0)'" }.joined(separator: ", ")
            return
                "\(inventory): \(names) \(targets.count == 1 ? "is" : "are") not dirty; repair only acts on a target whose no-transaction step failed (see `tidemark status -i \(RepairHint.shellWord(inventory))`)."
        case .discovery(let problems):
            return problems.joined(separator: "\n")
                + "\nthe fleet could not be read, so nothing ran; fix the source, or mark it optional: true to go on without it."
        case .adoptBaseline(let text, let directory, let latest):
            let range = latest.map { "its versions end at \($0)" } ?? "it has no versions"
            return
                "--baseline \(text): the plan \(directory) has no version \(text) (\(range)); give the version the untracked targets are at."
        case .rehearsalRange(let option, let text, let plan):
            return "\(option) \(text): plan \(plan) has no version \(text)"
        case .scratchDatabase(let message): return "rehearse: \(message)"
        case .recordFingerprints(let message): return message
        case .backup(let message, _): return message
        case .noBackupFile(let path): return "\(path): no such backup file."
        case .restoreNeedsConfirmation(let target):
            return "refusing to restore prod target \(target) without confirmation: pass --yes."
        case .runnerReports(let runID, let asked, let found):
            let list = found.map { "\(PrintableText.escaped($0.runner)) (\(PrintableText.escaped($0.path)))" }.joined(
                separator: ", ")
            let whole = "or assemble the whole run from the control database with --control URL"
            if let asked {
                return
                    "run \(runID) has no report of runner \(PrintableText.escaped(asked)) here; the runners' reports kept here: \(list); pick one with --runner NAME (or its runner id), \(whole)."
            }
            return
                "run \(runID) has no report of its own here but one from each of \(found.count) runners: \(list); pick one with --runner NAME (or its runner id), \(whole)."
        case .badClock(let text):
            return
                "TIDEMARK_NOW='\(PrintableText.escaped(text))' is not an ISO 8601 instant; write e.g. TIDEMARK_NOW=2026-12-08T03:30:00+01:00, or unset it."
        case .maxLagNeedsReplicas(let problems):
            return problems.joined(separator: "\n")
        case .unknownLockOkVersion(let text, let directory, let versions):
            let known = versions.isEmpty ? "it has no versions" : "its versions: \(versions.joined(separator: ", "))"
            return
                "--lock-ok \(PrintableText.escaped(text)): the plan \(PrintableText.escaped(directory)) has no version \(PrintableText.escaped(text)) (\(known)); give the version whose forward script's lock risk you accept."
        case .repairNeedsFingerprints(let versions, let backends, let directory):
            let plan = RepairHint.shellWord(directory)
            let commands = backends.map { backend in
                backend == .postgres
                    ? "`tidemark rehearse --plan \(plan) --url postgres://SCRATCH_SERVER/DB --record`"
                    : "`tidemark rehearse --plan \(plan) --record`"
            }
            return
                "\(FingerprintFile.path(inPlan: directory)): no recorded \(backends.map(\.rawValue).joined(separator: " and ")) fingerprint for version \(versions.joined(separator: ", ")), so --auto can prove nothing and changed nothing; run \(commands.joined(separator: " and ")) first, or decide by hand with --mark-failed-step."
        }
    }
}
