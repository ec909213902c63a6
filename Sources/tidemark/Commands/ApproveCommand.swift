import ArgumentParser
import Foundation
import TidemarkControl
import TidemarkCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The options `approve` and `reject` share.
struct ApprovalOptions: ParsableArguments {
    @Argument(help: "The run id (tidemark runs lists them; the waiting runners print it).")
    var runID: String
    @Option(name: .customLong("env"), help: "The environment whose wave waits for approval.")
    var environment: String
    @Option(help: "Why, in a sentence, for the report and the sinks.")
    var note: String?
    @Option(
        name: .customLong("as"),
        help: "The name to record beside the operating-system user (a person acting for a team, say).")
    var asName: String?
    @OptionGroup var controlDatabase: ControlDatabaseOption
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if controlDatabase.control == nil { throw ValidationError("Say which control database: --control URL.") }
    }

    /// The operating-system user running the command, from the password database (not `$USER`,
    /// which anyone can set).
    static var osUser: String {
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "uid \(getuid())"
    }

    /// Records the decision and prints it; exit 2 when the run or the wave does not wait for one.
    func decide(_ verdict: ApprovalDecision.Verdict) throws {
        let store = try ControlCommand.open(controlDatabase, logging: logging)
        let inventory: String
        do {
            guard let run = try store.run(runID) else {
                throw CommandFailure(
                    .invalidInput,
                    "no run \(runID) in the control database; `tidemark runs --control <control-url>` lists the runs.")
            }
            inventory = run.inventory
        } catch let error as ControlError {
            throw CommandFailure(ExitStatus(error.category), error.description)
        }
        let decision = ApprovalDecision(
            runID: runID, environment: environment, verdict: verdict, osUser: Self.osUser, asName: asName, note: note)
        let result: Result<ApprovalDecision, ApprovalRefusal>
        do { result = try store.decide(decision, inventory: inventory) } catch {
            throw CommandFailure(ExitStatus(error.category), error.description)
        }
        switch result {
        case .success(let stored):
            let note = stored.note.map { ": \($0)" } ?? ""
            if verdict == .approved {
                Terminal.standardOutput.write(
                    "run \(runID): wave \(environment) approved by \(stored.who)\(note); its runners start it now.")
            } else {
                Terminal.standardOutput.write(
                    "run \(runID): wave \(environment) rejected by \(stored.who)\(note); no target of it or a later wave starts, and its runners end."
                )
            }
        case .failure(.noSuchRun):
            throw CommandFailure(
                .invalidInput, "run \(runID) is not running; `tidemark runs --control <control-url>` lists the runs.")
        case .failure(.notAwaitingApproval(let gated)):
            let which =
                gated.isEmpty
                ? "no wave of it waits for approval"
                : "the waves that wait for approval are \(gated.joined(separator: ", "))"
            throw CommandFailure(
                .invalidInput, "run \(runID): environment \(environment) does not wait for approval; \(which).")
        case .failure(.alreadyDecided(let earlier)):
            throw CommandFailure(
                .invalidInput,
                "run \(runID): wave \(environment) was already \(earlier.verdict.rawValue) by \(earlier.who); a decision is final."
            )
        }
    }
}

extension Tidemark {
    /// `tidemark approve RUN_ID --env ENV --control URL [--note TEXT] [--as NAME]`.
    struct ApproveCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "approve",
            abstract: "Let a wave that waits for approval start (an environment with approval: required).",
            discussion:
                "Records the operating-system user, --as NAME if given and the control database's session_user; every runner of the run starts the wave."
        )

        @OptionGroup var options: ApprovalOptions

        func run() throws { try options.decide(.approved) }
    }

    /// `tidemark reject RUN_ID --env ENV --control URL [--note TEXT] [--as NAME]`.
    struct RejectCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reject",
            abstract: "Halt a run at a wave that waits for approval: neither it nor a later wave starts.")

        @OptionGroup var options: ApprovalOptions

        func run() throws { try options.decide(.rejected) }
    }
}
