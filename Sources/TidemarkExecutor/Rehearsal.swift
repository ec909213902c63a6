import Foundation
import Logging
import TidemarkCore

/// What rehearsing one version found
/// (docs/recovery.md#rehearse-test-every-undo-script-on-a-scratch-database).
package enum RehearsalVerdict: String, Sendable, Codable, CaseIterable {
    /// Forward, undo and forward again all ran; the undo restored the previous schema exactly.
    case ok
    /// As `ok`, except that the undo left some table's columns in another physical order.
    case columnOrder = "column-order"
    /// After the undo, the schema differs from the previous version's; the diff names how.
    case undoDoesNotRestore = "undo-does-not-restore"
    case forwardFails = "forward-fails"
    /// The forward script ran but the version's verify script (Sqitch's `verify/`) failed after it.
    case verifyFails = "verify-fails"
    case undoFails = "undo-fails"
    /// The forward script failed when run again after its undo.
    case reapplyFails = "re-apply-fails"
    /// The forward script ran again after its undo but built a different schema than the first time.
    case reapplyDiffers = "re-apply-differs"
    /// The undo script is marked `-- tidemark:irreversible`: only a restore goes back.
    case irreversible
    /// The version has no undo script.
    case noUndo = "no-undo"
    /// Not rehearsed: an earlier version's forward failed (or the run stopped at a failure).
    case notRun = "not-run"

    /// Whether this verdict fails the rehearsal (exit 1). A missing or irreversible undo is a
    /// declared fact about the plan, said in the report, not a defect found.
    package var isFailure: Bool {
        switch self {
        case .ok, .columnOrder, .irreversible, .noUndo, .notRun: return false
        case .undoDoesNotRestore, .forwardFails, .verifyFails, .undoFails, .reapplyFails, .reapplyDiffers: return true
        }
    }
}

/// One version's rehearsal. Thread-safe value.
package struct RehearsalResult: Sendable, Hashable, Codable {
    package var version: String
    package var description: String
    package var verdict: RehearsalVerdict
    /// For `undo-does-not-restore`, `re-apply-differs` and `column-order`: what differs
    /// (missing: expected but absent; unexpected: present but not expected).
    package var diff: SchemaDiff?
    /// The failing script's error, or why the version was not rehearsed.
    package var error: String?
    /// The schema's hash after the forward script, when it ran.
    package var fingerprint: String?

    package init(
        version: String, description: String, verdict: RehearsalVerdict, diff: SchemaDiff? = nil, error: String? = nil,
        fingerprint: String? = nil
    ) {
        self.version = version
        self.description = description
        self.verdict = verdict
        self.diff = diff
        self.error = error
        self.fingerprint = fingerprint
    }
}

/// A whole rehearsal: `tidemark rehearse --json` prints it (without the fingerprints' lines,
/// which go to `fingerprints.json`). Thread-safe value.
package struct RehearsalReport: Sendable, Hashable, Encodable {
    package var schema = "tidemark.rehearsal/v1"
    package var plan: String
    package var backend: BackendKind
    /// Where the scratch databases were made (no password).
    package var scratch: String
    package var results: [RehearsalResult]
    /// Version → the schema after its forward script, for every version whose forward ran.
    package var fingerprints: [String: SchemaFingerprint]
    /// How many times the scratch database was rebuilt after a failure.
    package var rebuilds: Int
    package var elapsedMS: Int64

    package init(
        plan: String, backend: BackendKind, scratch: String, results: [RehearsalResult],
        fingerprints: [String: SchemaFingerprint],
        rebuilds: Int, elapsedMS: Int64
    ) {
        self.plan = plan
        self.backend = backend
        self.scratch = scratch
        self.results = results
        self.fingerprints = fingerprints
        self.rebuilds = rebuilds
        self.elapsedMS = elapsedMS
    }

    package var failures: [RehearsalResult] { results.filter { $0.verdict.isFailure } }
    package var passed: Bool { failures.isEmpty && !results.contains { $0.verdict == .notRun } }

    private enum CodingKeys: String, CodingKey {
        case schema, plan, backend, scratch, results, rebuilds
        case elapsedMS = "elapsed_ms"
    }
}

