import Foundation
import Testing
import TidemarkCore

/// `repair` rows in the fold, the diagnosis of a dirty step, statement progress and the repair hint.
@Suite struct RepairFoldTests {
    func row(
        _ id: Int64, _ kind: StepKind, _ version: String, success: Bool = true, transactional: Bool = true,
        description: String? = nil
    )
        -> HistoryEntry
    {
        HistoryEntry(
            id: id, version: version, description: description ?? "v\(version)", kind: kind,
            script: kind == .repair ? "" : "V\(version).sql",
            checksum: "c\(version)", runID: "run", appliedBy: "test",
            startedAt: Date(timeIntervalSince1970: TimeInterval(id)),
            finishedAt: Date(timeIntervalSince1970: TimeInterval(id)), executionMS: 1, success: success,
            transactional: transactional)
    }

    func dirtyAt2() -> [HistoryEntry] {
        [row(1, .forward, "1"), row(2, .forward, "2", success: false, transactional: false)]
    }

    @Test func rolledBackRepairEndsDirtinessWithTheVersionNotApplied() {
        let history =
            dirtyAt2() + [
                row(3, .repair, "2", description: RepairResolution.rolledBack.rowDescription("marked by hand"))
            ]
        let state = TargetState(history: history)
        #expect(!state.isDirty)
        #expect(state.applied.map(\.version) == ["1"])
        #expect(state.entryCount == 3, "the failed row stays")
    }

