import Dispatch
import Foundation
import Logging
import Synchronization
import TidemarkCore

/// A conformance check that did not hold: names the backend, the check and what went wrong.
/// Thread-safe value.
package struct ConformanceFailure: Error, Sendable, CustomStringConvertible {
    package var fixture: String
    package var check: String
    package var message: String

    package init(fixture: String, check: String, message: String) {
        self.fixture = fixture
        self.check = check
        self.message = message
    }

    package var description: String { "\(fixture) backend fails \(check): \(message)" }
}

/// One named check of `BackendConformance`. Thread-safe value.
package struct ConformanceCheck: Sendable, CustomStringConvertible {
    package let name: String
    package let run: @Sendable (any BackendFixture) throws -> Void

    package init(name: String, run: @escaping @Sendable (any BackendFixture) throws -> Void) {
        self.name = name
        self.run = run
    }

    package var description: String { name }
}

/// The behaviour every backend must show, the in-memory fake included (golang-migrate's
/// `database/testing/testing.go` is the model). Each check takes a fixture, works on fresh
/// targets, and throws a `ConformanceFailure` (or the backend's own unexpected error) when the
/// backend misbehaves. Plain functions, no test framework, so any test runner can call them.
/// Thread-safe: checks share nothing but the fixture.
package enum BackendConformance {
    /// Every check, in a stable order.
    package static let allChecks: [ConformanceCheck] = [
        ConformanceCheck(name: "historyTableIsCreatedIdempotently", run: historyTableIsCreatedIdempotently),
        ConformanceCheck(name: "newTargetHasEmptyHistory", run: newTargetHasEmptyHistory),
        ConformanceCheck(name: "lockIsExclusiveAcrossConnections", run: lockIsExclusiveAcrossConnections),
        ConformanceCheck(name: "forwardThenUndoFoldsIntoTargetState", run: forwardThenUndoFoldsIntoTargetState),
        ConformanceCheck(name: "failedTransactionalStepLeavesNoTrace", run: failedTransactionalStepLeavesNoTrace),
        ConformanceCheck(
            name: "failedNoTransactionStepLeavesTargetDirty", run: failedNoTransactionStepLeavesTargetDirty),
        ConformanceCheck(
            name: "failedNoTransactionStepSaysWhereItStopped", run: failedNoTransactionStepSaysWhereItStopped),
        ConformanceCheck(
            name: "repairRowRecordsAResolutionWithoutRunningSQL", run: repairRowRecordsAResolutionWithoutRunningSQL),
        ConformanceCheck(
            name: "failedScriptInsideItsOwnTransactionIsRolledBack",
            run: failedScriptInsideItsOwnTransactionIsRolledBack),
        ConformanceCheck(name: "noTransactionStepCompletesItsRow", run: noTransactionStepCompletesItsRow),
        ConformanceCheck(name: "statementTimeoutStopsSlowStatement", run: statementTimeoutStopsSlowStatement),
        ConformanceCheck(name: "cancelStopsRunningStatement", run: cancelStopsRunningStatement),
        ConformanceCheck(name: "cancelWhileIdleIsANoOp", run: cancelWhileIdleIsANoOp),
        ConformanceCheck(
            name: "skipAndBaselineRecordRowsWithoutRunningSQL", run: skipAndBaselineRecordRowsWithoutRunningSQL),
        ConformanceCheck(name: "historyRowsRecordStepDetails", run: historyRowsRecordStepDetails),
        ConformanceCheck(name: "historyPersistsAcrossConnections", run: historyPersistsAcrossConnections),
        ConformanceCheck(name: "closedConnectionRefusesWork", run: closedConnectionRefusesWork),
        ConformanceCheck(name: "siblingSchemasAreIndependent", run: siblingSchemasAreIndependent),
        ConformanceCheck(name: "fingerprintIgnoresBuildPathAndHistory", run: fingerprintIgnoresBuildPathAndHistory),
        ConformanceCheck(name: "fingerprintNamesEveryDifference", run: fingerprintNamesEveryDifference),
        ConformanceCheck(name: "fingerprintSeesColumnOrderApart", run: fingerprintSeesColumnOrderApart),
        ConformanceCheck(
            name: "readOnlyConnectionToANewTargetCreatesNothing", run: readOnlyConnectionToANewTargetCreatesNothing),
        ConformanceCheck(
            name: "readOnlyConnectionReadsButRefusesChanges", run: readOnlyConnectionReadsButRefusesChanges),
        ConformanceCheck(
            name: "estimatedRowsReadsOnlyAndOmitsMissingRelations", run: estimatedRowsReadsOnlyAndOmitsMissingRelations),
        ConformanceCheck(
            name: "foreignTableRowsReadAsTextOnAReadOnlyConnection",
            run: foreignTableRowsReadAsTextOnAReadOnlyConnection),
        ConformanceCheck(name: "verifyRecordsNothingAndChangesNothing", run: verifyRecordsNothingAndChangesNothing),
    ]

    /// Generous timeouts: the checks that test a timeout set their own.
    package static let timeouts = Timeouts(
        lockTimeout: .seconds(5), statementTimeout: .seconds(30), connectTimeout: .seconds(10))

    // MARK: History table

    /// `ensureHistoryTable` can run any number of times, from any connection, and never loses rows.
    package static func historyTableIsCreatedIdempotently(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "history-idempotent")
            let first = try c.connect(target)
            try first.ensureHistoryTable()
            try first.ensureHistoryTable()
            try c.expect(try first.readHistory().isEmpty, "history is not empty right after ensureHistoryTable()")
            try first.run(step("1", .forward, sql: fixture.createTableSQL("tm_idempotent")))
            let second = try c.connect(target)
            try second.ensureHistoryTable()
            try first.ensureHistoryTable()
            let rows = try second.readHistory()
            try c.expect(rows.count == 1, "ensureHistoryTable() on an existing table changed the rows: \(c.show(rows))")
        }
    }

    /// A fresh target reads as an empty history, before and after the table exists.
    package static func newTargetHasEmptyHistory(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "empty-history")
            let connection = try c.connect(target)
            let before = try connection.readHistory()
            try c.expect(before.isEmpty, "readHistory() before ensureHistoryTable() returned \(c.show(before))")
            try connection.ensureHistoryTable()
            let after = try connection.readHistory()
            try c.expect(after.isEmpty, "readHistory() on a new history table returned \(c.show(after))")
            try c.expect(TargetState(history: after) == .empty, "an empty history does not fold into TargetState.empty")
        }
    }

    // MARK: Lock

    /// One connection holds the lock at a time; unlock, close and dropping the connection release it.
    package static func lockIsExclusiveAcrossConnections(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "lock")
            let a = try c.connect(target)
            let b = try c.connect(target)
            try a.ensureHistoryTable()
            try c.expect(
                try a.tryLock(timeout: .milliseconds(200)), "the first tryLock on a free target returned false")
            let started = ContinuousClock.now
            try c.expect(
                try !b.tryLock(timeout: .milliseconds(200)), "a second connection took the lock the first one holds")
            let waited = started.duration(to: .now)
            try c.expect(waited < .seconds(5), "tryLock(timeout: 200 ms) blocked for \(waited)")
            // The holder can still work while locked.
            try a.run(step("1", .forward, sql: fixture.createTableSQL("tm_locked")))

            try a.unlock()
            try c.expect(try b.tryLock(timeout: .seconds(2)), "tryLock still fails after the holder called unlock()")
            try c.expect(
                try !a.tryLock(timeout: .milliseconds(200)), "the lock was taken twice after being handed over")

            b.close()
            try c.expect(
                try a.tryLock(timeout: .seconds(2)), "closing the holder's connection did not release the lock")
            a.close()

            // A connection dropped without close() releases the lock too (deinit closes it).
            try holdLockAndDrop(target, c)
            let e = try c.connect(target)
            try c.expect(
                try c.eventually { try e.tryLock(timeout: .milliseconds(500)) },
                "a connection released without close() kept the lock")
        }
    }

    private static func holdLockAndDrop(_ target: Target, _ c: CheckContext) throws {
        let d = try c.connect(target)
        try c.expect(try d.tryLock(timeout: .seconds(2)), "tryLock failed after every holder closed")
    }

    // MARK: Steps

    /// Forward applies a version, undo takes it out again; both rows stay and the state folds.
    package static func forwardThenUndoFoldsIntoTargetState(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "forward-undo")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()

            let forward = try connection.run(step("1", .forward, sql: fixture.createTableSQL("tm_forward_undo")))
            try c.expect(forward.success, "the forward row returned by run() is not successful")
            var state = TargetState(history: try connection.readHistory())
            try c.expect(state.isApplied("1"), "version 1 is not applied after its forward step")
            try c.expect(
                try fixture.tableExists("tm_forward_undo", in: target), "the forward script's table does not exist")

            try connection.run(step("1", .undo, sql: "DROP TABLE tm_forward_undo"))
            let rows = try connection.readHistory()
            state = TargetState(history: rows)
            try c.expect(!state.isApplied("1"), "version 1 is still applied after its undo step")
            try c.expect(
                rows.map(\.kind) == [.forward, .undo] && rows.allSatisfy(\.success),
                "expected a successful forward row and a successful undo row, got \(c.show(rows))")
            try c.expect(
                try !fixture.tableExists("tm_forward_undo", in: target), "the table is still there after the undo step")

            // Up again, as `rehearse` does.
            try connection.run(step("1", .forward, sql: fixture.createTableSQL("tm_forward_undo")))
            state = TargetState(history: try connection.readHistory())
            try c.expect(state.isApplied("1") && state.entryCount == 3, "re-applying version 1 did not fold as applied")
        }
    }

    /// A transactional step whose script fails leaves nothing of it, one failed row, and the
    /// state as it was; the connection keeps working.
    package static func failedTransactionalStepLeavesNoTrace(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "failed-transaction")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()
            try connection.run(step("1", .forward, sql: fixture.createTableSQL("tm_base")))
            if !fixture.transactionalDDL {
                try failedStepWithoutTransactionalDDL(fixture, c, target, connection)
                return
            }

            let script = fixture.createTableSQL("tm_partial") + ";\n" + fixture.failingSQL + ";\n"
            let error = try c.expectFailure("a transactional step whose script fails") { () throws(BackendError) in
                try connection.run(step("2", .forward, sql: script))
            }
            guard case .stepFailed(let name, let version, let kind, let message, _, let dirty) = error else {
                throw c.failure("a failed script threw \(error) instead of BackendError.stepFailed")
            }
            try c.expect(name == target.name, "the error names '\(name)', not the target '\(target.name)'")
            try c.expect(
                version == "2" && kind == .forward, "the error names version \(version) \(kind), not 2 forward")
            try c.expect(!dirty, "a failed transactional step was reported dirty")
            try c.expect(!message.isEmpty, "the error has no message")

            try c.expect(
                try !fixture.tableExists("tm_partial", in: target),
                "the table created before the failing statement survived the rollback")
            try c.expect(try fixture.tableExists("tm_base", in: target), "the earlier version's table disappeared")

            let rows = try connection.readHistory()
            try c.expect(rows.count == 2, "expected 2 rows (v1 success, v2 failure), got \(c.show(rows))")
            if let failed = rows.last {
                try c.expect(
                    failed.version == "2" && !failed.success && failed.transactional,
                    "the failed row is not (version 2, success false, transactional true): \(c.show([failed]))")
                try c.expect(!(failed.error ?? "").isEmpty, "the failed row has no error text")
                try c.expect(failed.finishedAt != nil, "the failed transactional row has no finished_at")
            }
            let state = TargetState(history: rows)
            try c.expect(
                state.applied.map(\.version) == ["1"] && !state.isDirty,
                "the state changed after a failed transactional step: applied \(state.applied.map(\.version)), dirty \(state.isDirty)"
            )

            try connection.run(step("2", .forward, sql: fixture.createTableSQL("tm_partial")))
            try c.expect(
                TargetState(history: try connection.readHistory()).isApplied("2"),
                "the connection could not run the step again after a failure")
        }
    }

    /// Where DDL commits implicitly (MySQL, MariaDB): a DML-only step that fails is rolled back
    /// whole with a failed transactional row; a "transactional" step with DDL that fails is said
    /// honestly: dirty, recorded as non-transactional, at `statement 2 of 2`, its DDL in place.
    private static func failedStepWithoutTransactionalDDL(
        _ fixture: any BackendFixture, _ c: CheckContext, _ target: Target, _ connection: any BackendConnection
    ) throws {
        let table = ForeignTable(name: "tm_base", columns: ["id"])
        let dml = "INSERT INTO tm_base (id) VALUES (1);\n" + fixture.failingSQL + ";\n"
        let dmlError = try c.expectFailure("a DML-only step whose script fails") { () throws(BackendError) in
            try connection.run(step("2", .forward, sql: dml))
        }
        guard case .stepFailed(let name, "2", .forward, _, _, let dirty) = dmlError, name == target.name else {
            throw c.failure("a failed DML step threw \(dmlError) instead of BackendError.stepFailed for version 2")
        }
        try c.expect(!dirty, "a failed DML-only step was reported dirty")
        try c.expect(
            try connection.readRows(of: table)?.isEmpty == true,
            "the INSERT before the failing statement survived the rollback")
        var rows = try connection.readHistory()
        try c.expect(
            rows.count == 2 && rows.last.map { !$0.success && $0.transactional && $0.finishedAt != nil } == true,
            "expected v1 and a failed transactional v2 row, got \(c.show(rows))")

        let ddl = fixture.createTableSQL("tm_partial") + ";\n" + fixture.failingSQL + ";\n"
        let ddlError = try c.expectFailure("a step with DDL whose script fails") { () throws(BackendError) in
            try connection.run(step("3", .forward, sql: ddl))
        }
        guard case .stepFailed(_, "3", _, let message, _, let ddlDirty) = ddlError else {
            throw c.failure("a failed DDL step threw \(ddlError) instead of BackendError.stepFailed for version 3")
        }
        try c.expect(ddlDirty, "a failed step whose DDL committed was not reported dirty")
        try c.expect(message.contains("statement 2 of 2"), "the error does not say where the step stopped: \(message)")
        try c.expect(try fixture.tableExists("tm_partial", in: target), "the DDL before the failure is not in place")
        rows = try connection.readHistory()
        try c.expect(
            rows.last.map { $0.version == "3" && !$0.success && !$0.transactional && $0.finishedAt != nil } == true,
            "the DDL step's row is not (version 3, failed, non-transactional, finished): \(c.show(rows))")
        try c.expect(TargetState(history: rows).isDirty, "the target is not dirty after a half-applied DDL step")
    }

    /// A no-transaction step that fails leaves the target dirty, with the statements before the
    /// failure applied and those after it not.
    package static func failedNoTransactionStepLeavesTargetDirty(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "failed-no-transaction")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()

            let script =
                [fixture.createTableSQL("tm_before"), fixture.failingSQL, fixture.createTableSQL("tm_after")]
                .joined(separator: ";\n") + ";\n"
            let error = try c.expectFailure("a no-transaction step whose script fails") { () throws(BackendError) in
                try connection.run(step("1", .forward, sql: script, transactional: false))
            }
            guard case .stepFailed(let name, _, _, _, _, let dirty) = error else {
                throw c.failure("a failed no-transaction script threw \(error) instead of BackendError.stepFailed")
            }
            try c.expect(name == target.name, "the error names '\(name)', not the target")
            try c.expect(dirty, "a failed no-transaction step was not reported dirty")
            try c.expect(
                try fixture.tableExists("tm_before", in: target), "the statement before the failure did not take effect"
            )
            try c.expect(try !fixture.tableExists("tm_after", in: target), "a statement after the failure ran")

            let rows = try connection.readHistory()
            try c.expect(rows.count == 1, "expected one row, got \(c.show(rows))")
            if let row = rows.first {
                try c.expect(
                    !row.success && !row.transactional && !(row.error ?? "").isEmpty && row.finishedAt != nil,
                    "expected a finished row with success false, transactional false and an error: \(c.show(rows))")
            }
            let state = TargetState(history: rows)
            try c.expect(state.isDirty && state.dirty?.version == "1", "the target does not read as dirty at version 1")
            try c.expect(!state.isApplied("1"), "the failed version reads as applied")

            // A later successful run of the same version (after a human fixed it) clears dirty.
            try connection.run(step("1", .forward, sql: fixture.createTableSQL("tm_after"), transactional: false))
            let repaired = TargetState(history: try connection.readHistory())
            try c.expect(
                !repaired.isDirty && repaired.isApplied("1"), "a successful re-run did not clear the dirty state")
        }
    }

    /// A failed no-transaction step says how many statements completed and where the failing one
    /// starts (docs/recovery.md#when-a-target-is-dirty: `stopped at statement 3 of 4, line 3`), in
    /// the error and the history row.
    package static func failedNoTransactionStepSaysWhereItStopped(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "statement-progress")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()
            let script =
                [
                    fixture.createTableSQL("tm_one"), fixture.createTableSQL("tm_two"), fixture.failingSQL,
                    fixture.createTableSQL("tm_four"),
                ]
                .joined(separator: ";\n") + ";\n"
            let error = try c.expectFailure("a no-transaction step whose third statement fails") {
                () throws(BackendError) in
                try connection.run(step("1", .forward, sql: script, transactional: false))
            }
            guard case .stepFailed(_, _, _, let message, _, _) = error else {
                throw c.failure("expected BackendError.stepFailed, got \(error)")
            }
            let expected = StatementProgress(completed: 2, total: 4, line: 3)
            try c.expect(
                StatementProgress(message: message) == expected,
                "the error does not start with '\(expected)': \(message)")
            let row = try connection.readHistory().last
            try c.expect(
                StatementProgress(message: row?.error ?? "") == expected,
                "the history row's error does not start with '\(expected)': \(c.show(row.map { [$0] } ?? []))")
        }
    }

    /// A `repair` step records a row and runs nothing; `rolled-back` ends the dirtiness with the
    /// version not applied, and the failed row stays.
    package static func repairRowRecordsAResolutionWithoutRunningSQL(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "repair-row")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()
            _ = try? connection.run(step("1", .forward, sql: fixture.failingSQL + ";\n", transactional: false))
            try c.expect(
                TargetState(history: try connection.readHistory()).isDirty,
                "the failed no-transaction step did not leave the target dirty")
            let repair = StepRequest(
                version: "1", description: RepairResolution.rolledBack.rowDescription("marked by hand"), kind: .repair,
                scriptPath: "",
                sql: fixture.createTableSQL("tm_never"), checksum: "c1", transactional: true, runID: "run-r",
                appliedBy: "tests")
            let row = try connection.run(repair)
            try c.expect(
                row.success && row.kind == .repair && row.repairResolution == .rolledBack,
                "the repair row reads back as \(c.show([row]))")
            try c.expect(try !fixture.tableExists("tm_never", in: target), "a repair step ran its SQL")
            let rows = try connection.readHistory()
            let state = TargetState(history: rows)
            try c.expect(
                rows.count == 2 && !state.isDirty && !state.isApplied("1"), "after rolled-back: \(c.show(rows))")
        }
    }

    /// A no-transaction script that opens its own transaction and fails inside it is rolled
    /// back; the row records the failure and the connection stays usable.
    package static func failedScriptInsideItsOwnTransactionIsRolledBack(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "own-transaction-failed")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()

            let script = "BEGIN;\n\(fixture.createTableSQL("tm_inside"));\n\(fixture.failingSQL);\nCOMMIT;\n"
            let error = try c.expectFailure("a script failing inside its own BEGIN … COMMIT") {
                () throws(BackendError) in
                try connection.run(step("1", .forward, sql: script, transactional: false))
            }
            guard case .stepFailed(_, _, _, _, _, let dirty) = error, dirty else {
                throw c.failure("expected BackendError.stepFailed(dirty: true), got \(error)")
            }
            // Where DDL commits implicitly the CREATE is in whatever the script's COMMIT would
            // have done; elsewhere the script's transaction took it back.
            try c.expect(
                try fixture.tableExists("tm_inside", in: target) == !fixture.transactionalDDL,
                fixture.transactionalDDL
                    ? "the script's own transaction was not rolled back"
                    : "the implicitly committed CREATE TABLE is missing")
            let rows = try connection.readHistory()
            try c.expect(
                rows.count == 1 && rows.allSatisfy { !$0.success && $0.finishedAt != nil && $0.error != nil },
                "expected one finished failed row, got \(c.show(rows))")

            try connection.run(step("2", .forward, sql: fixture.createTableSQL("tm_after_failure")))
            try c.expect(
                try fixture.tableExists("tm_after_failure", in: target),
                "the connection could not run a step after the script's transaction failed")
        }
    }

    /// A successful no-transaction step completes its row; a script with its own BEGIN … COMMIT
    /// runs as written.
    package static func noTransactionStepCompletesItsRow(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "no-transaction")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()

            let entry = try connection.run(
                step("1", .forward, sql: fixture.createTableSQL("tm_no_tx"), transactional: false))
            try c.expect(
                entry.success && !entry.transactional && entry.finishedAt != nil && entry.error == nil,
                "run() returned an incomplete row: \(c.show([entry]))")
            try connection.run(
                step(
                    "2", .forward, sql: "BEGIN;\n\(fixture.createTableSQL("tm_own_tx"));\nCOMMIT;\n",
                    transactional: false))
            let rows = try connection.readHistory()
            try c.expect(
                rows.count == 2 && rows.allSatisfy { $0.success && !$0.transactional && $0.finishedAt != nil },
                "expected two completed no-transaction rows, got \(c.show(rows))")
            let state = TargetState(history: rows)
            try c.expect(
                state.isApplied("1") && state.isApplied("2") && !state.isDirty,
                "the state does not show 1 and 2 applied")
            try c.expect(
                try fixture.tableExists("tm_no_tx", in: target), "the no-transaction script's table is missing")
            try c.expect(
                try fixture.tableExists("tm_own_tx", in: target), "the script's own transaction did not commit")
        }
    }

    // MARK: Timeouts and cancel

    /// A statement running past the statement timeout is stopped early and rolled back.
    package static func statementTimeoutStopsSlowStatement(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "statement-timeout")
            var short = timeouts
            short.statementTimeout = .milliseconds(300)
            let connection = try c.connect(target, timeouts: short)
            try connection.ensureHistoryTable()

            let started = ContinuousClock.now
            let error = try c.expectFailure("a 5 s statement under a 300 ms statement timeout") {
                () throws(BackendError) in
                try connection.run(step("1", .forward, sql: fixture.slowSQL(seconds: 5)))
            }
            let elapsed = started.duration(to: .now)
            try c.expect(elapsed < .seconds(3), "the statement was stopped only after \(elapsed)")
            switch error {
            case .cancelled: break
            case .stepFailed(_, _, _, _, _, let dirty):
                try c.expect(!dirty, "a timed-out transactional step was reported dirty")
            default: throw c.failure("a statement timeout threw \(error); expected stepFailed or cancelled")
            }
            let rows = try connection.readHistory()
            try c.expect(
                rows.count == 1 && rows.allSatisfy { !$0.success && $0.transactional },
                "expected one failed transactional row, got \(c.show(rows))")
            try c.expect(!TargetState(history: rows).isApplied("1"), "the timed-out version reads as applied")

            // The timeout must not stick to the connection.
            try connection.run(step("2", .forward, sql: fixture.createTableSQL("tm_after_timeout")))
            try c.expect(
                try fixture.tableExists("tm_after_timeout", in: target), "the step after a timeout did not run")
        }
    }

    /// `canceller.cancel()` from another thread stops a running statement; nothing is applied.
    package static func cancelStopsRunningStatement(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "cancel")
            let setup = try c.connect(target)
            try setup.ensureHistoryTable()
            setup.close()

            // The worker owns its connection (connections are not Sendable); only the canceller
            // and the outcome cross threads.
            let shared = Mutex<
                (canceller: (any StatementCanceller)?, outcome: Result<Void, BackendError>?, elapsed: Duration)
            >(
                (nil, nil, .zero))
            let finished = DispatchSemaphore(value: 0)
            let worker = Thread {
                defer { finished.signal() }
                do throws(BackendError) {
                    let connection = try fixture.backend.connect(to: target, timeouts: timeouts, logger: Logger.silent)
                    shared.withLock { $0.canceller = connection.canceller }
                    let started = ContinuousClock.now
                    defer { shared.withLock { $0.elapsed = started.duration(to: .now) } }
                    try connection.run(step("1", .forward, sql: fixture.slowSQL(seconds: 5)))
                    shared.withLock { $0.outcome = .success(()) }
                } catch {
                    shared.withLock { $0.outcome = .failure(error) }
                }
            }
            worker.start()

            // Cancelling before the statement starts is a no-op by contract, so keep asking
            // until the worker returns.
            let deadline = ContinuousClock.now.advanced(by: .seconds(8))
            Thread.sleep(forTimeInterval: 0.3)
            while finished.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                guard ContinuousClock.now < deadline else { throw c.failure("the worker did not finish within 8 s") }
                shared.withLock { $0.canceller }?.cancel()
            }
            let (outcome, elapsed) = shared.withLock { ($0.outcome, $0.elapsed) }
            switch outcome {
            case .success?, nil:
                throw c.failure("the 5 s statement ran to completion despite cancel()")
            case .failure(let error)?:
                switch error {
                case .cancelled: break
                case .stepFailed(_, _, _, _, _, let dirty):
                    try c.expect(!dirty, "a cancelled transactional step was reported dirty")
                default: throw c.failure("cancel() made run() throw \(error); expected cancelled or stepFailed")
                }
            }
            try c.expect(elapsed < .seconds(4), "the statement stopped only after \(elapsed)")

            let after = try c.connect(target)
            try c.expect(
                !TargetState(history: try after.readHistory()).isApplied("1"), "the cancelled version reads as applied")
        }
    }

    /// A cancel that arrives while nothing runs must not hit the next statement.
    package static func cancelWhileIdleIsANoOp(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "idle-cancel")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()
            connection.canceller.cancel()
            connection.canceller.cancel()
            try connection.run(step("1", .forward, sql: fixture.createTableSQL("tm_idle_cancel")))
            try connection.run(
                step("2", .forward, sql: fixture.createTableSQL("tm_idle_cancel_2"), transactional: false))
            let state = TargetState(history: try connection.readHistory())
            try c.expect(state.isApplied("1") && state.isApplied("2"), "a cancel sent while idle stopped a later step")
        }
    }

    // MARK: Rows

    /// `skip` and `baseline` steps record a successful row and never run SQL.
    package static func skipAndBaselineRecordRowsWithoutRunningSQL(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "skip")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()

            let skip = try connection.run(step("5", .skip, sql: "", scriptPath: ""))
            let baseline = try connection.run(step("7", .baseline, sql: "", scriptPath: ""))
            // Defensive: even if a caller passes SQL, a skip never runs it.
            try connection.run(step("8", .skip, sql: fixture.createTableSQL("tm_skipped"), scriptPath: ""))
            try c.expect(skip.success && baseline.success, "skip/baseline rows are not successful")
            try c.expect(try !fixture.tableExists("tm_skipped", in: target), "a skip step ran its SQL")

            let rows = try connection.readHistory()
            try c.expect(
                rows.map(\.kind) == [.skip, .baseline, .skip] && rows.allSatisfy { $0.success && $0.finishedAt != nil },
                "expected successful skip, baseline, skip rows, got \(c.show(rows))")
            let state = TargetState(history: rows)
            try c.expect(
                state.applied.map(\.version) == ["5", "7", "8"] && state.applied.first?.kind == .skip,
                "skip/baseline rows do not put their versions in effect: \(state.applied)")
        }
    }

    /// Rows keep what the step said (kinds, checksums, run ids, applied_by, description with
    /// quotes and non-ASCII text), ids and start times ascend, and `run` returns the stored row.
    package static func historyRowsRecordStepDetails(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "row-details")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()

            let requests = [
                step(
                    "1", .forward, sql: fixture.createTableSQL("tm_details"), runID: "run-a", appliedBy: "alice@ci-01",
                    description: "add 'email' — naïve \"quotes\" ✓"),
                step(
                    "1.1", .forward, sql: fixture.createTableSQL("tm_details_2"), transactional: false, runID: "run-a"),
                step("1.1", .undo, sql: "DROP TABLE tm_details_2", runID: "run-b", appliedBy: "bob"),
                step(
                    "2", .compensate, sql: fixture.createTableSQL("tm_details_3"), runID: "run-b", appliedBy: "bob",
                    attempt: 3),
                step("3", .skip, sql: "", scriptPath: "", runID: "run-c"),
                step("4", .baseline, sql: "", scriptPath: "", runID: "run-c"),
            ]
            let before = Date().addingTimeInterval(-2)
            var returned: [HistoryEntry] = []
            for request in requests { returned.append(try connection.run(request)) }
            let after = Date().addingTimeInterval(2)
            let rows = try connection.readHistory()
            try c.expect(rows.count == requests.count, "expected \(requests.count) rows, got \(c.show(rows))")

            var previous: HistoryEntry?
            for (index, (request, row)) in zip(requests, rows).enumerated() {
                let label = "row \(index + 1) (\(request.kind.rawValue) \(request.version))"
                try c.expect(
                    row.version == request.version && row.kind == request.kind && row.description == request.description
                        && row.script == request.scriptPath && row.checksum == request.checksum
                        && row.runID == request.runID && row.appliedBy == request.appliedBy,
                    "\(label) does not keep the request's fields: \(c.show([row]))")
                try c.expect(row.success && row.error == nil, "\(label) is not a clean success: \(c.show([row]))")
                // Without transactional DDL a step with DDL runs, and is recorded, outside a transaction.
                let transactional = request.transactional && (fixture.transactionalDDL || request.sql.isEmpty)
                try c.expect(row.transactional == transactional, "\(label) has transactional \(row.transactional)")
                try c.expect(
                    row.attempt == request.attempt, "\(label) has attempt \(row.attempt), not \(request.attempt)")
                try c.expect(
                    row.startedAt >= before && row.startedAt <= after, "\(label) started_at \(row.startedAt) is not now"
                )
                guard let finished = row.finishedAt else { throw c.failure("\(label) has no finished_at") }
                try c.expect(finished.timeIntervalSince(row.startedAt) >= -0.001, "\(label) finished before it started")
                try c.expect(row.executionMS >= 0, "\(label) has a negative execution_ms")
                if let previous {
                    try c.expect(row.id > previous.id, "ids do not ascend: \(previous.id) then \(row.id)")
                    try c.expect(
                        row.startedAt.timeIntervalSince(previous.startedAt) >= -0.001,
                        "started_at goes back in time between row \(index) and \(label)")
                }
                let echo = returned[index]
                try c.expect(
                    echo.id == row.id && echo.version == row.version && echo.kind == row.kind
                        && echo.checksum == row.checksum && echo.success == row.success
                        && echo.transactional == row.transactional && echo.attempt == row.attempt
                        && abs(echo.startedAt.timeIntervalSince(row.startedAt)) < 0.002,
                    "run() returned \(c.show([echo])) but stored \(c.show([row]))")
                previous = row
            }
        }
    }

    /// What one connection wrote, a new connection reads.
    package static func historyPersistsAcrossConnections(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "persist")
            let first = try c.connect(target)
            try first.ensureHistoryTable()
            try first.run(step("1", .forward, sql: fixture.createTableSQL("tm_persist")))
            _ = try? first.run(step("2", .forward, sql: fixture.failingSQL))
            let written = try first.readHistory()
            first.close()

            let second = try c.connect(target)
            let read = try second.readHistory()
            try c.expect(
                read.map(\.id) == written.map(\.id) && read.map(\.success) == [true, false],
                "a new connection read \(c.show(read)) instead of \(c.show(written))")
            try c.expect(try fixture.tableExists("tm_persist", in: target), "the table did not persist")
        }
    }

    /// After `close()`, every call throws `BackendError.closed`; closing twice is harmless.
    package static func closedConnectionRefusesWork(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "closed")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()
            connection.close()
            connection.close()
            connection.canceller.cancel()
            for (operation, call) in [
                ("readHistory", { () throws(BackendError) in _ = try connection.readHistory() }),
                ("tryLock", { () throws(BackendError) in _ = try connection.tryLock(timeout: .milliseconds(50)) }),
                ("run", { () throws(BackendError) in _ = try connection.run(step("1", .forward, sql: "")) }),
            ] as [(String, () throws(BackendError) -> Void)] {
                let error = try c.expectFailure("\(operation) after close()", call)
                guard case .closed(let name) = error, name == target.name else {
                    throw c.failure("\(operation) after close() threw \(error) instead of BackendError.closed")
                }
            }
        }
    }

    // MARK: Schemas

    /// Two schemas of one database are independent targets: history, lock and tables. Passes
    /// trivially for backends without schemas (`makeSiblingTarget` returns nil).
    package static func siblingSchemasAreIndependent(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "schema-a")
            guard let sibling = try fixture.makeSiblingTarget(of: target, name: "schema-b") else { return }
            let a = try c.connect(target)
            let b = try c.connect(sibling)
            try a.ensureHistoryTable()
            try c.expect(try b.readHistory().isEmpty, "the sibling sees the first schema's history table")
            try b.ensureHistoryTable()

            try c.expect(try a.tryLock(timeout: .milliseconds(200)), "cannot lock the first schema")
            try c.expect(try b.tryLock(timeout: .milliseconds(200)), "locking one schema locked its sibling too")

            try a.run(step("1", .forward, sql: fixture.createTableSQL("tm_same_name")))
            try c.expect(
                try !fixture.tableExists("tm_same_name", in: sibling),
                "a table created in one schema shows in its sibling")
            try c.expect(try b.readHistory().isEmpty, "a step in one schema wrote to its sibling's history")
            try b.run(step("1", .forward, sql: fixture.createTableSQL("tm_same_name")))
            try c.expect(try fixture.tableExists("tm_same_name", in: sibling), "the sibling's own table is missing")
            try c.expect(
                try a.readHistory().count == 1 && b.readHistory().count == 1, "the histories are not one row each")
            try a.unlock()
            try b.unlock()
        }
    }

    // MARK: Fingerprints

    /// Runs `scripts` as forward steps 1, 2, … on `target` and returns its fingerprint.
    private static func build(_ target: Target, _ scripts: [String], _ c: CheckContext) throws -> SchemaFingerprint {
        let connection = try c.connect(target)
        defer { connection.close() }
        try connection.ensureHistoryTable()
        for (index, sql) in scripts.enumerated() {
            try connection.run(step("\(index + 1)", .forward, sql: sql))
        }
        return try connection.fingerprint()
    }

    /// The same structure reached by different scripts (a table created whole, or grown by
    /// `ADD COLUMN`; in a sibling schema where the backend has schemas) has one fingerprint, and
    /// the history table never counts.
    package static func fingerprintIgnoresBuildPathAndHistory(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let empty = try fixture.makeTarget(name: "fp-empty")
            let bare = try c.connect(empty)
            let beforeHistory = try bare.fingerprint()
            try bare.ensureHistoryTable()
            try bare.run(step("1", .forward, sql: "CREATE TABLE tm_fp_other (id integer)"))
            try bare.run(step("1", .undo, sql: "DROP TABLE tm_fp_other"))
            let afterHistory = try bare.fingerprint()
            bare.close()
            try c.expect(
                afterHistory.compare(to: beforeHistory) == .equal,
                "tidemark_history changed the fingerprint: \(afterHistory.compare(to: beforeHistory))")

            let whole = try fixture.makeTarget(name: "fp-whole")
            let grown =
                try fixture.makeSiblingTarget(of: whole, name: "fp-grown") ?? fixture.makeTarget(name: "fp-grown")
            let a = try build(
                whole, ["CREATE TABLE tm_fp (id integer, name text); CREATE INDEX tm_fp_name ON tm_fp (name)"], c)
            let b = try build(
                grown,
                [
                    "CREATE TABLE tm_fp (id integer)", "ALTER TABLE tm_fp ADD COLUMN name text",
                    "CREATE INDEX tm_fp_name ON tm_fp (name)",
                ], c)
            try c.expect(
                b.compare(to: a) == .equal,
                "equal structures have different fingerprints: \(b.compare(to: a).diff?.lines ?? [])")
            try c.expect(
                a.hash == b.hash && a.hash.count == 64, "equal structures have different hashes: \(a.hash) vs \(b.hash)"
            )
        }
    }

    /// One structural difference (an index, a column) changes the fingerprint, and the diff names it.
    package static func fingerprintNamesEveryDifference(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let base = "CREATE TABLE tm_fpd (id integer, name text)"
            let reference = try build(
                try fixture.makeTarget(name: "fpd-ref"), [base, "CREATE INDEX tm_fpd_name ON tm_fpd (name)"], c)
            let noIndex = try build(try fixture.makeTarget(name: "fpd-noindex"), [base], c)
            guard case .different(let diff) = noIndex.compare(to: reference) else {
                throw c.failure("a missing index left the fingerprint \(noIndex.compare(to: reference))")
            }
            try c.expect(noIndex.hash != reference.hash, "a missing index left the hash unchanged")
            try c.expect(
                diff.missing.contains { $0.contains("tm_fpd_name") } && diff.unexpected.isEmpty,
                "the diff does not name the missing index tm_fpd_name: \(diff.lines)")

            let extraColumn = try build(
                try fixture.makeTarget(name: "fpd-column"),
                [base, "CREATE INDEX tm_fpd_name ON tm_fpd (name)", "ALTER TABLE tm_fpd ADD COLUMN note text"], c)
            guard case .different(let columnDiff) = extraColumn.compare(to: reference) else {
                throw c.failure("an extra column left the fingerprint \(extraColumn.compare(to: reference))")
            }
            try c.expect(
                columnDiff.unexpected.contains { $0.hasPrefix("column tm_fpd.note") },
                "the diff does not name the extra column tm_fpd.note: \(columnDiff.lines)")
        }
    }

    /// Columns in another physical order (re-added last by an undo) are their own verdict:
    /// neither equal nor a structural difference.
    package static func fingerprintSeesColumnOrderApart(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let ordered = try build(
                try fixture.makeTarget(name: "fpo-a"), ["CREATE TABLE tm_fpo (id integer, a text, b text)"], c)
            let readded = try build(
                try fixture.makeTarget(name: "fpo-b"),
                ["CREATE TABLE tm_fpo (id integer, b text)", "ALTER TABLE tm_fpo ADD COLUMN a text"], c)
            guard case .columnOrder(let diff) = readded.compare(to: ordered) else {
                throw c.failure("columns in another order compare as \(readded.compare(to: ordered)), not column-order")
            }
            try c.expect(readded.structureHash == ordered.structureHash, "the structure hash depends on column order")
            try c.expect(
                diff.lines.contains { $0.contains("tm_fpo") },
                "the column-order diff does not name table tm_fpo: \(diff.lines)")
        }
    }

    // MARK: Helpers

    // MARK: Read-only connections

    /// A read-only connection to a target nothing has written yet creates nothing: where the
    /// database itself is missing (a SQLite file, an in-memory database) it fails with
    /// `databaseNotFound` naming the target, and asking again still finds nothing; where the
    /// database exists (a PostgreSQL schema) it reads an empty history and refuses to create
    /// the history table. Either way no `tidemark_history` appears.
    package static func readOnlyConnectionToANewTargetCreatesNothing(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "read-only-new")
            let connection: any BackendConnection
            do {
                connection = try c.connect(target, access: .readOnly)
            } catch let error as BackendError {
                guard case .databaseNotFound(let name, _) = error, name == target.name else {
                    throw c.failure(
                        "a read-only connection to a new target failed with \(error), not databaseNotFound naming \(target.name)"
                    )
                }
                let again = try c.expectFailure("a second read-only connection after a failed one") {
                    () throws(BackendError) in
                    try c.fixture.backend.connect(
                        to: target, access: .readOnly, timeouts: BackendConformance.timeouts, logger: Logger.silent
                    ).close()
                }
                guard case .databaseNotFound = again else {
                    throw c.failure(
                        "the failed read-only connection left something behind: the second one failed with \(again)")
                }
                try c.expect(
                    !(try fixture.tableExists("tidemark_history", in: target)),
                    "a failed read-only connection created tidemark_history")
                return
            }
            defer { connection.close() }
            let rows = try connection.readHistory()
            try c.expect(rows.isEmpty, "a read-only connection to a new target read \(c.show(rows))")
            let refused = try c.expectFailure("ensureHistoryTable() on a read-only connection") {
                () throws(BackendError) in try connection.ensureHistoryTable()
            }
            guard case .readOnly(let name, _) = refused, name == target.name else {
                throw c.failure(
                    "ensureHistoryTable() on a read-only connection failed with \(refused), not readOnly naming \(target.name)"
                )
            }
            try c.expect(
                !(try fixture.tableExists("tidemark_history", in: target)),
                "a read-only connection created tidemark_history")
        }
    }

    /// A read-only connection to a migrated target reads its history and fingerprint, and
    /// refuses the lock, the history table and steps with `readOnly`, changing nothing.
    package static func readOnlyConnectionReadsButRefusesChanges(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "read-only-existing")
            let writer = try c.connect(target)
            try writer.ensureHistoryTable()
            try writer.run(step("1", .forward, sql: fixture.createTableSQL("tm_read_only")))
            let written = try writer.readHistory()
            let fingerprint = try writer.fingerprint()
            writer.close()

            let reader = try c.connect(target, access: .readOnly)
            defer { reader.close() }
            let read = try reader.readHistory()
            try c.expect(read == written, "a read-only connection read a different history: \(c.show(read))")
            try c.expect(try reader.fingerprint() == fingerprint, "a read-only connection read a different fingerprint")
            let attempts: [(String, () throws(BackendError) -> Void)] = [
                ("tryLock", { () throws(BackendError) in _ = try reader.tryLock(timeout: .milliseconds(100)) }),
                ("ensureHistoryTable", { () throws(BackendError) in try reader.ensureHistoryTable() }),
                (
                    "run",
                    { () throws(BackendError) in
                        try reader.run(step("2", .forward, sql: fixture.createTableSQL("tm_read_only_2")))
                    }
                ),
            ]
            for (what, attempt) in attempts {
                let refused = try c.expectFailure("\(what) on a read-only connection", attempt)
                guard case .readOnly(let name, _) = refused, name == target.name else {
                    throw c.failure(
                        "\(what) on a read-only connection failed with \(refused), not readOnly naming \(target.name)")
                }
            }
            try c.expect(try reader.readHistory() == written, "a refused change still changed the history")
            try c.expect(!(try fixture.tableExists("tm_read_only_2", in: target)), "a refused step still ran")
        }
    }

    /// Size estimates (docs/live-production.md#lint-and-lock-risk-in-the-plan) are read on a
    /// read-only connection, never fail for a relation that does not exist (it is absent from the
    /// answer), and are never negative.
    package static func estimatedRowsReadsOnlyAndOmitsMissingRelations(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "estimates")
            let writer = try c.connect(target)
            try writer.ensureHistoryTable()
            try writer.run(step("1", .forward, sql: fixture.createTableSQL("tm_estimated")))
            writer.close()

            let reader = try c.connect(target, access: .readOnly)
            defer { reader.close() }
            try c.expect(try reader.estimatedRows(of: []).isEmpty, "estimates of no relation are not empty")
            let estimates = try reader.estimatedRows(of: ["tm_estimated", "tm_no_such_table"])
            try c.expect(
                estimates["tm_no_such_table"] == nil, "a relation that does not exist has an estimate: \(estimates)")
            try c.expect(estimates.values.allSatisfy { $0 >= 0 }, "a negative estimate: \(estimates)")
        }
    }

    /// Another tool's history table reads back as text, NULL as nil, on a read-only connection
    /// that creates nothing; a table that is not there, or lacks a column, reads as nil (never an
    /// error, and never a column read as a string literal, as SQLite reads an unknown "name").
    package static func foreignTableRowsReadAsTextOnAReadOnlyConnection(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "foreign")
            try fixture.createForeignTable(
                "tm_foreign_history", columns: ["version", "note"], rows: [["1", "it's first"], ["2", nil]], in: target)
            let reader = try c.connect(target, access: .readOnly)
            defer { reader.close() }
            let rows = try reader.readRows(of: ForeignTable(name: "tm_foreign_history", columns: ["note", "version"]))
            let sorted = rows?.sorted { ($0.last ?? nil) ?? "" < ($1.last ?? nil) ?? "" }
            try c.expect(
                sorted == [["it's first", "1"], [nil, "2"]], "foreign rows read back as \(String(describing: rows))")
            let missing = try reader.readRows(of: ForeignTable(name: "tm_no_such_history", columns: ["version"]))
            try c.expect(missing == nil, "a missing table read as \(String(describing: missing))")
            let otherShape = try reader.readRows(
                of: ForeignTable(name: "tm_foreign_history", columns: ["version", "dirty"]))
            try c.expect(
                otherShape == nil, "a table without the column 'dirty' read as \(String(describing: otherShape))")
            try c.expect(try reader.readHistory().isEmpty, "reading a foreign table created Tidemark history")
        }
    }

    /// A step request with conformance defaults.
    /// A verify script (Sqitch's `verify/`) writes no history row and leaves nothing behind, with
    /// or without its own transaction; a failing one throws `.verifyFailed` naming the script, and
    /// a transaction it leaves open is rolled back, so the next step runs.
    package static func verifyRecordsNothingAndChangesNothing(_ fixture: any BackendFixture) throws {
        try check(fixture) { c in
            let target = try fixture.makeTarget(name: "verify")
            let connection = try c.connect(target)
            try connection.ensureHistoryTable()
            try connection.run(step("1", .forward, sql: fixture.createTableSQL("tm_verified")))

            let plain = VerifyRequest(
                version: "1", scriptPath: "verify/plain.sql", sql: fixture.createTableSQL("tm_verify_plain"),
                transactional: true)
            let own = VerifyRequest(
                version: "1", scriptPath: "verify/own.sql",
                sql: "BEGIN;\n\(fixture.createTableSQL("tm_verify_own"));\nROLLBACK;\n",
                transactional: false)
            if fixture.transactionalDDL {
                try connection.verify(plain)
                try connection.verify(own)
            } else {
                // DDL would commit implicitly: a verify that could change the schema is refused
                // before it runs, which is how it changes nothing there.
                for request in [plain, own] {
                    let error = try c.expectFailure("a verify with DDL where DDL commits implicitly") {
                        () throws(BackendError) in
                        try connection.verify(request)
                    }
                    guard case .verifyFailed(_, "1", request.scriptPath, _, _) = error else {
                        throw c.failure("expected BackendError.verifyFailed for \(request.scriptPath), got \(error)")
                    }
                }
                try connection.verify(
                    VerifyRequest(
                        version: "1", scriptPath: "verify/read.sql", sql: "SELECT id FROM tm_verified",
                        transactional: true))
            }
            try c.expect(
                try !fixture.tableExists("tm_verify_plain", in: target),
                "a verify without its own transaction left a table")
            try c.expect(
                try !fixture.tableExists("tm_verify_own", in: target), "a verify with BEGIN … ROLLBACK left a table")

            let error = try c.expectFailure("a failing verify") { () throws(BackendError) in
                try connection.verify(
                    VerifyRequest(
                        version: "1", scriptPath: "verify/bad.sql", sql: "BEGIN;\n\(fixture.failingSQL);\n",
                        transactional: false))
            }
            guard case .verifyFailed(let name, "1", "verify/bad.sql", _, _) = error, name == target.name else {
                throw c.failure("expected BackendError.verifyFailed for verify/bad.sql, got \(error)")
            }
            let rows = try connection.readHistory()
            try c.expect(rows.count == 1 && rows.allSatisfy(\.success), "verifies wrote history rows: \(c.show(rows))")
            try connection.run(step("2", .forward, sql: fixture.createTableSQL("tm_after_verify")))
            try c.expect(
                try fixture.tableExists("tm_after_verify", in: target), "no step could run after a failed verify")
        }
    }

    package static func step(
        _ version: String, _ kind: StepKind, sql: String, transactional: Bool = true, scriptPath: String? = nil,
        runID: String = "conformance-run", appliedBy: String = "conformance@localhost", description: String? = nil,
        attempt: Int = 1
    ) -> StepRequest {
        let path = scriptPath ?? "\(kind == .undo ? "U" : "V")\(version)__conformance.sql"
        return StepRequest(
            version: version, description: description ?? "conformance \(kind.rawValue) \(version)", kind: kind,
            scriptPath: path, sql: sql, checksum: fakeChecksum(of: "\(kind.rawValue)\u{0}\(version)\u{0}\(sql)"),
            transactional: transactional, runID: runID, appliedBy: appliedBy, attempt: attempt)
    }

    /// The SHA-256 of `text`, standing in for a script's checksum.
    static func fakeChecksum(of text: String) -> String {
        SHA256Hex.digest(text)
    }

    /// Runs a check's body, turning unexpected errors into a failure that names the check.
    private static func check(
        _ fixture: any BackendFixture, name: String = #function, _ body: (CheckContext) throws -> Void
    )
        throws
    {
        let checkName = name.split(separator: "(").first.map(String.init) ?? name
        let context = CheckContext(fixture: fixture, check: checkName)
        do {
            try body(context)
        } catch let failure as ConformanceFailure {
            throw failure
        } catch {
            throw context.failure("unexpected error: \(error)")
        }
    }
}

