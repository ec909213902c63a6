import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkPostgres

extension ControlStore {
    /// Records the creator's `--override-window` on the run (every runner honours it).
    package func setWindowOverride(_ runID: String, _ override: WindowOverride) throws(ControlError) {
        try with { session throws(BackendError) in
            try session.query(
                "UPDATE tidemark_control.runs SET window_override = $2::jsonb WHERE run_id = $1",
                [runID, ControlStore.json(override)])
        }
    }

    /// The run's `--override-window`, as its creator gave it; nil: windows are weighed.
    package func windowOverride(_ runID: String) throws(ControlError) -> WindowOverride? {
        try with { session throws(BackendError) in
            let row = try session.query(
                "SELECT window_override::text FROM tidemark_control.runs WHERE run_id = $1", [runID]
            ).first
            return ControlStore.decode(WindowOverride.self, row?.first ?? nil)
        }
    }

    /// The lowest wave with targets not done, and its environment; nil: every target is done.
    package func lowestOpenWave(_ runID: String) throws(ControlError) -> (wave: Int, environment: String)? {
        try with { session throws(BackendError) in
            guard
                let row = try session.query(
                    """
                    SELECT wave, environment FROM tidemark_control.targets
                    WHERE run_id = $1 AND state <> 'done' ORDER BY wave, position LIMIT 1
                    """, [runID]
                ).first, let wave = row[0].flatMap({ Int($0) }), let environment = row[1]
            else { return nil }
            return (wave, environment)
        }
    }

    /// Wave `wave` may not start writes now (docs/windows.md#shared-runs): its targets nobody runs
    /// (pending, or claimed under a lease that ran out) end `deferred` (`unchanged` or `blocked` when
    /// they write nothing), and so do those of every later wave, behind it. Targets running under a
    /// live lease finish. Returns the outcomes it recorded.
    package func deferRemaining(_ runID: String, fromWave wave: Int, environment: String, deferral: Deferral)
        throws(ControlError) -> [TargetOutcome]
    {
        try with { session throws(BackendError) in
            try session.transaction { session throws(BackendError) in
                let rows = try session.query(
                    """
                    SELECT \(Self.planColumns), t.wave FROM tidemark_control.targets t
                    WHERE t.run_id = $1 AND t.wave >= $2
                      AND (t.state = 'pending' OR (t.state = 'claimed' AND (t.runner IS NULL OR t.lease_until < now())))
                    ORDER BY t.position FOR UPDATE OF t SKIP LOCKED
                    """, [runID, String(wave)])
                let behind = Deferral(cause: .earlierWave(environment: environment), until: nil)
                var names: [String] = []
                var outcomes: [String] = []
                var results: [String] = []
                var ended: [TargetOutcome] = []
                for row in rows {
                    guard let name = row[0], let plan = try storedPlan(row, at: 0, runID: runID, on: session) else {
                        continue
                    }
                    let own = row[Self.planColumnCount].flatMap { Int($0) } == wave
                    var outcome = RolloutExecutor.deferredOrNothing(plan, deferral: own ? deferral : behind)
                    outcome.finishedAt = Date()
                    names.append(name)
                    outcomes.append(outcome.outcome.rawValue)
                    results.append(ControlStore.json(outcome))
                    ended.append(outcome)
                }
                guard !names.isEmpty else { return [] }
                try session.query(
                    """
                    UPDATE tidemark_control.targets t SET state = 'done', outcome = u.o, result = u.r::jsonb, finished_at = now(), lease_until = NULL
                    FROM unnest($2::text[], $3::text[], $4::text[]) AS u(n, o, r) WHERE t.run_id = $1 AND t.target = u.n
                    """,
                    [
                        runID, ControlStore.textArray(names), ControlStore.textArray(outcomes),
                        ControlStore.textArray(results),
                    ])
                return ended
            }
        }
    }
}
