import Foundation
import TidemarkCore
import TidemarkPlanner
import TidemarkPostgres

extension ControlStore {
    /// The run `runID`, or nil.
    package func run(_ runID: String) throws(ControlError) -> ControlRun? {
        try with { session throws(BackendError) in
            try session.query("SELECT \(ControlRun.columns) FROM tidemark_control.runs WHERE run_id = $1", [runID])
                .first.flatMap(ControlRun.init(row:))
        }
    }

    /// The open run for `key`, or nil.
    package func openRun(key: String) throws(ControlError) -> ControlRun? {
        try with { session throws(BackendError) in
            try session.query(
                "SELECT \(ControlRun.columns) FROM tidemark_control.runs WHERE run_key = $1 AND state = 'running'",
                [key]
            )
            .first.flatMap(ControlRun.init(row:))
        }
    }

    /// Stores `run` with its rollout (one row per target, in wave order) and its `run.started`
    /// event, unless an open run with the same key appeared meanwhile: then that one is returned.
    /// Serialized per key by a transaction-scoped advisory lock.
    package func create(
        _ run: ControlRun, rollout: Rollout, inventory: Inventory, unread: Set<String> = [], startedEvent: Event?,
        fleet: StoredFleet? = nil
    ) throws(ControlError) -> ControlRun {
        try with { session throws(BackendError) in
            try session.transaction { session throws(BackendError) in
                try session.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", [run.key])
                if let open = try session.query(
                    "SELECT \(ControlRun.columns) FROM tidemark_control.runs WHERE run_key = $1 AND state = 'running'",
                    [run.key]
                ).first.flatMap(ControlRun.init(row:)) {
                    return open
                }
                try session.query(
                    """
                    INSERT INTO tidemark_control.runs (run_id, run_key, inventory, plan, selection, desired_version, strategy, scripts, created_by, fleet)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb)
                    """,
                    [
                        run.runID, run.key, run.inventory, run.plan, run.selection, run.desiredVersion,
                        run.strategy.rawValue,
                        ControlStore.json(run.scripts), run.createdBy, fleet.map { ControlStore.json($0) },
                    ])
                var position = 0
                var rows:
                    [(
                        target: TargetPlan, environment: String, wave: Int, position: Int, canary: Bool,
                        maxFailures: Int?
                    )] = []
                let policy = WavePolicy(inventory: inventory)
                for (index, wave) in rollout.waves.enumerated() {
                    let maxFailures = policy.rule(for: wave).maxFailures
                    for target in wave.targets {
                        rows.append(
                            (target, wave.environment, index, position, target.target == wave.canary, maxFailures))
                        position += 1
                    }
                }
                // Each distinct plan once; the targets in batches through unnest: 1,000 targets are
                // a handful of statements, not 1,000.
                let planNumbers = try Self.insertPlans(rows.lazy.map(\.target), runID: run.runID, on: session)
                for start in stride(from: 0, to: rows.count, by: 500) {
                    let batch = rows[start..<min(rows.count, start + 500)].enumerated().map { index, row in
                        (
                            row.target.target, row.environment, row.wave, row.position, row.canary, row.maxFailures,
                            planNumbers[start + index], row.target.reason, unread.contains(row.target.target)
                        )
                    }
                    try session.query(
                        """
                        INSERT INTO tidemark_control.targets (run_id, target, environment, wave, position, canary, max_failures, plan_id, reason, replan)
                        SELECT $1, t, e, w, p, c, m, n, rs, r
                        FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::boolean[], $7::int[], $8::int[], $9::text[], $10::boolean[])
                            AS u(t, e, w, p, c, m, n, rs, r)
                        """,
                        [
                            run.runID, ControlStore.textArray(batch.map(\.0)), ControlStore.textArray(batch.map(\.1)),
                            "{" + batch.map { String($0.2) }.joined(separator: ",") + "}",
                            "{" + batch.map { String($0.3) }.joined(separator: ",") + "}",
                            "{" + batch.map { $0.4 ? "t" : "f" }.joined(separator: ",") + "}",
                            "{" + batch.map { $0.5.map(String.init) ?? "NULL" }.joined(separator: ",") + "}",
                            "{" + batch.map { String($0.6) }.joined(separator: ",") + "}",
                            ControlStore.textArray(batch.map(\.7)),
                            "{" + batch.map { $0.8 ? "t" : "f" }.joined(separator: ",") + "}",
                        ])
                }
                // Each wave's rule, so every runner of the run follows the one it was opened with.
                let rules = rollout.waves.map { policy.rule(for: $0) }
                try session.query(
                    """
                    INSERT INTO tidemark_control.waves (run_id, wave, environment, tier, max_failures, concurrency)
                    SELECT $1, w - 1, e, t, m, c FROM unnest($2::text[], $3::text[], $4::int[], $5::int[]) WITH ORDINALITY AS u(e, t, m, c, w)
                    """,
                    [
                        run.runID, ControlStore.textArray(rules.map(\.environment)),
                        ControlStore.textArray(rules.map(\.tier.rawValue)),
                        "{"
                            + rules.map { String($0.maxFailures ?? WavePolicy.defaultMaxFailures) }.joined(
                                separator: ",") + "}",
                        "{" + rules.map { $0.concurrency.map(String.init) ?? "NULL" }.joined(separator: ",") + "}",
                    ])
                let gated = inventory.environments.filter(\.approvalRequired).map(\.name)
                if !gated.isEmpty {
                    try session.query(
                        "UPDATE tidemark_control.waves SET approval_required = true WHERE run_id = $1 AND environment = ANY($2::text[])",
                        [run.runID, ControlStore.textArray(gated)])
                }
                if let startedEvent { try Self.insertEvent(startedEvent, runID: run.runID, on: session) }
                return run
            }
        }
    }

