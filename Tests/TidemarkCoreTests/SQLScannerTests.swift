import Testing
import TidemarkCore

@Suite struct SQLScannerTests {
    @Test func splitsOnTopLevelSemicolonsOnly() {
        let sql = """
            -- leading comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'a;b');
            CREATE FUNCTION f() RETURNS trigger AS $body$
            BEGIN
              NEW.x := 'y;';
              RETURN NEW;
            END;
            $body$ LANGUAGE plpgsql;
            /* block; comment */ INSERT INTO "we;ird" VALUES (E'it\\'s; fine');
            ;
            """
        let statements = SQLScanner.statements(in: sql)
        #expect(statements.map { $0.keywords.first } == ["CREATE", "CREATE", "INSERT"])
        #expect(statements.map(\.line) == [2, 3, 9])
        #expect(statements[1].text.hasSuffix("LANGUAGE plpgsql"))
    }

    @Test func beginAtomicBodyStaysOneStatement() {
        let sql = """
            CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT a + b; SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END; END;
            COMMIT;
            """
        let statements = SQLScanner.statements(in: sql)
        #expect(statements.count == 2)
        #expect(statements[1].keywords == ["COMMIT"])
    }

    @Test func keywordsSkipCommentsAndAreUppercased() {
        let statements = SQLScanner.statements(in: "/* x */ create index /* y */ concurrently idx on t (a);\nbegin;")
        #expect(statements[0].keywords == ["CREATE", "INDEX", "CONCURRENTLY", "IDX", "ON", "T"])
        #expect(statements[1].keywords == ["BEGIN"])
    }
}
