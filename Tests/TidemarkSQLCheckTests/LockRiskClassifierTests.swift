import Testing
import TidemarkCore
import TidemarkSQLCheck

/// The lock-risk classifier, statement by statement; several statements are taken verbatim from
/// the Lemmy corpus (../shared/corpora/lemmy, version in the comment).
@Suite struct LockRiskClassifierTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var expected: [LockRule]
        var relations: [String]? = nil
        var testDescription: String { "\(expected.map(\.rawValue)): \(sql.split(separator: "\n").first ?? "")" }
    }

    static let cases: [Case] = [
        Case(
            sql: "CREATE INDEX idx_post_creator ON post (creator_id);", expected: [.requireConcurrentIndexCreation],
            relations: ["post"]),
        Case(
            sql: "create unique index if not exists x on only public.\"Post\" using btree (a)",
            expected: [.requireConcurrentIndexCreation], relations: ["public.Post"]),
        Case(
            sql: "CREATE INDEX ON post (creator_id)", expected: [.requireConcurrentIndexCreation], relations: ["post"]),
        Case(sql: "CREATE INDEX CONCURRENTLY idx ON post (creator_id)", expected: []),
        Case(
            sql: "DROP INDEX idx_post_creator, idx_post_community;", expected: [.requireConcurrentIndexDeletion],
            relations: ["idx_post_creator", "idx_post_community"]),
        Case(sql: "DROP INDEX IF EXISTS idx", expected: [.requireConcurrentIndexDeletion], relations: ["idx"]),
        Case(sql: "DROP INDEX CONCURRENTLY idx", expected: []),
        Case(sql: "REINDEX TABLE post", expected: [.requireConcurrentReindex], relations: ["post"]),
        Case(sql: "REINDEX (VERBOSE) INDEX idx", expected: [.requireConcurrentReindex], relations: ["idx"]),
        Case(sql: "REINDEX INDEX CONCURRENTLY idx", expected: []),
        Case(
            sql: "ALTER TABLE post ADD CONSTRAINT c CHECK (score > 0)", expected: [.constraintMissingNotValid],
            relations: ["post"]),
        Case(sql: "ALTER TABLE post ADD CHECK (score > 0) NOT VALID", expected: []),
        Case(
            sql:
                "ALTER TABLE local_image\n    ADD CONSTRAINT image_upload_local_user_id_not_null NOT NULL local_user_id;",
            expected: [.constraintMissingNotValid]), // 0213 down
        Case(
            sql: "ALTER TABLE post ADD CONSTRAINT fk FOREIGN KEY (creator_id) REFERENCES person (id) ON DELETE CASCADE",
            expected: [.addingForeignKeyConstraint], relations: ["post", "person"]),
        Case(
            sql: "ALTER TABLE post ADD CONSTRAINT fk FOREIGN KEY (creator_id) REFERENCES person NOT VALID", expected: []
        ),
        Case(
            sql: "ALTER TABLE post ADD COLUMN language_id integer REFERENCES LANGUAGE NOT NULL DEFAULT 0;",
            expected: [.addingForeignKeyConstraint], relations: ["post", "language"]), // 0133 up
        Case(
            sql: "ALTER TABLE post ALTER COLUMN name TYPE varchar(200);", expected: [.changingColumnType],
            relations: ["post"]), // 0034 up
        Case(sql: "ALTER TABLE local_user ALTER theme SET DATA TYPE text", expected: [.changingColumnType]),
        Case(sql: "ALTER TABLE post ALTER COLUMN type SET DEFAULT 'x'", expected: []),
        Case(sql: "ALTER TABLE person ALTER COLUMN shared_inbox_url SET NOT NULL", expected: [.addingNotNullableField]),
        Case(sql: "ALTER TABLE person ALTER COLUMN shared_inbox_url DROP NOT NULL", expected: []),
        Case(sql: "ALTER TABLE person ADD COLUMN region text NOT NULL", expected: [.addingRequiredField]),
        Case(sql: "ALTER TABLE person ADD COLUMN region text NOT NULL DEFAULT 'eu'", expected: []),
        Case(sql: "ALTER TABLE person ADD COLUMN published timestamp NOT NULL DEFAULT now()", expected: []),
        Case(sql: "ALTER TABLE person ADD COLUMN published timestamptz DEFAULT CURRENT_TIMESTAMP", expected: []),
        Case(sql: "ALTER TABLE person ADD COLUMN name varchar(20) DEFAULT 'x'::varchar(20)", expected: []),
        Case(
            sql: "ALTER TABLE person ADD COLUMN token uuid DEFAULT gen_random_uuid()",
            expected: [.addingFieldWithDefault]),
        Case(sql: "ALTER TABLE person ADD COLUMN n serial", expected: [.addingFieldWithDefault]),
        Case(
            sql: "ALTER TABLE person ADD COLUMN total int GENERATED ALWAYS AS (a + b) STORED",
            expected: [.addingFieldWithDefault]),
        Case(
            sql: "ALTER TABLE person ADD COLUMN id bigserial PRIMARY KEY",
            expected: [.addingSerialPrimaryKeyField, .addingFieldWithDefault]),
        Case(sql: "ALTER TABLE person ADD PRIMARY KEY (id)", expected: [.addingSerialPrimaryKeyField]),
        Case(sql: "ALTER TABLE person ADD CONSTRAINT pk PRIMARY KEY USING INDEX person_id", expected: []),
        Case(sql: "ALTER TABLE person ADD CONSTRAINT u UNIQUE (email)", expected: [.disallowedUniqueConstraint]),
        Case(sql: "ALTER TABLE person ADD CONSTRAINT u UNIQUE USING INDEX person_email", expected: []),
        Case(sql: "ALTER TABLE person RENAME COLUMN name TO username", expected: [.renamingColumn]),
        Case(sql: "ALTER TABLE person RENAME name TO username", expected: [.renamingColumn]),
        Case(sql: "ALTER TABLE user_ RENAME TO person;", expected: [.renamingTable], relations: ["user_"]),
        Case(sql: "ALTER TABLE person RENAME CONSTRAINT a TO b", expected: []),
        Case(sql: "ALTER TABLE person SET LOGGED", expected: [.rewritingTable]),
        Case(sql: "VACUUM FULL person", expected: [.rewritingTable], relations: ["person"]),
        Case(sql: "VACUUM (FULL, ANALYZE) person", expected: [.rewritingTable], relations: ["person"]),
        Case(sql: "VACUUM ANALYZE person", expected: []),
        Case(sql: "CLUSTER person USING person_pkey", expected: [.rewritingTable], relations: ["person"]),
        Case(sql: "REFRESH MATERIALIZED VIEW post_aggregates_mview", expected: [.requireConcurrentRefresh]),
        Case(sql: "REFRESH MATERIALIZED VIEW CONCURRENTLY post_aggregates_mview", expected: []),
        Case(
            sql: "ALTER TABLE person ADD COLUMN a int, ALTER COLUMN b TYPE bigint, RENAME COLUMN c TO d",
            expected: [.changingColumnType, .renamingColumn]),
        Case(sql: "CREATE TABLE post (id serial PRIMARY KEY, name text)", expected: []),
        Case(sql: "SELECT 'CREATE INDEX x ON y (z)'", expected: []),
        Case(sql: "DO $$ BEGIN CREATE INDEX x ON y (z); END $$", expected: []),
    ]

    @Test(arguments: cases) func classifiesStatement(_ example: Case) {
        let findings = LockRiskClassifier.findings(in: example.sql)
        #expect(findings.map(\.rule) == example.expected)
        if let relations = example.relations { #expect(findings.first?.relations == relations) }
    }

    @Test func relationsCreatedInTheSameScriptAreNotFindings() {
        let sql = """
            CREATE TABLE orders (id bigint, status text);
            CREATE INDEX orders_status ON orders (status);
            ALTER TABLE public.orders ADD CONSTRAINT positive CHECK (id > 0), ALTER COLUMN id TYPE numeric;
            DROP INDEX orders_status;
            CREATE INDEX customers_email ON customers (email);
            """
        let findings = LockRiskClassifier.findings(in: sql)
        #expect(findings == [LockRiskFinding(rule: .requireConcurrentIndexCreation, line: 5, relations: ["customers"])])
    }

    @Test func findingsSpanTheirStatementsLines() {
        let sql = "-- add\nALTER TABLE post\n    ALTER COLUMN name\n    TYPE text;\nCREATE INDEX i ON post (name);\n"
        let findings = LockRiskClassifier.findings(in: sql)
        #expect(findings.map(\.line) == [2, 5])
        #expect(findings.map(\.endLine) == [4, 5])
    }

    @Test func everyRuleHasALockAFixAndAHold() {
        for rule in LockRule.allCases {
            #expect(!rule.fix.isEmpty && !rule.problem.isEmpty)
            #expect(rule.rewrites == (rule.hold == .rewrite))
        }
        #expect(LockRule.requireConcurrentIndexDeletion.hold.scalesWithRows == false)
        #expect(LockRule.changingColumnType.rewrites)
        #expect(LockRule.addingForeignKeyConstraint.lock == .shareRowExclusive)
    }
}