/// What one running check needs: its names, and small assertion helpers.
struct CheckContext {
    let fixture: any BackendFixture
    let check: String

    func failure(_ message: String) -> ConformanceFailure {
        ConformanceFailure(fixture: fixture.description, check: check, message: message)
    }

    func expect(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String) throws {
        guard try condition() else { throw failure(message()) }
    }

    func connect(
        _ target: Target, access: ConnectionAccess = .readWrite, timeouts: Timeouts = BackendConformance.timeouts
    ) throws
        -> any BackendConnection
    {
        try fixture.backend.connect(to: target, access: access, timeouts: timeouts, logger: Logger.silent)
    }

    /// Runs `body`, which must throw a `BackendError`; returns it.
    func expectFailure(_ what: String, _ body: () throws(BackendError) -> Void) throws -> BackendError {
        do {
            try body()
        } catch {
            return error
        }
        throw failure("\(what) did not throw")
    }

    /// Retries a few times: some servers release a dropped session's lock a moment later.
    func eventually(_ attempt: () throws -> Bool) throws -> Bool {
        for _ in 0..<5 where try attempt() { return true }
        return false
    }

    /// Rows in one line each, for failure messages.
    func show(_ rows: [HistoryEntry]) -> String {
        if rows.isEmpty { return "[]" }
        return "["
            + rows.map { row in
                "#\(row.id) \(row.kind.rawValue) \(row.version) success=\(row.success) transactional=\(row.transactional) "
                    + "finished=\(row.finishedAt.map { "\($0)" } ?? "nil") error=\(row.error ?? "nil")"
            }.joined(separator: "; ") + "]"
    }
}
