import Testing
import TidemarkCore
import TidemarkSQLCheck

/// The pure parts of batched steps (docs/backfills.md): binding the placeholders, and the
/// `unbatched-data-change` rule's reading of a WHERE.
@Suite struct BackfillValueTests {
    @Test func placeholdersAreBoundOnlyWhereTheyAreTokens() {
        let sql =
            "UPDATE t SET note = ':batch_start' /* :batch_end */ WHERE id >= :batch_start AND id < :batch_end AND x::text <> ':batch_end'"
        #expect(
            BatchStatement.bind(sql, start: 10, end: 20)
                == "UPDATE t SET note = ':batch_start' /* :batch_end */ WHERE id >= 10 AND id < 20 AND x::text <> ':batch_end'"
        )
        #expect(BatchStatement.uses("UPDATE t SET a = 1 WHERE id >= :batch_start") == (true, false))
        #expect(BatchStatement.uses("UPDATE t SET a = ':batch_start:batch_end'") == (false, false))
        #expect(
            BatchStatement.uses("UPDATE t SET a = 1 WHERE id >= :batch_startx AND id < :batch_end") == (false, true))
    }

    @Test func unbatchedUpdatesAndDeletesAreFoundUnlessTheyLookUpAKey() {
        func rules(_ sql: String) -> [LockRule] { LockRiskClassifier.findings(in: sql).map(\.rule) }
        #expect(rules("UPDATE orders SET total_cents = total * 100;") == [.unbatchedDataChange])
        #expect(
            rules("DELETE FROM ONLY app.orders WHERE created_at < now() - interval '1 year';") == [.unbatchedDataChange]
        )
        #expect(rules("UPDATE orders SET a = 1 WHERE id = 42;").isEmpty)
        #expect(rules("DELETE FROM orders WHERE tenant = $1 AND orders.id = 7 RETURNING id;").isEmpty)
        #expect(rules("UPDATE orders SET a = 1 WHERE id = 42 OR id = 43;") == [.unbatchedDataChange])
        #expect(rules("UPDATE orders SET a = 1 WHERE id IN (1, 2);") == [.unbatchedDataChange])
        #expect(
            rules("CREATE TABLE fresh (id int); UPDATE fresh SET id = 1;").isEmpty,
            "a table the script created is new and empty")
    }

    @Test func statusTextSaysHowFarAndOfHowMany() {
        let status = BackfillStatus(
            version: "2", table: "orders", lastKey: 1_250_000, rows: 1_200_000, minKey: 1, maxKey: 3_400_000,
            tableRows: 3_400_000)
        #expect(status.text == "backfill 36% (1.2M of 3.4M rows)")
        let sqlite = BackfillStatus(
            version: "2", table: "orders", lastKey: 500, rows: 500, minKey: 1, maxKey: 2000, tableRows: nil)
        #expect(sqlite.text == "backfill 25% (500 rows)")
    }
}
