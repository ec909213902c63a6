import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkObserve

/// The question at the boundary of a wave that waits for approval, on a terminal
/// (docs/on-call.md#approvals): `Approve wave 2/2 (prod, 3 targets)? [y/N]`, with the run id and
/// the targets. Only when standard input and output are both terminals: cron and CI get none.
enum ApprovalPrompt {
    static func make() -> (@Sendable (ApprovalGate.Question) -> ApprovalGate.Answer?)? {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { return nil }
        return { question in
            let count = "\(question.targets.count) target\(question.targets.count == 1 ? "" : "s")"
            let environment = PrintableText.escaped(question.environment)
            let terminal = Terminal.standardOutput
            // The live status line stays still (and is cleared) while the question waits.
            ProgressDisplay.prompting.store(true, ordering: .relaxed)
            defer { ProgressDisplay.prompting.store(false, ordering: .relaxed) }
            terminal.writeRaw("\r\u{1B}[K")
            terminal.write(
                "\n"
                    + terminal.styled(
                        "run \(question.runID): wave \(question.index + 1)/\(question.count) (\(environment)) waits for approval (approval: required)",
                        .bold))
            terminal.write("  writes \(count): \(PrintableText.escaped(TargetNames.compressed(question.targets)))")
            terminal.writeRaw("Approve wave \(question.index + 1) (\(environment), \(count))? [y/N] ")
            guard let line = readLine() else { return nil }
            let answer = line.trimmingCharacters(in: .whitespaces).lowercased()
            return ApprovalGate.Answer(approved: answer == "y" || answer == "yes")
        }
    }
}
