import TidemarkCore
import TidemarkPostgres

/// The control database's own schema, `tidemark_control`, migrated by Tidemark like any plan:
/// numbered migrations recorded in `tidemark_control.schema_version`, each applied once under a
/// transaction-scoped advisory lock so runners starting together migrate it once. Pure data and
/// one blocking function.
package enum ControlSchema {
    /// The migrations this binary knows, in order; version N is `migrations[N - 1]`.
    static let migrations: [String] = [
        """
        CREATE TABLE tidemark_control.runs (
            run_id text PRIMARY KEY,
            run_key text NOT NULL,
            inventory text NOT NULL,
            plan text NOT NULL,
            selection text NOT NULL,
            desired_version text,
            strategy text NOT NULL,
            scripts jsonb NOT NULL,
            state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'finished')),
            halted text,
            stop_requested boolean NOT NULL DEFAULT false,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        );
        CREATE UNIQUE INDEX runs_one_open_per_key ON tidemark_control.runs (run_key) WHERE state = 'running';
        CREATE TABLE tidemark_control.targets (
            run_id text NOT NULL REFERENCES tidemark_control.runs ON DELETE CASCADE,
            target text NOT NULL,
            environment text NOT NULL,
            wave integer NOT NULL,
            position integer NOT NULL,
            canary boolean NOT NULL,
            max_failures integer,
            plan jsonb NOT NULL,
            replan boolean NOT NULL DEFAULT false,
            state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'done')),
            runner text,
            lease_until timestamptz,
            claims integer NOT NULL DEFAULT 0,
            outcome text,
            result jsonb,
            finished_at timestamptz,
            PRIMARY KEY (run_id, target)
        );
        CREATE INDEX targets_open ON tidemark_control.targets (run_id, wave, position) WHERE state <> 'done';
        CREATE INDEX targets_open_canaries ON tidemark_control.targets (run_id, wave) WHERE canary AND state <> 'done';
        CREATE TABLE tidemark_control.runners (
            run_id text NOT NULL REFERENCES tidemark_control.runs ON DELETE CASCADE,
            runner text NOT NULL,
            serves text NOT NULL,
            joined_at timestamptz NOT NULL DEFAULT now(),
            heartbeat_at timestamptz NOT NULL DEFAULT now(),
            left_at timestamptz,
            PRIMARY KEY (run_id, runner)
        );
        CREATE TABLE tidemark_control.events (
            id bigserial PRIMARY KEY,
            run_id text NOT NULL REFERENCES tidemark_control.runs ON DELETE CASCADE,
            event jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            delivered_by text,
            delivered_at timestamptz
        );
        CREATE INDEX events_undelivered ON tidemark_control.events (run_id, id) WHERE delivered_at IS NULL;
        """,
        // 2: a run's targets read back a page at a time in rollout order (ControlStore.outcomes).
        """
        CREATE INDEX targets_position ON tidemark_control.targets (run_id, position);
        """,
        // Each runner's lease: a runner that missed a whole lease of heartbeats is dead, the same
        // rule that lets others take its targets over (a waiting runner says when only dead ones serve a wave).
        """
        ALTER TABLE tidemark_control.runners ADD COLUMN lease_ms bigint;
        """,
        // 4: each wave's rule as the run was opened (WavePolicy): its failure budget, stored for
        // every environment (version 3 and before stored none outside prod: unlimited), and its
        // environment's concurrency, which holds across every runner's claims; and the wave that
        // still finishes its own targets after a halt (a non-prod wave over its budget).
        """
        CREATE TABLE tidemark_control.waves (
            run_id text NOT NULL REFERENCES tidemark_control.runs ON DELETE CASCADE,
            wave integer NOT NULL,
            environment text NOT NULL,
            tier text NOT NULL,
            max_failures integer NOT NULL,
            concurrency integer,
            PRIMARY KEY (run_id, wave)
        );
        ALTER TABLE tidemark_control.runs ADD COLUMN finishing_wave integer;
        """,
        // 5: approvals (docs/on-call.md#approvals): which waves wait for a person, and each
        // decision with who made it (the OS user, `--as`, the control database's session_user).
        """
        ALTER TABLE tidemark_control.waves ADD COLUMN IF NOT EXISTS approval_required boolean NOT NULL DEFAULT false;
        CREATE TABLE IF NOT EXISTS tidemark_control.approvals (
            run_id text NOT NULL REFERENCES tidemark_control.runs ON DELETE CASCADE,
            environment text NOT NULL,
            decision text NOT NULL CHECK (decision IN ('approved', 'rejected')),
            os_user text NOT NULL,
            as_name text,
            session_user_name text NOT NULL,
            note text,
            decided_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (run_id, environment)
        );
        """,
        // 6: the fleet the run's first runner read from its inventory's `discover:` sources
        // (docs/tenants.md#a-shared-run-stores-its-fleet): every runner that joins works on it
        // instead of reading the sources again. Connection strings are stored without passwords.
        """
        ALTER TABLE tidemark_control.runs ADD COLUMN IF NOT EXISTS fleet jsonb;
        """,
        // 7: a shared run's `--override-window` (docs/windows.md#shared-runs), given by the
        // run's creator and honoured by every runner; and the incidents the on-call sinks have
        // open for shared runs (docs/on-call.md#incidents-open-and-resolve), so the run that
        // fixes a target resolves its incident whichever runner delivers it. Idempotent and
        // independent of version 6, so it applies after any version 6.
        """
        ALTER TABLE tidemark_control.runs ADD COLUMN IF NOT EXISTS window_override jsonb;
        CREATE TABLE IF NOT EXISTS tidemark_control.incidents (
            inventory text NOT NULL,
            sink text NOT NULL,
            key text NOT NULL,
            incident jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (inventory, sink, key)
        );
        """,
        // 8: each distinct plan of a run stored once (docs/tenants.md#batched-claims): a tenant
        // fleet's targets mostly share one plan but for their name, environment and reason, so a
        // target row holds those and the number of its plan, and is small (a row carrying its
        // 1.7 KB plan was rewritten whole by every claim and every outcome, and a joining runner
        // read 100,000 plans). Rows of runs stored before keep their own `plan` (then `plan_id`
        // is NULL).
        """
        CREATE TABLE IF NOT EXISTS tidemark_control.plans (
            run_id text NOT NULL REFERENCES tidemark_control.runs ON DELETE CASCADE,
            plan_id integer NOT NULL,
            plan jsonb NOT NULL,
            PRIMARY KEY (run_id, plan_id)
        );
        ALTER TABLE tidemark_control.targets ALTER COLUMN plan DROP NOT NULL;
        ALTER TABLE tidemark_control.targets ADD COLUMN IF NOT EXISTS plan_id integer;
        ALTER TABLE tidemark_control.targets ADD COLUMN IF NOT EXISTS reason text;
        """,
    ]

    /// The newest schema version this binary writes.
    package static var currentVersion: Int { migrations.count }

    /// A constant key for `pg_advisory_xact_lock`: runners starting together migrate once.
    static let migrationLockKey = "7469646d61726b01" // "tidm" "ark" 01

    /// Creates or migrates `tidemark_control`; refuses a schema newer than `currentVersion`.
    /// Returns the version it found before migrating.
    @discardableResult
    package static func migrate(_ session: PostgresSession, appliedBy: String) throws(ControlError) -> Int {
        do {
            return try session.transaction { session throws(BackendError) -> Result<Int, ControlError> in
                try session.query("SELECT pg_advisory_xact_lock(x'\(migrationLockKey)'::bigint)")
                // Checked first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when
                // the schema exists, which a runner's role (owning only its schema) lacks.
                if try session.query("SELECT 1 FROM pg_namespace WHERE nspname = 'tidemark_control'").isEmpty {
                    try session.execute("CREATE SCHEMA tidemark_control")
                }
                try session.execute(
                    """
                    CREATE TABLE IF NOT EXISTS tidemark_control.schema_version (
                        version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL)
                    """)
                let found =
                    Int(
                        try session.query("SELECT coalesce(max(version), 0) FROM tidemark_control.schema_version")
                            .first?.first??.description ?? "0") ?? 0
                guard found <= currentVersion else {
                    return .failure(.schemaTooNew(found: found, known: currentVersion))
                }
                for version in (found + 1)...max(found + 1, currentVersion) where version <= currentVersion {
                    try session.execute(migrations[version - 1])
                    try session.query(
                        "INSERT INTO tidemark_control.schema_version (version, applied_by) VALUES ($1, $2)",
                        [String(version), appliedBy])
                }
                return .success(found)
            }.get()
        } catch let error as ControlError {
            throw error
        } catch let error as BackendError {
            throw .unreachable(error)
        } catch {
            throw .lost(.queryFailed(target: session.name, message: "\(error)", sqlState: nil))
        }
    }
}
