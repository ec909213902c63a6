import Testing
import TidemarkCore
import TidemarkSQLCheck

/// What a MySQL statement does to the schema and what takes it back (docs/mysql.md#a-half-applied-step).
@Suite struct MySQLStatementEffectTests {
    func objects(_ sql: String) -> [String]? {
        MySQLStatementEffect(sql)?.changes.map { "\($0.present ? "+" : "-")\($0.object)" }
    }

    @Test func ddlStatementsNameWhatTheyChangeAndTheirInverse() {
        #expect(
            objects("ALTER TABLE `shop`.accounts ADD COLUMN email VARCHAR(80), ADD INDEX ix (email)") == [
                "+column accounts.email", "+index accounts.ix",
            ])
        #expect(
            MySQLStatementEffect("ALTER TABLE accounts ADD COLUMN email INT, ADD INDEX ix (email)")?.inverse
                == "ALTER TABLE `accounts` DROP INDEX `ix`, DROP COLUMN `email`")
        #expect(objects("CREATE UNIQUE INDEX u ON t (a)") == ["+index t.u"])
        #expect(MySQLStatementEffect("CREATE UNIQUE INDEX u ON t (a)")?.inverse == "DROP INDEX `u` ON `t`")
        #expect(objects("CREATE TABLE IF NOT EXISTS t (id INT)") == ["+table t"])
        #expect(objects("DROP TABLE IF EXISTS a, b") == ["-table a", "-table b"])
        #expect(MySQLStatementEffect("DROP TABLE a")?.inverse == nil)
        #expect(objects("ALTER TABLE t RENAME COLUMN a TO b") == ["-column t.a", "+column t.b"])
        #expect(
            objects("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id), ALGORITHM=INPLACE") == [
                "+constraint t.fk"
            ])
        #expect(objects("CREATE DEFINER=`x`@`%` PROCEDURE p() BEGIN SELECT 1; END") == ["+procedure p"])
        #expect(objects("RENAME TABLE a TO b") == ["-table a", "+table b"])
    }

    @Test func whatCannotBeSeenAsPresenceIsUnknown() {
        #expect(objects("ALTER TABLE t MODIFY a BIGINT") == nil)
        #expect(objects("INSERT INTO t VALUES (1)") == nil)
        #expect(objects("CALL p()") == nil)
        #expect(objects("ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES p (id)") == nil) // no name to look for
    }

    @Test func theFingerprintSaysWhetherItTookEffect() {
        let live = SchemaFingerprint(lines: [
            "table accounts", "column accounts.email: varchar(80)", "index accounts.ix: btree (email)",
        ])
        #expect(MySQLStatementEffect("ALTER TABLE accounts ADD COLUMN Email INT")?.isApplied(in: live) == true)
        #expect(MySQLStatementEffect("CREATE INDEX other ON accounts (email)")?.isApplied(in: live) == false)
        #expect(
            MySQLStatementEffect("ALTER TABLE accounts ADD COLUMN email INT, ADD INDEX other (email)")?.isApplied(
                in: live) == nil)
        let diagnosis = StatementDiagnosis(
            script:
                "ALTER TABLE accounts ADD COLUMN email INT;\nCREATE INDEX ix ON accounts (email);\nCREATE INDEX other ON accounts (email);\n",
            failedAt: 3, live: live)
        #expect(diagnosis?.isCleanBreak == true && diagnosis?.autoResolution == .resolved)
        #expect(diagnosis?.undo == ["DROP INDEX `ix` ON `accounts`", "ALTER TABLE `accounts` DROP COLUMN `email`"])
        #expect(
            StatementDiagnosis(script: "CREATE INDEX other ON accounts (email);", failedAt: 1, live: live)?
                .autoResolution == .rolledBack)
        #expect(StatementDiagnosis.finishOffset(of: StatementDiagnosis.finishDescription(from: 3, failedRow: 9)) == 2)
    }
}
