import Foundation
import Testing
import TidemarkCore

/// `TargetState`: the fold over a target's history rows that the planner decides from.
@Suite struct TargetStateTests {
    /// Row ids count up in the order rows are made, as the history tables number them.
    final class Rows {
        var next: Int64 = 1

        func row(
            _ kind: StepKind, _ version: String, success: Bool = true, transactional: Bool = true,
            finished: Bool = true, checksum: String? = nil
        ) -> HistoryEntry {
            defer { next += 1 }
            let start = Date(timeIntervalSince1970: TimeInterval(next))
            return HistoryEntry(
                id: next, version: version, description: "v\(version)", kind: kind, script: "V\(version).sql",
                checksum: checksum ?? "c\(version)", runID: "run", appliedBy: "test", startedAt: start,
                finishedAt: finished ? start : nil, executionMS: 1, success: success, transactional: transactional,
                error: success ? nil : "boom")
        }
    }

    func applied(_ state: TargetState) -> [String] { state.applied.map { "\($0.kind.rawValue) \($0.version)" } }

    @Test func emptyHistoryIsTheEmptyState() {
        let state = TargetState(history: [])
        #expect(state == .empty)
        #expect(state.applied.isEmpty && !state.isDirty && state.lastEntry == nil && state.entryCount == 0)
    }

    @Test func forwardRowsPutVersionsInEffectInOrder() {
        let rows = Rows()
        let state = TargetState(history: [rows.row(.forward, "1"), rows.row(.forward, "2"), rows.row(.forward, "3")])
        #expect(applied(state) == ["forward 1", "forward 2", "forward 3"])
        #expect(state.isApplied("2") && !state.isApplied("4"))
        #expect(state.entryCount == 3)
        #expect(state.lastEntry?.version == "3")
    }

    @Test func undoTakesAVersionOutOfEffect() {
        let rows = Rows()
        let state = TargetState(history: [rows.row(.forward, "1"), rows.row(.forward, "2"), rows.row(.undo, "2")])
        #expect(applied(state) == ["forward 1"])
        #expect(!state.isApplied("2"))
        #expect(state.lastEntry?.kind == .undo)
    }

    @Test func rowsAreFoldedInIdOrderWhateverOrderTheyArriveIn() {
        let rows = Rows()
        let history = [rows.row(.forward, "1"), rows.row(.forward, "2"), rows.row(.undo, "2")]
        let state = TargetState(history: history.reversed())
        #expect(applied(state) == ["forward 1"], "undo 2 came last by id, so 2 is out")
        #expect(state.lastEntry?.id == 3)
    }

    @Test func reappliedVersionMovesToTheEndWithItsNewRow() {
        let rows = Rows()
        let history = [
            rows.row(.forward, "1"), rows.row(.forward, "2"), rows.row(.undo, "2"),
            rows.row(.forward, "2", checksum: "new"),
        ]
        let state = TargetState(history: history)
        #expect(applied(state) == ["forward 1", "forward 2"])
        #expect(state.applied.last?.entryID == 4)
        #expect(state.applied.last?.checksum == "new")
    }

    @Test func compensateSkipAndBaselineRowsPutTheirVersionInEffect() {
        let rows = Rows()
        let rolledForward = TargetState(history: [rows.row(.forward, "4"), rows.row(.compensate, "5")])
        #expect(applied(rolledForward) == ["forward 4", "compensate 5"])
        let rolledBack = TargetState(history: [rows.row(.forward, "4"), rows.row(.undo, "4"), rows.row(.skip, "5")])
        #expect(applied(rolledBack) == ["skip 5"])
        let adopted = TargetState(history: [rows.row(.baseline, "3"), rows.row(.forward, "4")])
        #expect(applied(adopted) == ["baseline 3", "forward 4"])
    }

    @Test func failedTransactionalRowChangesNothingButIsCounted() {
        let rows = Rows()
        let state = TargetState(history: [rows.row(.forward, "1"), rows.row(.forward, "2", success: false)])
        #expect(applied(state) == ["forward 1"])
        #expect(!state.isDirty)
        #expect(state.entryCount == 2)
        #expect(state.lastEntry?.success == false)
    }

    @Test func failedUndoKeepsTheVersionInEffect() {
        let rows = Rows()
        let state = TargetState(history: [rows.row(.forward, "1"), rows.row(.undo, "1", success: false)])
        #expect(applied(state) == ["forward 1"])
    }

    @Test func failedNoTransactionRowMakesTheTargetDirty() {
        let rows = Rows()
        let applied1 = rows.row(.forward, "1")
        let failed = rows.row(.forward, "2", success: false, transactional: false)
        let state = TargetState(history: [applied1, failed])
        #expect(state.isDirty)
        #expect(state.dirty == failed)
        #expect(applied(state) == ["forward 1"])
    }

    @Test func unfinishedNoTransactionRowIsDirty() {
        // The process died mid-step: the row was committed first and never completed.
        let rows = Rows()
        let state = TargetState(history: [
            rows.row(.forward, "1", success: false, transactional: false, finished: false)
        ])
        #expect(state.dirty?.version == "1")
    }

    @Test func onlyALaterSuccessOfTheSameVersionClearsDirty() {
        let rows = Rows()
        var state = TargetState(history: [rows.row(.forward, "2", success: false, transactional: false)])
        state.apply(rows.row(.forward, "3"))
        #expect(state.dirty?.version == "2", "another version's success leaves the target dirty")
        state.apply(rows.row(.forward, "2"))
        #expect(!state.isDirty)
        #expect(applied(state) == ["forward 3", "forward 2"])
    }

    @Test func applyingRowByRowEqualsFoldingAll() {
        let rows = Rows()
        let history = [
            rows.row(.forward, "1"), rows.row(.forward, "2", success: false, transactional: false),
            rows.row(.forward, "2"),
            rows.row(.forward, "3"), rows.row(.undo, "3"), rows.row(.skip, "4"),
        ]
        var state = TargetState.empty
        for row in history { state.apply(row) }
        #expect(state == TargetState(history: history))
        #expect(applied(state) == ["forward 1", "forward 2", "skip 4"])
    }

    @Test func aFailedRowIsDirtyOnlyOutsideATransaction() {
        let rows = Rows()
        #expect(rows.row(.forward, "1", success: false, transactional: false).leavesTargetDirty)
        #expect(!rows.row(.forward, "1", success: false, transactional: true).leavesTargetDirty)
        #expect(!rows.row(.forward, "1", success: true, transactional: false).leavesTargetDirty)
    }

    /// Saved rollouts and reports written before rows had an `attempt` still decode (as attempt
    /// 1); a row with one keeps it through a round trip.
    @Test func aRowWithoutAnAttemptDecodesAsTheFirstAttempt() throws {
        var row = Rows().row(.forward, "1")
        row.attempt = 4
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let data = try encoder.encode(row)
        #expect(try decoder.decode(HistoryEntry.self, from: data) == row)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object.removeValue(forKey: "attempt") as? Int == 4)
        let old = try decoder.decode(HistoryEntry.self, from: try JSONSerialization.data(withJSONObject: object))
        row.attempt = 1
        #expect(old == row)
    }
}