    @Test func resolvedRepairPutsTheFailedForwardInEffect() {
        let history = dirtyAt2() + [row(3, .repair, "2", description: "resolved: proven")]
        let state = TargetState(history: history)
        #expect(!state.isDirty)
        #expect(state.applied.map(\.version) == ["1", "2"])
        #expect(
            state.applied.last?.kind == .forward && state.applied.last?.checksum == "c2"
                && state.applied.last?.entryID == 3)
    }

    @Test func resolvedRepairOfAFailedUndoTakesTheVersionOut() {
        let history = [
            row(1, .forward, "1"), row(2, .forward, "2"), row(3, .undo, "2", success: false, transactional: false),
            row(4, .repair, "2", description: "resolved"),
        ]
        #expect(TargetState(history: history).applied.map(\.version) == ["1"])
        let rolledBack = Array(history.prefix(3)) + [row(4, .repair, "2", description: "rolled-back")]
        #expect(TargetState(history: rolledBack).applied.map(\.version) == ["1", "2"])
    }

    @Test func repairOfAnotherVersionLeavesTheTargetDirty() {
        let state = TargetState(history: dirtyAt2() + [row(3, .repair, "1", description: "resolved")])
        #expect(state.dirty?.id == 2)
        #expect(state.applied.map(\.version) == ["1"])
    }

    @Test func aRerunAfterRolledBackIsAppliedAndTheHistoryKeepsEveryRow() {
        let history = dirtyAt2() + [row(3, .repair, "2", description: "rolled-back"), row(4, .forward, "2")]
        let state = TargetState(history: history)
        #expect(!state.isDirty && state.applied.map(\.version) == ["1", "2"] && state.entryCount == 4)
    }

    @Test func resolutionIsReadFromTheFirstWordOfTheDescription() {
        #expect(RepairResolution(rowDescription: "rolled-back: proven (failed row 2)") == .rolledBack)
        #expect(RepairResolution(rowDescription: "resolved") == .resolved)
        #expect(RepairResolution(rowDescription: "something else") == nil)
        #expect(row(1, .forward, "1", description: "resolved").repairResolution == nil)
    }

    // MARK: Diagnosis

    let v1 = SchemaFingerprint(lines: ["table orders", "column orders.id: integer"])
    let v2 = SchemaFingerprint(lines: [
        "table orders", "column orders.id: integer", "index orders.orders_code_key: CREATE UNIQUE INDEX",
    ])

    func recorded(_ version: String) -> SchemaFingerprint? { ["1": v1, "2": v2][version] }

    @Test func liveSchemaOfTheVersionBeforeProvesRolledBack() {
        let diagnosis = DirtyDiagnosis.judge(live: v1, before: "1", after: "2", recorded: recorded)
        #expect(diagnosis.verdict == .equalsBefore && diagnosis.provenResolution == .rolledBack)
    }

    @Test func liveSchemaOfTheFailedVersionProvesResolved() {
        let diagnosis = DirtyDiagnosis.judge(live: v2, before: "1", after: "2", recorded: recorded)
        #expect(diagnosis.verdict == .equalsAfter && diagnosis.provenResolution == .resolved)
    }

    @Test func partlyAppliedProvesNothingAndNamesTheDifferences() {
        let live = SchemaFingerprint(lines: v1.lines + ["table order_notes"])
        let diagnosis = DirtyDiagnosis.judge(live: live, before: "1", after: "2", recorded: recorded)
        #expect(diagnosis.verdict == .neither && diagnosis.provenResolution == nil)
        #expect(diagnosis.differencesFromBefore?.unexpected == ["table order_notes"])
        #expect(diagnosis.differencesFromAfter?.missing == ["index orders.orders_code_key: CREATE UNIQUE INDEX"])
    }

    @Test func versionsWithTheSameFingerprintProveNothing() {
        let diagnosis = DirtyDiagnosis.judge(live: v1, before: "1", after: "2") { _ in v1 }
        #expect(diagnosis.verdict == .indistinguishable && diagnosis.provenResolution == nil)
    }

    @Test func missingFingerprintsAreNamed() {
        let diagnosis = DirtyDiagnosis.judge(live: v1, before: "1", after: "3", recorded: recorded)
        #expect(diagnosis.verdict == .unrecorded && diagnosis.unrecordedVersions == ["3"])
    }

    @Test func noVersionBeforeMeansTheEmptySchema() {
        let diagnosis = DirtyDiagnosis.judge(
            live: SchemaFingerprint(lines: []), before: nil, after: "1", recorded: recorded)
        #expect(diagnosis.verdict == .equalsBefore)
    }

    @Test func boundsOfAForwardAndOfAnUndo() {
        let forward = TargetState(history: dirtyAt2())
        let failedForward = row(2, .forward, "2", success: false, transactional: false)
        #expect(DirtyDiagnosis.bounds(of: failedForward, state: forward, style: .numeric) == ("1", "2"))
        let undoHistory = [
            row(1, .forward, "1"), row(2, .forward, "2"), row(3, .undo, "2", success: false, transactional: false),
        ]
        let failedUndo = row(3, .undo, "2", success: false, transactional: false)
        #expect(
            DirtyDiagnosis.bounds(of: failedUndo, state: TargetState(history: undoHistory), style: .numeric) == (
                "2", "1"
            ))
    }

    @Test func invalidIndexesAreReadFromTheFingerprint() {
        let print = SchemaFingerprint(lines: [
            "index orders.orders_code_key: CREATE UNIQUE INDEX orders_code_key ON orders USING btree (code) INVALID"
        ])
        #expect(
            InvalidIndex.found(in: print, schema: "app") == [
                InvalidIndex(
                    table: "orders", name: "orders_code_key",
                    dropStatement: "DROP INDEX CONCURRENTLY IF EXISTS \"app\".\"orders_code_key\";")
            ])
        #expect(InvalidIndex.found(in: v2, schema: "app").isEmpty)
    }

    // MARK: Words

    @Test func statementProgressReadsBackFromTheMessage() {
        let progress = StatementProgress(completed: 2, total: 5, line: 12)
        #expect(progress.description == "stopped at statement 3 of 5, line 12")
        #expect(StatementProgress(message: "\(progress): duplicate key") == progress)
        #expect(StatementProgress(message: "line 3: boom") == nil)
    }

    @Test func repairHintQuotesWhatTheShellWouldSplit() {
        #expect(
            RepairHint.command(inventoryFile: "inventories/demo.yaml", target: "dev")
                == "tidemark repair -i inventories/demo.yaml --target dev")
        #expect(
            RepairHint.command(inventoryFile: "my fleet.yaml", target: "it's")
                == "tidemark repair -i 'my fleet.yaml' --target 'it'\\''s'")
    }
}
