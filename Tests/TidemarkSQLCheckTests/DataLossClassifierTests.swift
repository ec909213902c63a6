import Testing
import TidemarkCore
import TidemarkSQLCheck

/// The data-loss classifier over real statements, most taken verbatim from the Lemmy corpus
/// (../shared/corpora/lemmy, version in the comment).
@Suite struct DataLossClassifierTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var expected: String?
        var testDescription: String { "\(expected ?? "safe"): \(sql.split(separator: "\n").first ?? "")" }
    }

    static let cases: [Case] = [
        // Data-losing.
        Case(sql: "DROP TABLE user_ban;", expected: "DROP TABLE"), // 0002 down
        Case(sql: "DROP TABLE IF EXISTS tm_x CASCADE", expected: "DROP TABLE"),
        Case(sql: "DROP SCHEMA utils CASCADE", expected: "DROP SCHEMA"),
        Case(sql: "DROP MATERIALIZED VIEW post_aggregates_mview;", expected: "DROP MATERIALIZED VIEW"), // 0029 down
        Case(sql: "DROP TYPE listing_type_enum CASCADE", expected: "DROP TYPE … CASCADE"),
        Case(sql: "TRUNCATE sent_activity, received_activity;", expected: "TRUNCATE"),
        // 0034 up
        Case(sql: "ALTER TABLE post\n    ALTER COLUMN name TYPE varchar(200);", expected: "ALTER COLUMN TYPE"),
        Case(sql: "ALTER TABLE user_\n    ALTER COLUMN avatar TYPE text;", expected: "ALTER COLUMN TYPE"), // 0025 down
        Case(sql: "ALTER TABLE local_user ALTER COLUMN theme SET DATA TYPE varchar(20)", expected: "ALTER COLUMN TYPE"),
        Case(sql: "ALTER TABLE user_\n    DROP COLUMN deleted;", expected: "DROP COLUMN"),
        Case(
            sql: "ALTER TABLE person DROP COLUMN inbox_url, ALTER COLUMN shared_inbox_url SET NOT NULL",
            expected: "DROP COLUMN"), // 0244 down
        Case(sql: "ALTER TABLE public.post DROP IF EXISTS legacy", expected: "DROP COLUMN"),
        Case(sql: "ALTER TABLE ONLY orders ADD COLUMN note text, DROP COLUMN total_cents", expected: "DROP COLUMN"),
        Case(sql: "UPDATE\n    user_\nSET\n    email = NULL", expected: "UPDATE without WHERE"),
        Case(sql: "DELETE FROM comment_aggregates", expected: "DELETE without WHERE"),
        Case(
            sql: "WITH old AS (SELECT id FROM post WHERE removed) DELETE FROM comment", expected: "DELETE without WHERE"
        ),
        Case(sql: "DELETE FROM t USING (SELECT id FROM u WHERE u.x) b", expected: "DELETE without WHERE"),
        // A data-modifying common table expression loses data like the statement would.
        Case(
            sql: "WITH gone AS (DELETE FROM comment RETURNING id) SELECT count(*) FROM gone",
            expected: "DELETE without WHERE"),
        Case(
            sql: "WITH a AS (SELECT 1), b AS MATERIALIZED (UPDATE post SET body = '' RETURNING id) SELECT * FROM b",
            expected: "UPDATE without WHERE"),
        Case(sql: "drop table t", expected: "DROP TABLE"),
        Case(sql: "-- clear the cache\nTRUNCATE TABLE cache", expected: "TRUNCATE"),
        Case(sql: "DROP FOREIGN TABLE remote_orders", expected: "DROP FOREIGN TABLE"),
        Case(sql: "DROP SEQUENCE order_numbers", expected: "DROP SEQUENCE"),
        Case(sql: "DROP DATABASE shop", expected: "DROP DATABASE"),
        Case(sql: "DROP OWNED BY app_role", expected: "DROP OWNED"),
        Case(sql: "DROP DOMAIN email_address CASCADE", expected: "DROP DOMAIN … CASCADE"),
        Case(sql: "DROP VIEW v CASCADE", expected: "DROP VIEW … CASCADE"),
        Case(sql: "DROP EXTENSION hstore CASCADE", expected: "DROP EXTENSION … CASCADE"),
        Case(sql: "ALTER TABLE IF EXISTS ONLY app.orders DROP COLUMN note", expected: "DROP COLUMN"),
        Case(sql: "ALTER FOREIGN TABLE remote_orders DROP COLUMN note", expected: "DROP COLUMN"),
        Case(sql: "ALTER TABLE t DROP CONSTRAINT t_check, DROP COLUMN d", expected: "DROP COLUMN"),
        Case(sql: "ALTER TABLE t ALTER type TYPE bigint", expected: "ALTER COLUMN TYPE"),
        Case(
            sql: "ALTER TABLE t ALTER COLUMN \"drop\" SET DATA TYPE bigint USING (\"drop\"::bigint)",
            expected: "ALTER COLUMN TYPE"),
        // A WHERE inside a subquery does not limit the statement itself.
        Case(
            sql: "UPDATE orders SET total = (SELECT max(total) FROM orders o WHERE o.id = 1)",
            expected: "UPDATE without WHERE"),

        // Data-preserving: keywords as names, WHERE clauses, constraint and default drops.
        Case(
            sql: "WITH gone AS (DELETE FROM comment WHERE removed RETURNING id) SELECT count(*) FROM gone",
            expected: nil),
        Case(sql: "ALTER TABLE t RENAME COLUMN type TO kind", expected: nil),
        Case(sql: "ALTER TABLE t ADD COLUMN type text", expected: nil),
        Case(sql: "ALTER TABLE t ADD type text", expected: nil),
        Case(sql: "ALTER TABLE t ALTER COLUMN type SET DEFAULT 'x'", expected: nil),
        Case(sql: "ALTER TABLE t ADD COLUMN \"drop\" text", expected: nil),
        Case(
            // lemmy
            sql: "ALTER TABLE local_site RENAME COLUMN default_post_sort_type TO default_sort_type;", expected: nil),
        Case(sql: "ALTER TABLE activity\n    ALTER COLUMN ap_id SET NOT NULL;", expected: nil), // 0095 up
        Case(sql: "ALTER TABLE person ALTER COLUMN inbox_url DROP NOT NULL", expected: nil),
        // 0244 down
        Case(sql: "ALTER TABLE community DROP CONSTRAINT community_shared_inbox_url_not_null;", expected: nil),
        Case(sql: "ALTER TABLE post ALTER COLUMN published DROP DEFAULT", expected: nil),
        Case(sql: "DELETE FROM activity\nWHERE ap_id IS NULL;", expected: nil), // 0095 up
        Case(
            sql: """
                DELETE FROM activity a USING (
                    SELECT
                        min(id) AS id,
                        ap_id
                    FROM
                        activity
                    GROUP BY
                        ap_id
                    HAVING
                        count(*) > 1) b
                WHERE
                    a.ap_id = b.ap_id
                    AND a.id <> b.id;
                """, expected: nil), // 0095 up
        Case(
            sql:
                "UPDATE\n    community\nSET\n    actor_id = generate_unique_changeme ()\nWHERE\n    actor_id = 'http://fake.com';",
            expected: nil), // 0047 up
        Case(sql: "DROP VIEW post_aggregates_view;", expected: nil),
        Case(sql: "DROP INDEX idx_post_aggregates_hot;", expected: nil),
        Case(sql: "DROP TRIGGER refresh_post ON post;", expected: nil),
        Case(sql: "DROP FUNCTION refresh_post ();", expected: nil),
        Case(sql: "CREATE TABLE drop_log (type text, truncate boolean)", expected: nil),
        Case(sql: "SELECT 'DROP TABLE x' AS hint", expected: nil),
        Case(sql: "CREATE FUNCTION f() RETURNS void AS $$ DELETE FROM t $$ LANGUAGE sql", expected: nil),
        Case(
            sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC DELETE FROM t; SELECT 1; END", expected: nil
        ),
        Case(sql: "/* DROP TABLE orders; */ SELECT 1", expected: nil),
        Case(sql: "DROP EXTENSION hstore", expected: nil),
        Case(sql: "DROP TYPE mood", expected: nil),
        Case(sql: "ALTER TABLE t ADD CONSTRAINT t_check CHECK (total > 0)", expected: nil),
        Case(sql: "ALTER TABLE t ALTER COLUMN c SET STATISTICS 100", expected: nil),
        Case(sql: "ALTER INDEX orders_idx RENAME TO orders_total_idx", expected: nil),
        Case(sql: "ALTER TYPE mood ADD VALUE 'meh'", expected: nil),
        Case(sql: "UPDATE orders SET note = '' WHERE (SELECT true)", expected: nil),
        Case(sql: "INSERT INTO archive SELECT * FROM orders", expected: nil),
        Case(sql: "", expected: nil),
    ]

    @Test("Each statement gets the expected verdict", arguments: cases)
    func classifies(_ testCase: Case) {
        #expect(DataLossClassifier.classify(testCase.sql) == testCase.expected, "\(testCase.sql)")
    }

    @Test func findingsNameTheLineOfEachStatement() {
        let script = """
            -- tidemark:data-loss-ok totals are recomputed nightly
            ALTER TABLE orders ADD COLUMN note text;

            ALTER TABLE orders DROP COLUMN total_cents;
            UPDATE orders SET note = '' WHERE note IS NULL;
            TRUNCATE order_cache;
            """
        #expect(
            DataLossClassifier.findings(in: script).map(\.description) == [
                "DROP COLUMN at line 4", "TRUNCATE at line 6",
            ])
    }

    @Test func everyDestructiveStatementIsFoundOncePerStatement() {
        let script = """
            DROP TABLE a; DROP TABLE b;
            CREATE FUNCTION f() RETURNS void AS $$ TRUNCATE c; $$ LANGUAGE sql;
            ALTER TABLE d DROP COLUMN x, DROP COLUMN y;
            DELETE FROM e
            """
        #expect(
            DataLossClassifier.findings(in: script).map(\.description)
                == [
                    "DROP TABLE at line 1", "DROP TABLE at line 1", "DROP COLUMN at line 3",
                    "DELETE without WHERE at line 4",
                ])
    }

    @Test func scriptWithoutDestructiveStatementsHasNoFindings() {
        #expect(
            DataLossClassifier.findings(in: "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n-- DROP TABLE a;")
                .isEmpty)
    }

    @Test func classifyReadsOnlyTheFirstStatement() {
        #expect(DataLossClassifier.classify("SELECT 1; DROP TABLE t") == nil)
        #expect(DataLossClassifier.classify("DROP TABLE t; SELECT 1") == "DROP TABLE")
    }
}