    /// Holds the key's creation lock for this session: runners starting together wait here while
    /// the first reads the fleet and stores the run, then join it instead of planning it again.
    package func lockCreation(key: String) throws(ControlError) {
        try with { session throws(BackendError) in
            try session.query("SELECT pg_advisory_lock(hashtextextended($1, 7))", [key])
        }
    }

    package func unlockCreation(key: String) throws(ControlError) {
        try with { session throws(BackendError) in
            try session.query("SELECT pg_advisory_unlock(hashtextextended($1, 7))", [key])
        }
    }

    /// Records that `runner` takes part in `runID`, serving `serves` (`all` or its `--serve`
    /// selectors joined by commas) under leases of `lease` (for `tidemark runs`, and for runners
    /// that wait to tell a live runner from a dead one).
    package func join(_ runID: String, runner: String, serves: String, lease: Duration) throws(ControlError) {
        try with { session throws(BackendError) in
            try session.query(
                """
                INSERT INTO tidemark_control.runners (run_id, runner, serves, lease_ms) VALUES ($1, $2, $3, $4)
                ON CONFLICT (run_id, runner) DO UPDATE SET heartbeat_at = now(), left_at = NULL, lease_ms = $4
                """, [runID, runner, serves, String(lease.milliseconds)])
        }
    }

    /// Every target name of the run, in rollout order.
    package func targetNames(_ runID: String) throws(ControlError) -> [String] {
        try with { session throws(BackendError) in
            try session.query(
                "SELECT target FROM tidemark_control.targets WHERE run_id = $1 ORDER BY position", [runID]
            ).compactMap { $0.first ?? nil }
        }
    }

