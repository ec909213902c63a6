import ArgumentParser
import Foundation
import TidemarkFleet

@main
struct Tidemark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tidemark",
        abstract: "Roll database schema changes forward and back across a fleet.",
        discussion: """
            Exit codes: 0 every selected target reached its desired state; 1 a target failed; \
            2 invalid input or usage; 3 some targets are blocked; 4 another run holds a lock; \
            130 interrupted.
            """,
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, StatusCommand.self, PlanCommand.self, ApplyCommand.self, QuarantineCommand.self,
            RevertCommand.self, HistoryCommand.self, NotifyCommand.self, RehearseCommand.self, BackupCommand.self,
            RestoreCommand.self, ReportCommand.self, RepairCommand.self, AdoptCommand.self, LintCommand.self,
            RunsCommand.self,
            StopCommand.self, ApproveCommand.self, RejectCommand.self,
        ]
    )

    /// Runs the command, mapping errors to the documented exit codes
    /// (docs/reference.md#exit-codes): usage and input errors exit 2, not ArgumentParser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let failure as CommandFailure {
            Terminal.standardError.write(failure.message)
            Foundation.exit(failure.status.rawValue)
        } catch let failure as FleetError {
            Terminal.standardError.write(failure.description)
            Foundation.exit(ExitStatus(failure.category).rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                Terminal.standardError.write(fullMessage(for: error))
                Foundation.exit(ExitStatus.invalidInput.rawValue)
            }
            self.exit(withError: error)
        }
    }
}
