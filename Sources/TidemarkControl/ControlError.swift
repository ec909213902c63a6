import TidemarkCore
import TidemarkFleet

/// Why a many-runner rollout (docs/many-runners.md#one-run-across-runners-a-control-database) could
/// not start or go on. Each case renders one sentence naming the run, script or control database
/// and the fix; `category` gives the exit code. Thread-safe value.
package enum ControlError: Error, Sendable, CustomStringConvertible {
    /// The control database could not be reached when the runner started: nothing ran.
    case unreachable(BackendError)
    /// The control schema is newer than this binary knows: an older Tidemark must not write it.
    case schemaTooNew(found: Int, known: Int)
    /// The control database failed or went away during the run.
    case lost(BackendError)
    /// This runner's plan differs from the run's: the first script whose checksum differs.
    case planDiffers(runID: String, script: String)
    /// `--run-id` names no run in the control database.
    case unknownRun(String)
    /// `--run-id` names a run of another inventory, plan, selection or version.
    case runMismatch(runID: String, what: String)
    /// No `--control URL` and no `control:` in the inventory.
    case noControlDatabase
    /// The inventory, the plan or the selection is wrong (as for a single-process apply).
    case fleet(FleetError)
    /// What the control database holds cannot be read back (written by a different version).
    case corrupt(runID: String, what: String)
    /// `--approve ENV` given to a run shared through a control database (`control:` in the inventory).
    case approveInSharedRun(environments: [String])

    package var category: FleetError.Category {
        switch self {
        case .unreachable, .schemaTooNew, .planDiffers, .unknownRun, .runMismatch, .noControlDatabase,
            .approveInSharedRun:
            return .invalidInput
        case .lost, .corrupt: return .failed
        case .fleet(let error): return error.category
        }
    }

    package var description: String {
        switch self {
        case .unreachable(let error):
            return
                "cannot reach the control database, so nothing ran: \(error.description) Check --control (or control: in the inventory) and that the server accepts connections."
        case .schemaTooNew(let found, let known):
            return
                "the control database's schema tidemark_control is at version \(found), newer than this Tidemark knows (\(known)); upgrade this runner to the version the other runners use."
        case .lost(let error):
            return
                "lost the control database: \(error.description) This runner claimed nothing more and finished the targets it was running; run the same command again to converge."
        case .planDiffers(let runID, let script):
            return
                "this runner's plan differs from run \(runID)'s: \(script) is not the script the run was planned with; deploy the same plan to every runner (or start a new run with a new --run-id)."
        case .unknownRun(let runID):
            return "no run \(runID) in the control database; `tidemark runs --control <control-url>` lists the runs."
        case .runMismatch(let runID, let what):
            return
                "run \(runID) is a rollout of \(what); give the same inventory, plan, selectors and --to as the runner that started it, or drop --run-id."
        case .noControlDatabase:
            return "no control database: give --control URL or control: { url: … } in the inventory."
        case .fleet(let error):
            return error.description
        case .approveInSharedRun(let environments):
            return
                "--approve \(environments.joined(separator: ", ")): this run is shared through the control database (control: in the inventory), where a wave is approved once for every runner; drop --approve and run `tidemark approve RUN_ID --env ENV --control URL` when the runners wait."
        case .corrupt(let runID, let what):
            return
                "run \(runID) in the control database cannot be read back (\(what)); it was written by a different Tidemark version. Start a new run."
        }
    }
}
