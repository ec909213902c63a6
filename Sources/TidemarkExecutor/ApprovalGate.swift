import Foundation
import Synchronization
import TidemarkCore

/// How a run without a control database decides a wave that waits for approval
/// (`approval: required`, docs/on-call.md#approvals): `--approve ENV` given before the run, else a
/// person asked on a terminal at the wave boundary, else the wave is deferred. Thread-safe value.
package struct ApprovalGate: Sendable {
    /// What a person is asked at the wave boundary. Thread-safe value.
    package struct Question: Sendable, Hashable {
        package var runID: String
        package var environment: String
        /// The wave's place (0-based) and the number of waves.
        package var index: Int
        package var count: Int
        /// The targets the wave writes.
        package var targets: [String]
    }

    /// A person's answer: yes or no, and an optional note.
    package struct Answer: Sendable, Hashable {
        package var approved: Bool
        package var note: String?

        package init(approved: Bool, note: String? = nil) {
            self.approved = approved
            self.note = note
        }
    }

    /// What the gate decided for a wave.
    package enum Verdict: Sendable, Hashable {
        case approved
        /// Halt here: the reason the later waves are skipped for.
        case rejected(reason: String)
        /// Nobody to ask and no `--approve`: this wave and every later one wait.
        case deferred(Deferral)
    }

    /// `--approve ENV`…: environments approved before the run.
    package var approved: Set<String>
    /// The operating-system user recorded as the one who decided.
    package var osUser: String
    /// Asks a person on a terminal (blocks for the answer; nil answer: no answer, as no); nil:
    /// there is no terminal (cron, CI).
    package var ask: (@Sendable (Question) -> Answer?)?
    /// Where the decisions go (the run report's `approvals`).
    package var ledger: ApprovalLedger

    package init(
        approved: Set<String> = [], osUser: String, ask: (@Sendable (Question) -> Answer?)? = nil,
        ledger: ApprovalLedger = ApprovalLedger()
    ) {
        self.approved = approved
        self.osUser = osUser
        self.ask = ask
        self.ledger = ledger
    }

    /// Decides `question`'s wave, recording the decision; `ask` runs on the caller's thread.
    package func decide(_ question: Question) -> Verdict {
        let environment = question.environment
        if approved.contains(environment) {
            ledger.record(
                ApprovalDecision(
                    runID: question.runID, environment: environment, verdict: .approved, osUser: osUser,
                    decidedAt: Date(), channel: .flag))
            return .approved
        }
        guard let ask else {
            return .deferred(Deferral(cause: .awaitingApproval(environment: environment), until: nil))
        }
        let answer = ask(question) ?? Answer(approved: false)
        let decision = ApprovalDecision(
            runID: question.runID, environment: environment, verdict: answer.approved ? .approved : .rejected,
            osUser: osUser, note: answer.note, decidedAt: Date(), channel: .terminal)
        ledger.record(decision)
        if answer.approved { return .approved }
        return .rejected(
            reason: "wave \(environment) was rejected by \(decision.who)" + (answer.note.map { ": \($0)" } ?? ""))
    }
}

/// The decisions a run made or found on its waves, for its report. Thread-safe (a `Mutex`).
package final class ApprovalLedger: Sendable {
    private let decisions = Mutex<[ApprovalDecision]>([])

    package init() {}

    package func record(_ decision: ApprovalDecision) { decisions.withLock { $0.append(decision) } }

    /// Replaces what is recorded (a shared run: the control database's decisions).
    package func replace(with all: [ApprovalDecision]) { decisions.withLock { $0 = all } }

    /// In the order they were made.
    package var all: [ApprovalDecision] { decisions.withLock { $0 } }
}