    /// Claims up to `limit` targets `runner` may serve, in one statement
    /// (docs/tenants.md#batched-claims): in the lowest wave that is not done everywhere, the
    /// canary alone while it is not done, never after a halt or a stop; pending targets or ones
    /// whose lease ran out (their runner died), in rollout order. `FOR UPDATE SKIP LOCKED`:
    /// runners claiming at once never wait for each other and never get the same target. Every
    /// condition that does not depend on the row is a scalar subquery (one InitPlan), so the
    /// server walks the open targets' index in position order and stops after `limit` claimable ones.
    ///
    /// `limited`: some wave of the run has an environment `concurrency`. Then claims of the run
    /// are serialized by a transaction-scoped advisory lock and a claim in that wave counts its
    /// targets in flight (claimed under a live lease) first, so the limit holds across every
    /// runner; without the lock two claims at once could each see room for one more. Such a run
    /// claims one target at a time (a buffered target would count as in flight while it waits).
    package func claim(
        _ runID: String, runner: String, served: String?, lease: Duration, limited: Bool = false, limit: Int = 1
    ) throws(ControlError) -> [Claim] {
        let (rows, plans) = try with { session throws(BackendError) in
            let rows: [[String?]]
            if limited {
                rows = try session.transaction { session throws(BackendError) in
                    try session.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 8))", [runID])
                    return try Self.claim(
                        runID, runner: runner, served: served, lease: lease, limited: true, limit: 1, on: session)
                }
            } else {
                rows = try Self.claim(
                    runID, runner: runner, served: served, lease: lease, limited: false, limit: max(1, limit),
                    on: session)
            }
            return (
                rows, try rows.map { row throws(BackendError) in try storedPlan(row, at: 0, runID: runID, on: session) }
            )
        }
        var claims: [(position: Int, claim: Claim)] = []
        claims.reserveCapacity(rows.count)
        let next = Self.planColumnCount
        for (row, plan) in zip(rows, plans) {
            guard let plan else { throw .corrupt(runID: runID, what: "a target's plan") }
            claims.append(
                (
                    Int(row[next + 3] ?? "0") ?? 0,
                    Claim(
                        plan: plan, previousRunner: row[next], claims: Int(row[next + 1] ?? "1") ?? 1,
                        mustReadState: row[next + 2] == "t",
                        wave: Int(row[next + 4] ?? "0") ?? 0)
                ))
        }
        return claims.sorted { $0.position < $1.position }.map(\.claim)
    }

    /// The claim statement: after a halt, only the wave that finishes its own targets
    /// (`finishing_wave`) is still claimed from; `limited`: the wave's environment `concurrency`
    /// counted against its targets in flight.
    private static func claim(
        _ runID: String, runner: String, served: String?, lease: Duration, limited: Bool, limit: Int,
        on session: PostgresSession
    ) throws(BackendError) -> [[String?]] {
        let lowest = "(SELECT min(wave) FROM tidemark_control.targets WHERE run_id = $1 AND state <> 'done')"
        let room =
            limited
            ? """
            AND coalesce((SELECT concurrency FROM tidemark_control.waves WHERE run_id = $1 AND wave = \(lowest)), 2147483647) > (
                SELECT count(*) FROM tidemark_control.targets f WHERE f.run_id = $1 AND f.wave = \(lowest) AND f.state = 'claimed'
                  AND f.runner IS NOT NULL AND f.lease_until >= now())
            """ : ""
        return try session.query(
            """
            WITH pick AS (
                SELECT t.target, t.runner AS previous FROM tidemark_control.targets t
                WHERE t.run_id = $1 AND t.state <> 'done'
                  AND t.wave = \(lowest)
                  AND (SELECT NOT stop_requested AND (halted IS NULL OR finishing_wave = \(lowest)) FROM tidemark_control.runs WHERE run_id = $1)
                  \(room)
                  AND ($2::text[] IS NULL OR t.target = ANY($2::text[]))
                  AND (t.state = 'pending' OR (t.state = 'claimed' AND t.lease_until < now()))
                  AND (NOT coalesce((SELECT approval_required FROM tidemark_control.waves WHERE run_id = $1 AND wave = t.wave), false)
                       OR EXISTS (SELECT 1 FROM tidemark_control.approvals a WHERE a.run_id = $1 AND a.environment = t.environment AND a.decision = 'approved'))
                  AND (t.canary OR NOT EXISTS (
                      SELECT 1 FROM tidemark_control.targets c WHERE c.run_id = $1 AND c.canary AND c.state <> 'done'
                        AND c.wave = (SELECT min(wave) FROM tidemark_control.targets WHERE run_id = $1 AND state <> 'done')))
                ORDER BY t.position LIMIT $5
                FOR UPDATE OF t SKIP LOCKED)
            UPDATE tidemark_control.targets t
            SET state = 'claimed', runner = $3, lease_until = now() + $4::interval, claims = t.claims + 1
            FROM pick WHERE t.run_id = $1 AND t.target = pick.target
            RETURNING \(planColumns), pick.previous, t.claims, t.replan, t.position, t.wave
            """, [runID, served, runner, ControlStore.interval(lease), String(limit)]
        )
    }

    /// Each wave's rule as the run was opened, by wave index; empty for a run opened before
    /// version 4 of the control schema (see `waveRules(_:)`).
    static func waveRules(_ runID: String, on session: PostgresSession) throws(BackendError) -> [Int: WavePolicy.Rule] {
        var rules: [Int: WavePolicy.Rule] = [:]
        for row in try session.query(
            "SELECT wave, environment, tier, max_failures, concurrency, approval_required FROM tidemark_control.waves WHERE run_id = $1",
            [runID])
        {
            guard let wave = row[0].flatMap({ Int($0) }), let environment = row[1],
                let tier = row[2].flatMap(Tier.init(rawValue:))
            else { continue }
            rules[wave] = WavePolicy.Rule(
                environment: environment, tier: tier, maxFailures: row[3].flatMap { Int($0) },
                concurrency: row[4].flatMap { Int($0) }, approvalRequired: row[5] == "t")
        }
        return rules
    }

    /// The run's wave policy as stored when it was opened. A run opened by a Tidemark before
    /// version 4 of the control schema stored budgets for prod waves only: its other waves get
    /// no budget (`maxFailures` nil, the old meaning: unlimited) and `legacy` is true.
    package func wavePolicy(_ runID: String) throws(ControlError) -> (policy: WavePolicy, legacy: Bool) {
        try with { session throws(BackendError) in
            let stored = try Self.waveRules(runID, on: session)
            if !stored.isEmpty { return (WavePolicy(rules: Array(stored.values)), false) }
            let rows = try session.query(
                """
                SELECT DISTINCT ON (t.wave) t.environment, \(Self.planTier), t.max_failures FROM tidemark_control.targets t
                WHERE t.run_id = $1 ORDER BY t.wave, t.position
                """, [runID])
            let rules = rows.compactMap { row -> WavePolicy.Rule? in
                guard let environment = row[0] else { return nil }
                return WavePolicy.Rule(
                    environment: environment, tier: row[1].flatMap(Tier.init(rawValue:)) ?? .test,
                    maxFailures: row[2].flatMap { Int($0) },
                    concurrency: nil)
            }
            return (WavePolicy(rules: rules), rules.contains { $0.maxFailures == nil })
        }
    }

    /// Puts a claimed target back for later (its lock was held: the previous runner may still be
    /// finishing it): nobody takes it before `lease` has passed.
    package func release(_ runID: String, target: String, runner: String, lease: Duration) throws(ControlError) {
        try with { session throws(BackendError) in
            try session.query(
                """
                UPDATE tidemark_control.targets SET runner = NULL, lease_until = now() + $4::interval
                WHERE run_id = $1 AND target = $2 AND runner = $3 AND state = 'claimed'
                """, [runID, target, runner, ControlStore.interval(lease)])
        }
    }

    /// Puts claimed targets this runner never started back at once (a stop, a halt, or the
    /// runner leaving with targets in its buffer): any runner may claim them, and a stop or halt
    /// may skip them.
    package func release(_ runID: String, targets: [String], runner: String) throws(ControlError) {
        guard !targets.isEmpty else { return }
        try with { session throws(BackendError) in
            try session.query(
                """
                UPDATE tidemark_control.targets t SET runner = NULL, lease_until = now()
                FROM (SELECT target FROM tidemark_control.targets
                      WHERE run_id = $1 AND target = ANY($2::text[]) AND runner = $3 AND state = 'claimed'
                      ORDER BY target FOR UPDATE) l
                WHERE t.run_id = $1 AND t.target = l.target
                """, [runID, ControlStore.textArray(targets), runner])
        }
    }

    /// Where the run stands for a runner holding claimed targets it has not started.
    package func runState(_ runID: String) throws(ControlError) -> RunState {
        try with { session throws(BackendError) in try Self.runState(runID, on: session) }
    }

    static func runState(_ runID: String, on session: PostgresSession) throws(BackendError) -> RunState {
        let row = try session.query(
            "SELECT halted, finishing_wave, stop_requested FROM tidemark_control.runs WHERE run_id = $1", [runID]
        ).first
        return RunState(
            halted: row?[0] ?? nil, finishingWave: row?[1].flatMap { Int($0) }, stopRequested: row?[2] == "t")
    }

    /// Records outcomes that cannot halt anything (not `failed`) with their events, in one
    /// statement, for the targets `runner` still holds; returns the targets recorded and where the
    /// run stands (docs/tenants.md#batched-claims).
    package func record(
        _ outcomes: [(outcome: TargetOutcome, event: Event?)], runID: String, runner: String
    ) throws(ControlError) -> (recorded: Set<String>, run: RunState) {
        guard !outcomes.isEmpty else { return ([], try runState(runID)) }
        let names = ControlStore.textArray(outcomes.map(\.outcome.target))
        let kinds = ControlStore.textArray(outcomes.map(\.outcome.outcome.rawValue))
        let results = ControlStore.textArray(outcomes.map { ControlStore.json($0.outcome) })
        let events = ControlStore.optionalTextArray(outcomes.map { $0.event.map { ControlStore.json($0) } })
        let rows = try with { session throws(BackendError) in
            try session.query(
                """
                WITH u AS (
                    SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(n, o, r, e, i)),
                locked AS (
                    SELECT target FROM tidemark_control.targets
                    WHERE run_id = $1 AND target IN (SELECT n FROM u) AND runner = $2 AND state = 'claimed'
                    ORDER BY target FOR UPDATE),
                done AS (
                    UPDATE tidemark_control.targets t SET state = 'done', outcome = u.o, result = u.r::jsonb, finished_at = now(), lease_until = NULL
                    FROM u, locked WHERE t.run_id = $1 AND t.target = u.n AND locked.target = u.n RETURNING t.target),
                event AS (
                    INSERT INTO tidemark_control.events (run_id, event)
                    SELECT $1, u.e::jsonb FROM u JOIN done ON done.target = u.n WHERE u.e IS NOT NULL ORDER BY u.i)
                SELECT d.target, r.halted, r.finishing_wave, r.stop_requested
                FROM tidemark_control.runs r LEFT JOIN done d ON true WHERE r.run_id = $1
                """, [runID, runner, names, kinds, results, events])
        }
        let first = rows.first
        let run = RunState(
            halted: first?[1] ?? nil, finishingWave: first?[2].flatMap { Int($0) }, stopRequested: first?[3] == "t")
        return (Set(rows.compactMap { $0[0] }), run)
    }

    /// Records a target's outcome (if `runner` still holds it) with its event; a failure that
    /// exceeds its wave's `max_failures`, or a failed canary, halts the run's later waves for every
    /// runner. Returns the halt reason when this outcome caused it (the caller reports the halt).
    package func record(
        _ outcome: TargetOutcome, runID: String, runner: String, event: Event?,
        haltEvent: @Sendable (String, String) -> Event?
    ) throws(ControlError) -> (recorded: Bool, halted: String?) {
        try with { session throws(BackendError) in
            if outcome.outcome != .failed {
                // Cannot halt anything: the outcome and its event in one statement, one round trip.
                let updated = try session.query(
                    """
                    WITH done AS (
                        UPDATE tidemark_control.targets SET state = 'done', outcome = $4, result = $5::jsonb, finished_at = now(), lease_until = NULL
                        WHERE run_id = $1 AND target = $2 AND runner = $3 AND state = 'claimed' RETURNING run_id),
                    event AS (INSERT INTO tidemark_control.events (run_id, event) SELECT run_id, $6::jsonb FROM done WHERE $6::text IS NOT NULL)
                    SELECT count(*) FROM done
                    """,
                    [
                        runID, outcome.target, runner, outcome.outcome.rawValue, ControlStore.json(outcome),
                        event.map { ControlStore.json($0) },
                    ])
                return (updated.first?.first == "1", nil)
            }
            return try session.transaction { session throws(BackendError) in
                let updated = try session.query(
                    """
                    UPDATE tidemark_control.targets t SET state = 'done', outcome = $4, result = $5::jsonb, finished_at = now(), lease_until = NULL
                    WHERE t.run_id = $1 AND t.target = $2 AND t.runner = $3 AND t.state = 'claimed'
                    RETURNING t.wave, t.canary, t.max_failures, t.environment, \(Self.planTier)
                    """, [runID, outcome.target, runner, outcome.outcome.rawValue, ControlStore.json(outcome)])
                guard let row = updated.first else { return (false, nil) }
                if let event { try Self.insertEvent(event, runID: runID, on: session) }
                guard outcome.outcome == .failed, let wave = row[0] else { return (true, nil) }
                let environment = row[3] ?? outcome.environment
                // The rule as stored when the run was opened (the executor's); a run opened by a
                // Tidemark before version 4 of this schema has only its budgets, nil outside prod.
                let stored = try Self.waveRules(runID, on: session)[Int(wave) ?? -1]
                let rule =
                    stored
                    ?? WavePolicy.Rule(
                        environment: environment, tier: row[4].flatMap(Tier.init(rawValue:)) ?? .test,
                        maxFailures: row[2].flatMap { Int($0) },
                        concurrency: nil)
                // Such an old run keeps its old meaning: a halt stops every claim.
                let finishing = stored != nil && rule.continues(afterHaltByCanary: row[1] == "t") ? wave : nil
                let reason: String
                if row[1] == "t" {
                    reason = rule.canaryHalt(outcome.target)
                } else {
                    let failures =
                        Int(
                            try session.query(
                                "SELECT count(*) FROM tidemark_control.targets WHERE run_id = $1 AND wave = $2 AND outcome = 'failed'",
                                [runID, wave]
                            ).first?.first??.description ?? "0") ?? 0
                    guard let halt = rule.halt(afterFailures: failures) else { return (true, nil) }
                    reason = halt
                }
                let halted = try session.query(
                    "UPDATE tidemark_control.runs SET halted = $2, finishing_wave = $3 WHERE run_id = $1 AND halted IS NULL RETURNING halted",
                    [runID, reason, finishing])
                guard !halted.isEmpty else { return (true, nil) }
                if let event = haltEvent(environment, reason) { try Self.insertEvent(event, runID: runID, on: session) }
                return (true, reason)
            }
        }
    }

    /// After a halt or a stop: every target nobody runs (pending, or claimed by a runner whose
    /// lease ran out) is done as `skipped` with `reason`. Idempotent; any runner may do it.
    /// `keepingFinishingWave`: after a halt, the wave that finishes its own targets keeps them.
    package func skipRemaining(_ runID: String, reason: String, keepingFinishingWave: Bool = false) throws(ControlError)
        -> Int
    {
        try with { session throws(BackendError) in
            try session.transaction { session throws(BackendError) in
                let rows = try session.query(
                    """
                    SELECT \(Self.planColumns) FROM tidemark_control.targets t
                    WHERE t.run_id = $1 AND (t.state = 'pending' OR (t.state = 'claimed' AND (t.runner IS NULL OR t.lease_until < now())))
                      AND (NOT $2 OR t.wave IS DISTINCT FROM (SELECT finishing_wave FROM tidemark_control.runs WHERE run_id = $1))
                    ORDER BY t.position FOR UPDATE OF t SKIP LOCKED
                    """, [runID, keepingFinishingWave ? "t" : "f"])
                var names: [String] = []
                var results: [String] = []
                for row in rows {
                    guard let name = row[0], let plan = try storedPlan(row, at: 0, runID: runID, on: session) else {
                        continue
                    }
                    names.append(name)
                    var outcome = TargetOutcome(plan: plan, outcome: .skipped, reason: "not run: \(reason)")
                    outcome.finishedAt = Date()
                    results.append(ControlStore.json(outcome))
                }
                guard !names.isEmpty else { return 0 }
                try session.query(
                    """
                    UPDATE tidemark_control.targets t SET state = 'done', outcome = 'skipped', result = u.r::jsonb, finished_at = now(), lease_until = NULL
                    FROM unnest($2::text[], $3::text[]) AS u(n, r) WHERE t.run_id = $1 AND t.target = u.n
                    """, [runID, ControlStore.textArray(names), ControlStore.textArray(results)])
                return names.count
            }
        }
    }

    /// Where the run stands for a runner serving `served`.
    package func progress(_ runID: String, served: String?) throws(ControlError) -> RunProgress {
        // EXISTS, not a count: a waiting runner asks this again and again, and only whether one is
        // left matters (counting 100,000 open targets each time was a tenth of the server's work).
        let row = try with { session throws(BackendError) in
            try session.query(
                """
                SELECT r.halted, r.stop_requested,
                    EXISTS (SELECT 1 FROM tidemark_control.targets t WHERE t.run_id = $1 AND t.state <> 'done'
                        AND ($2::text[] IS NULL OR t.target = ANY($2::text[])))
                FROM tidemark_control.runs r WHERE r.run_id = $1
                """, [runID, served]
            ).first
        }
        guard let row else { throw .unknownRun(runID) }
        return RunProgress(halted: row[0], stopRequested: row[1] == "t", servesOpen: row[2] == "t")
    }

    /// How many targets of the run that a runner serving `served` serves ended each way (every
    /// runner's outcomes, skipped ones included): a runner's exit code tells the truth about them.
    package func servedOutcomes(_ runID: String, served: String?) throws(ControlError) -> [Outcome: Int] {
        let rows = try with { session throws(BackendError) in
            try session.query(
                """
                SELECT outcome, count(*) FROM tidemark_control.targets
                WHERE run_id = $1 AND outcome IS NOT NULL AND ($2::text[] IS NULL OR target = ANY($2::text[])) GROUP BY outcome
                """, [runID, served])
        }
        var counts: [Outcome: Int] = [:]
        for row in rows {
            guard let outcome = row[0].flatMap(Outcome.init(rawValue:)) else { continue }
            counts[outcome] = Int(row[1] ?? "0") ?? 0
        }
        return counts
    }

    /// Why the lowest open wave does not move (see `WaveWait`): nil when every target is done.
    /// A runner is alive when it has not left and renewed its heartbeat within its own lease
    /// (heartbeats come every third of it), the rule by which its targets are taken over.
    /// When a live runner serves every target, nobody is left out and the targets are not read.
    package func waveWait(_ runID: String) throws(ControlError) -> WaveWait? {
        try with { session throws(BackendError) -> WaveWait? in
            let lowest =
                try session.query(
                    "SELECT min(wave) FROM tidemark_control.targets WHERE run_id = $1 AND state <> 'done'", [runID]
                ).first ?? []
            guard let wave = lowest.first.flatMap({ $0 }).flatMap({ Int($0) }) else { return nil }
            let live = try session.query(
                """
                SELECT runner, serves FROM tidemark_control.runners
                WHERE run_id = $1 AND \(ControlStore.isLive("tidemark_control.runners")) ORDER BY joined_at
                """, [runID]
            ).map { row in
                let serves = row[1] ?? "all"
                return WaveWait.LiveRunner(
                    runner: row[0] ?? "",
                    selectors: serves == "all" ? [] : serves.split(separator: ",").map(String.init))
            }
            if live.contains(where: { $0.selectors.isEmpty }) { return WaveWait(wave: wave, unheld: [], live: live) }
            let unheld = try session.query(
                """
                SELECT target, environment, runner, extract(epoch FROM now() - lease_until)::float8
                FROM tidemark_control.targets
                WHERE run_id = $1 AND wave = $2 AND (state = 'pending' OR (state = 'claimed' AND lease_until < now()))
                ORDER BY position
                """, [runID, String(wave)]
            ).map { row in
                // A target put back with `release` has no runner; only a lease that ran out names one.
                let expired = row[2] == nil ? nil : row[3].flatMap(Double.init)
                return WaveWait.Unheld(
                    target: row[0] ?? "", environment: row[1] ?? "", lastRunner: expired == nil ? nil : row[2],
                    leaseEndedSecondsAgo: expired)
            }
            return WaveWait(wave: wave, unheld: unheld, live: live)
        }
    }

    /// Marks `run` finished when every target is done, storing its `run.finished` event with the
    /// counts of every target's outcome; true for the one caller that did it.
    package func finishIfDone(_ run: ControlRun) throws(ControlError) -> Bool {
        try finishIfDone(run.runID) { all in
            let tally = Event.tally(all.map { ($0.environment, $0.outcome) })
            return Event(
                kind: .runFinished, runID: run.runID, inventory: run.inventory, toVersion: run.desiredVersion,
                startedAt: run.createdAt,
                finishedAt: Date(), counts: tally.counts, environmentCounts: tally.environments)
        }
    }

    /// After `tidemark stop`, when no live runner is left to see it (they all died): does what
    /// the runners would have done, recording `skipped` for every target nobody holds and
    /// finishing the run. Nil when a live runner is there to do it.
    package func endWithoutRunners(_ runID: String) throws(ControlError) -> (skipped: Int, finished: Bool)? {
        let live = try with { session throws(BackendError) in
            try session.query(
                "SELECT count(*) FROM tidemark_control.runners WHERE run_id = $1 AND \(ControlStore.isLive("tidemark_control.runners"))",
                [runID]
            ).first?.first ?? nil
        }
        guard live == "0", let run = try run(runID) else { return nil }
        let skipped = try skipRemaining(runID, reason: "the run was stopped (tidemark stop)")
        return (skipped, try finishIfDone(run))
    }

    /// Marks the run finished when every target is done; true for the one runner that did it
    /// (it stores `finishedEvent`, built from every target's outcome).
    package func finishIfDone(
        _ runID: String, finishedEvent: @Sendable ([(environment: String, outcome: String)]) -> Event?
    ) throws(ControlError) -> Bool {
        try with { session throws(BackendError) in
            try session.transaction { session throws(BackendError) in
                let done = try session.query(
                    """
                    UPDATE tidemark_control.runs SET state = 'finished', finished_at = now()
                    WHERE run_id = $1 AND state = 'running'
                      AND NOT EXISTS (SELECT 1 FROM tidemark_control.targets WHERE run_id = $1 AND state <> 'done')
                    RETURNING run_id
                    """, [runID])
                guard !done.isEmpty else { return false }
                // The counts only: each target's environment and outcome, never its whole result.
                let outcomes = try session.query(
                    "SELECT environment, outcome FROM tidemark_control.targets WHERE run_id = $1 AND outcome IS NOT NULL ORDER BY position",
                    [runID]
                ).map { (environment: $0[0] ?? "", outcome: $0[1] ?? "") }
                if let event = finishedEvent(outcomes) { try Self.insertEvent(event, runID: runID, on: session) }
                return true
            }
        }
    }

    /// Renews `runner`'s leases and heartbeat; returns whether `tidemark stop` asked the run to stop.
    package func renew(_ runID: String, runner: String, lease: Duration) throws(ControlError) -> Bool {
        try with { session throws(BackendError) in
            // SKIP LOCKED: a row locked now is being recorded or put back by this runner's workers
            // (or taken over); waiting for it could deadlock with a batch locking rows in another order.
            try session.query(
                """
                UPDATE tidemark_control.targets t SET lease_until = now() + $3::interval
                FROM (SELECT target FROM tidemark_control.targets
                      WHERE run_id = $1 AND runner = $2 AND state = 'claimed' ORDER BY target FOR UPDATE SKIP LOCKED) l
                WHERE t.run_id = $1 AND t.target = l.target
                """, [runID, runner, ControlStore.interval(lease)])
            let rows = try session.query(
                """
                WITH beat AS (UPDATE tidemark_control.runners SET heartbeat_at = now() WHERE run_id = $1 AND runner = $2)
                SELECT stop_requested FROM tidemark_control.runs WHERE run_id = $1
                """, [runID, runner])
            return rows.first?.first == "t"
        }
    }

    /// The runner leaves the run (for `tidemark runs`).
    package func leave(_ runID: String, runner: String) throws(ControlError) {
        try with { session throws(BackendError) in
            try session.query(
                "UPDATE tidemark_control.runners SET left_at = now() WHERE run_id = $1 AND runner = $2",
                [runID, runner])
        }
    }

    /// `tidemark stop RUN_ID`: every runner stops claiming; false when no open run has that id.
    package func requestStop(_ runID: String) throws(ControlError) -> Bool {
        try with { session throws(BackendError) in
            !(try session.query(
                "UPDATE tidemark_control.runs SET stop_requested = true WHERE run_id = $1 AND state = 'running' RETURNING run_id",
                [runID]
            ).isEmpty)
        }
    }

    /// Deletes the runs that finished more than `age` ago, with their targets, runners and
    /// events (one statement); a run still running is never deleted, however old. Returns what went.
    package func prune(finishedBefore age: Duration) throws(ControlError) -> PruneSummary {
        let row = try with { session throws(BackendError) in
            try session.query(
                """
                WITH old AS (
                    SELECT run_id FROM tidemark_control.runs
                    WHERE state = 'finished' AND finished_at < now() - $1::interval FOR UPDATE),
                gone AS (DELETE FROM tidemark_control.runs WHERE run_id IN (SELECT run_id FROM old))
                SELECT (SELECT count(*) FROM old),
                    (SELECT count(*) FROM tidemark_control.targets WHERE run_id IN (SELECT run_id FROM old)),
                    (SELECT count(*) FROM tidemark_control.events WHERE run_id IN (SELECT run_id FROM old)),
                    (SELECT count(*) FROM tidemark_control.runs) - (SELECT count(*) FROM old)
                """, [ControlStore.interval(age)]
            ).first
        }
        func count(_ index: Int) -> Int { row.flatMap { Int($0[index] ?? "") } ?? 0 }
        return PruneSummary(runs: count(0), targets: count(1), events: count(2), kept: count(3))
    }

    /// Every target's outcome so far, in rollout order (nil for targets not done).
    package func outcomes(_ runID: String) throws(ControlError) -> [(
        plan: TargetPlan?, state: String, runner: String?, outcome: TargetOutcome?
    )] {
        // A page at a time, decoded as it comes, the plans' equal step lists shared: 100,000 plans
        // read whole were 170 MB of JSON in libpq's result, again as strings, then decoded.
        let steps = StepListInterner()
        var all: [(plan: TargetPlan?, state: String, runner: String?, outcome: TargetOutcome?)] = []
        var after = -1
        while true {
            let (rows, plans) = try with { session throws(BackendError) in
                let rows = try session.query(
                    """
                    SELECT t.position, \(Self.planColumns), t.state, t.runner, t.result::text FROM tidemark_control.targets t
                    WHERE t.run_id = $1 AND t.position > $2 ORDER BY t.position LIMIT $3
                    """, [runID, String(after), String(Self.outcomePage)])
                return (
                    rows,
                    try rows.map { row throws(BackendError) in try storedPlan(row, at: 1, runID: runID, on: session) }
                )
            }
            let next = 1 + Self.planColumnCount
            for (row, plan) in zip(rows, plans) {
                all.append(
                    (
                        plan.map(steps.sharing), row[next] ?? "", row[next + 1],
                        ControlStore.decode(TargetOutcome.self, row[next + 2])
                    ))
            }
            guard rows.count == Self.outcomePage, let last = rows.last?[0].flatMap({ Int($0) }) else { return all }
            after = last
        }
    }

    /// Every target's stored plan, in rollout order: what a runner that joins a run reads back.
    /// Each distinct plan is decoded once (`storedPlan`); a run stored before control schema
    /// version 8 has a plan per target, which differ mostly in their target's name, environment
    /// and reason (which names the target), so the server blanks those three and each distinct
    /// remainder is decoded once (100,000 plans were minutes of JSON decoding per joining runner
    /// on a loaded machine, while the creator ran every target).
    package func plans(_ runID: String) throws(ControlError) -> [TargetPlan] {
        var decoded: [String: TargetPlan] = [:]
        var all: [TargetPlan] = []
        var after = -1
        while true {
            let (rows, shared) = try with { session throws(BackendError) in
                let rows = try session.query(
                    """
                    SELECT t.position, t.target, t.environment, t.reason, t.plan_id,
                        CASE WHEN t.plan_id IS NULL
                            THEN jsonb_set(jsonb_set(jsonb_set(t.plan, '{target}', '""'), '{environment}', '""'), '{reason}', '""')::text
                        END,
                        CASE WHEN t.plan_id IS NULL THEN t.plan->>'reason' END
                    FROM tidemark_control.targets t
                    WHERE t.run_id = $1 AND t.position > $2 ORDER BY t.position LIMIT $3
                    """, [runID, String(after), String(Self.outcomePage)])
                return (
                    rows,
                    try rows.map { row throws(BackendError) in
                        row[4] == nil ? nil : try storedPlan(row, at: 1, runID: runID, on: session)
                    }
                )
            }
            for (row, stored) in zip(rows, shared) {
                guard let target = row[1], let environment = row[2] else { continue }
                if row[4] != nil {
                    guard let stored else { throw .corrupt(runID: runID, what: "the plan of target \(target)") }
                    all.append(stored)
                    continue
                }
                guard let text = row[5] else { continue }
                var plan: TargetPlan
                if let known = decoded[text] {
                    plan = known
                } else {
                    guard let fresh = ControlStore.decode(TargetPlan.self, text) else {
                        throw .corrupt(runID: runID, what: "the plan of target \(target)")
                    }
                    decoded[text] = fresh
                    plan = fresh
                }
                plan.target = target
                plan.environment = environment
                plan.reason = row[6] ?? ""
                all.append(plan)
            }
            guard rows.count == Self.outcomePage, let last = rows.last?[0].flatMap({ Int($0) }) else { return all }
            after = last
        }
    }

    /// Rows per query when a run's targets are read back.
    static let outcomePage = 2_000

    /// The runs, newest first, with counts, runners seen and their last heartbeat.
    package func runs(limit: Int = 50) throws(ControlError) -> [RunSummary] {
        let rows = try with { session throws(BackendError) in
            try session.query(
                """
                SELECT r.run_id, r.inventory, r.plan, r.desired_version, r.state, r.halted, r.stop_requested,
                    extract(epoch from r.created_at)::float8,
                    (SELECT json_object_agg(k, n)::text FROM (
                        SELECT coalesce(t.outcome, t.state) AS k, count(*) AS n FROM tidemark_control.targets t
                        WHERE t.run_id = r.run_id GROUP BY 1) c),
                    (SELECT string_agg(runner, ',' ORDER BY joined_at) FROM tidemark_control.runners x WHERE x.run_id = r.run_id),
                    (SELECT extract(epoch from max(heartbeat_at))::float8 FROM tidemark_control.runners x WHERE x.run_id = r.run_id),
                    (SELECT count(*) FROM tidemark_control.runners x WHERE x.run_id = r.run_id AND \(ControlStore.isLive("x")))
                FROM tidemark_control.runs r ORDER BY r.created_at DESC LIMIT $1
                """, [String(limit)])
        }
        return rows.compactMap { row in
            guard let runID = row[0] else { return nil }
            return RunSummary(
                runID: runID, inventory: row[1] ?? "", plan: row[2] ?? "", desiredVersion: row[3], state: row[4] ?? "",
                halted: row[5],
                stopRequested: row[6] == "t", counts: ControlStore.decode([String: Int].self, row[8]) ?? [:],
                runners: row[9].map { $0.split(separator: ",").map(String.init) } ?? [],
                createdAt: Date(timeIntervalSince1970: row[7].flatMap(Double.init) ?? 0),
                lastHeartbeat: row[10].flatMap(Double.init).map(Date.init(timeIntervalSince1970:)),
                liveRunners: Int(row[11] ?? "0") ?? 0)
        }
    }

    /// Whether the runner row `alias` is alive: it has not left and renewed its heartbeat within
    /// its own lease (heartbeats come every third of it), the rule by which its targets are
    /// taken over. Rows from before leases were stored count a lease as 90 s.
    package static func isLive(_ alias: String) -> String {
        "\(alias).left_at IS NULL AND \(alias).heartbeat_at > now() - coalesce(\(alias).lease_ms, 90000) * interval '1 millisecond'"
    }

    static func insertEvent(_ event: Event, runID: String, on session: PostgresSession) throws(BackendError) {
        try session.query(
            "INSERT INTO tidemark_control.events (run_id, event) VALUES ($1, $2::jsonb)",
            [runID, ControlStore.json(event)])
    }
}