/// Rehearses a plan's rollback path on scratch databases
/// (docs/recovery.md#rehearse-test-every-undo-script-on-a-scratch-database): for each version in
/// order, forward, fingerprint, verify (when the version has a verify script), undo, check the
/// schema equals the previous version's, forward again, verify again, check it equals the first
/// time's.
///
/// After a failure the scratch database is dropped and rebuilt by applying every forward script
/// up to and including the failed version, so one bad undo does not poison the versions after
/// it. A version whose forward fails ends the rehearsal: nothing after it can be built.
///
/// Blocking: run it on an executor-owned thread. Thread-safe value.
package struct Rehearsal: Sendable {
    package var plan: Plan
    package var scratch: any ScratchDatabaseProvider
    package var timeouts: Timeouts
    package var logger: Logger
    /// Rehearse versions from here (earlier ones are applied forward to build the start state).
    package var from: Version?
    /// Rehearse up to and including this version.
    package var to: Version?
    /// Go on after a failed version (with a rebuilt database) instead of stopping.
    package var keepGoing: Bool

    package init(
        plan: Plan, scratch: any ScratchDatabaseProvider, timeouts: Timeouts = Timeouts(statementTimeout: .zero),
        logger: Logger,
        from: Version? = nil, to: Version? = nil, keepGoing: Bool = false
    ) {
        self.plan = plan
        self.scratch = scratch
        self.timeouts = timeouts
        self.logger = logger
        self.from = from
        self.to = to
        self.keepGoing = keepGoing
    }

    /// A failure of the scratch database itself (not of a script): creating, connecting, reading.
    package struct ScratchFailure: Error, Sendable, CustomStringConvertible {
        package var message: String
        package var description: String { message }
    }

    /// Runs the rehearsal. `progress` gets each result as it is decided.
    package func run(progress: (RehearsalResult) -> Void = { _ in }) throws(ScratchFailure) -> RehearsalReport {
        let started = ContinuousClock.now
        let migrations = plan.migrations.filter { migration in to.map { migration.version <= $0 } ?? true }
        let setup = migrations.filter { migration in from.map { migration.version < $0 } ?? false }
        let rehearsed = migrations.filter { migration in from.map { migration.version >= $0 } ?? true }

        var session = try ScratchSession(provider: scratch, timeouts: timeouts, logger: logger)
        defer { session.dropAll() }
        try session.applyForwards(setup)
        var previous = try session.fingerprint()

        var results: [RehearsalResult] = []
        var fingerprints: [String: SchemaFingerprint] = [:]
        var stopped: String?
        for (index, migration) in rehearsed.enumerated() {
            if let stopped {
                let result = RehearsalResult(
                    version: migration.version.text, description: migration.description, verdict: .notRun,
                    error: stopped)
                results.append(result)
                progress(result)
                continue
            }
            let outcome = try rehearse(migration, previous: previous, session: &session)
            var result = outcome.result
            if let after = outcome.afterForward {
                fingerprints[migration.version.text] = after
                result.fingerprint = after.hash
                previous = after
            }
            results.append(result)
            progress(result)
            guard result.verdict.isFailure else { continue }
            if result.verdict == .forwardFails {
                stopped = "not rehearsed: version \(migration.version) failed forward, so nothing after it can be built"
                continue
            }
            if !keepGoing {
                stopped =
                    "not rehearsed: the rehearsal stopped at version \(migration.version) (use --keep-going to go on)"
                continue
            }
            // A clean start for the next version: every forward up to this one, on a new database.
            try session.rebuild(with: setup + rehearsed[...index])
            previous = try session.fingerprint()
        }
        return RehearsalReport(
            plan: plan.name, backend: scratch.backend.kind, scratch: scratch.location, results: results,
            fingerprints: fingerprints,
            rebuilds: session.rebuilds, elapsedMS: (ContinuousClock.now - started).milliseconds)
    }

    /// One version: forward, fingerprint, undo, compare, forward, compare.
    private func rehearse(_ migration: Migration, previous: SchemaFingerprint, session: inout ScratchSession)
        throws(ScratchFailure)
        -> (result: RehearsalResult, afterForward: SchemaFingerprint?)
    {
        let version = migration.version.text
        func result(_ verdict: RehearsalVerdict, diff: SchemaDiff? = nil, error: String? = nil) -> RehearsalResult {
            RehearsalResult(
                version: version, description: migration.description, verdict: verdict, diff: diff, error: error)
        }
        if let error = session.run(migration, .forward) {
            return (result(.forwardFails, error: error), nil)
        }
        let afterForward = try session.fingerprint()
        if let error = session.verify(migration) {
            return (result(.verifyFails, error: error), afterForward)
        }
        guard let undo = migration.undo else { return (result(.noUndo), afterForward) }
        if let reason = undo.irreversible { return (result(.irreversible, error: reason), afterForward) }
        if let error = session.run(migration, .undo) {
            return (result(.undoFails, error: error), afterForward)
        }
        let afterUndo = try session.fingerprint()
        let undoComparison = afterUndo.compare(to: previous)
        if case .different(let diff) = undoComparison {
            return (result(.undoDoesNotRestore, diff: diff), afterForward)
        }
        if let error = session.run(migration, .forward) {
            return (result(.reapplyFails, error: error), afterForward)
        }
        if let error = session.verify(migration) {
            return (result(.verifyFails, error: "after re-applying: \(error)"), afterForward)
        }
        let afterReapply = try session.fingerprint()
        switch afterReapply.compare(to: afterForward) {
        case .equal: break
        case .columnOrder(let diff), .different(let diff):
            return (result(.reapplyDiffers, diff: diff), afterForward)
        }
        if case .columnOrder(let diff) = undoComparison {
            return (result(.columnOrder, diff: diff), afterForward)
        }
        return (result(.ok), afterForward)
    }
}

