import Foundation
import TidemarkCore
import TidemarkPostgres

/// Why `approve` or `reject` did nothing. Thread-safe value.
package enum ApprovalRefusal: Error, Sendable, Hashable {
    /// No open run has that id.
    case noSuchRun
    /// The run has no wave for that environment, or it does not wait for approval.
    case notAwaitingApproval(gated: [String])
    /// Someone decided first.
    case alreadyDecided(ApprovalDecision)
}

extension ControlStore {
    /// The environment of the lowest open wave when it waits for approval, with no decision
    /// yet; the first caller also stores its `wave.awaiting_approval` event (once per run and
    /// wave, whatever the number of runners), made by `event`.
    package func awaitingApproval(_ runID: String, event: @Sendable (String) -> Event) throws(ControlError) -> String? {
        try with { session throws(BackendError) in
            try session.transaction { session throws(BackendError) in
                try session.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 9))", [runID])
                guard
                    let environment = try session.query(
                        """
                        SELECT w.environment FROM tidemark_control.waves w
                        WHERE w.run_id = $1 AND w.approval_required
                          AND w.wave = (SELECT min(wave) FROM tidemark_control.targets WHERE run_id = $1 AND state <> 'done')
                          AND NOT EXISTS (SELECT 1 FROM tidemark_control.approvals a WHERE a.run_id = $1 AND a.environment = w.environment)
                          AND (SELECT halted IS NULL AND NOT stop_requested FROM tidemark_control.runs WHERE run_id = $1)
                        """, [runID]
                    ).first?.first ?? nil
                else { return nil }
                let told = try session.query(
                    "SELECT 1 FROM tidemark_control.events WHERE run_id = $1 AND event->>'event' = 'wave.awaiting_approval' AND event->>'environment' = $2",
                    [runID, environment])
                if told.isEmpty { try Self.insertEvent(event(environment), runID: runID, on: session) }
                return environment
            }
        }
    }

    /// Records `decision` if the wave waits for one and nobody decided first; a rejection
    /// halts the run there (no target of that wave or a later one starts) and tells the sinks.
    /// Returns the decision as stored (with the database's `session_user` and time), or why not.
    package func decide(_ decision: ApprovalDecision, inventory: String) throws(ControlError) -> Result<
        ApprovalDecision, ApprovalRefusal
    > {
        try with { session throws(BackendError) in
            try session.transaction { session throws(BackendError) -> Result<ApprovalDecision, ApprovalRefusal> in
                try session.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 9))", [decision.runID])
                guard
                    !(try session.query(
                        "SELECT 1 FROM tidemark_control.runs WHERE run_id = $1 AND state = 'running'", [decision.runID]
                    ).isEmpty)
                else {
                    return .failure(.noSuchRun)
                }
                let gated = try session.query(
                    "SELECT environment FROM tidemark_control.waves WHERE run_id = $1 AND approval_required ORDER BY wave",
                    [decision.runID]
                ).compactMap { $0.first ?? nil }
                guard gated.contains(decision.environment) else { return .failure(.notAwaitingApproval(gated: gated)) }
                if let row = try session.query(
                    """
                    SELECT decision, os_user, as_name, session_user_name, note, extract(epoch from decided_at)::float8
                    FROM tidemark_control.approvals WHERE run_id = $1 AND environment = $2
                    """, [decision.runID, decision.environment]
                ).first {
                    return .failure(
                        .alreadyDecided(Self.decision(row, runID: decision.runID, environment: decision.environment)))
                }
                guard
                    let row = try session.query(
                        """
                        INSERT INTO tidemark_control.approvals (run_id, environment, decision, os_user, as_name, session_user_name, note)
                        VALUES ($1, $2, $3, $4, $5, session_user, $6)
                        RETURNING decision, os_user, as_name, session_user_name, note, extract(epoch from decided_at)::float8
                        """,
                        [
                            decision.runID, decision.environment, decision.verdict.rawValue, decision.osUser,
                            decision.asName, decision.note,
                        ]
                    ).first
                else {
                    throw BackendError.queryFailed(
                        target: "control database", message: "the approval was not recorded", sqlState: nil)
                }
                let stored = Self.decision(row, runID: decision.runID, environment: decision.environment)
                if decision.verdict == .rejected {
                    let reason =
                        "wave \(decision.environment) was rejected by \(stored.who)"
                        + (stored.note.map { ": \($0)" } ?? "")
                    let halted = try session.query(
                        "UPDATE tidemark_control.runs SET halted = $2, finishing_wave = NULL WHERE run_id = $1 AND halted IS NULL RETURNING run_id",
                        [decision.runID, reason])
                    if !halted.isEmpty {
                        try Self.insertEvent(
                            Event(
                                kind: .waveHalted, runID: decision.runID, inventory: inventory,
                                environment: decision.environment, reason: reason),
                            runID: decision.runID, on: session)
                    }
                }
                return .success(stored)
            }
        }
    }

    /// Every decision of a run, in the order they were made.
    package func decisions(_ runID: String) throws(ControlError) -> [ApprovalDecision] {
        try with { session throws(BackendError) in
            try session.query(
                """
                SELECT decision, os_user, as_name, session_user_name, note, extract(epoch from decided_at)::float8, environment
                FROM tidemark_control.approvals WHERE run_id = $1 ORDER BY decided_at
                """, [runID]
            ).map { Self.decision($0, runID: runID, environment: $0[6] ?? "") }
        }
    }

    static func decision(_ row: [String?], runID: String, environment: String) -> ApprovalDecision {
        ApprovalDecision(
            runID: runID, environment: environment,
            verdict: row[0].flatMap(ApprovalDecision.Verdict.init(rawValue:)) ?? .rejected, osUser: row[1] ?? "",
            asName: row[2], sessionUser: row[3] ?? "", note: row[4],
            decidedAt: row[5].flatMap(Double.init).map { Date(timeIntervalSince1970: $0) })
    }
}