/// The scratch database in use, and how to run a plan's scripts on it. Not thread-safe: one
/// rehearsal's thread owns it.
private struct ScratchSession {
    let provider: any ScratchDatabaseProvider
    let timeouts: Timeouts
    let logger: Logger
    var target: Target
    var connection: any BackendConnection
    var rebuilds = 0
    let runID = "rehearse-\(UInt32.random(in: 0...UInt32.max))"

    init(provider: any ScratchDatabaseProvider, timeouts: Timeouts, logger: Logger) throws(Rehearsal.ScratchFailure) {
        self.provider = provider
        self.timeouts = timeouts
        self.logger = logger
        (target, connection) = try Self.open(provider, timeouts: timeouts, logger: logger)
    }

    private static func open(_ provider: any ScratchDatabaseProvider, timeouts: Timeouts, logger: Logger)
        throws(Rehearsal.ScratchFailure)
        -> (Target, any BackendConnection)
    {
        let target: Target
        do {
            target = try provider.create()
        } catch {
            throw Rehearsal.ScratchFailure(
                message: "cannot create a scratch database at \(provider.location): \(error)")
        }
        do {
            let connection = try provider.backend.connect(to: target, timeouts: timeouts, logger: logger)
            try connection.ensureHistoryTable()
            return (target, connection)
        } catch {
            provider.drop(target)
            throw Rehearsal.ScratchFailure(message: "cannot use the scratch database at \(provider.location): \(error)")
        }
    }

    /// Runs one script; returns its error text, or nil when it succeeded.
    func run(_ migration: Migration, _ kind: StepKind) -> String? {
        let script = kind == .undo ? migration.undo : migration.forward
        guard let script else { return "no \(kind.rawValue) script" }
        var request = StepRequest(
            version: migration.version.text, description: migration.description, kind: kind, scriptPath: script.path,
            sql: script.sql,
            checksum: script.checksum, transactional: script.isTransactional, runID: runID,
            appliedBy: "tidemark rehearse")
        do {
            if let spec = script.batch {
                // Batched as apply runs it (docs/backfills.md): on a scratch database, usually one batch.
                request.batch = spec
                let step = PlannedStep(
                    version: migration.version, description: migration.description, kind: kind, script: script.path,
                    checksum: script.checksum, transactional: true)
                let backfill = Backfill(
                    step: step, request: request, spec: spec, target: connection.target.name,
                    environment: connection.target.environment,
                    history: try connection.readHistory(), lockRetries: 0,
                    lockBackoff: Backoff(initial: .milliseconds(100), maximum: .seconds(1)),
                    logger: logger)
                var outcome = TargetOutcome(
                    target: connection.target.name, environment: connection.target.environment, action: .forward,
                    outcome: .failed, reason: "",
                    fromVersion: nil, toVersion: nil)
                guard try backfill.run(on: connection, into: &outcome, shouldStop: { false }, onEvent: { _ in }) else {
                    return outcome.reason.isEmpty ? (outcome.error ?? "the batched step stopped") : outcome.reason
                }
                return nil
            }
            try connection.run(request)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Runs the version's verify script, if it has one; returns its error text, or nil.
    func verify(_ migration: Migration) -> String? {
        guard let request = VerifyRequest(for: migration) else { return nil }
        do {
            try connection.verify(request)
            return nil
        } catch {
            return error.description
        }
    }

    func fingerprint() throws(Rehearsal.ScratchFailure) -> SchemaFingerprint {
        do {
            return try connection.fingerprint()
        } catch {
            throw Rehearsal.ScratchFailure(message: "cannot fingerprint the scratch database: \(error)")
        }
    }

    func applyForwards<Migrations: Sequence<Migration>>(_ migrations: Migrations) throws(Rehearsal.ScratchFailure) {
        for migration in migrations {
            if let error = run(migration, .forward) {
                throw Rehearsal.ScratchFailure(
                    message:
                        "cannot build the state before the rehearsed versions: version \(migration.version): \(error)")
            }
        }
    }

    /// A new scratch database holding every forward of `migrations`.
    mutating func rebuild<Migrations: Sequence<Migration>>(with migrations: Migrations) throws(Rehearsal.ScratchFailure)
    {
        connection.close()
        provider.drop(target)
        (target, connection) = try Self.open(provider, timeouts: timeouts, logger: logger)
        rebuilds += 1
        logger.info("scratch database rebuilt", metadata: ["rebuilds": "\(rebuilds)"])
        try applyForwards(migrations)
    }

    func dropAll() {
        connection.close()
        provider.drop(target)
    }
}
