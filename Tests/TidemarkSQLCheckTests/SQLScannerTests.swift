import Testing
import TidemarkCore
import TidemarkSQLCheck

@Suite struct SQLScannerTests {
    /// Found by the `sql` fuzz target: the text was trimmed of Unicode spaces the lexer reads as
    /// part of a word, so a statement of one no-break space had a token but empty text.
    @Test func aStatementOfANoBreakSpaceKeepsItsText() {
        let statements = SQLScanner.statements(in: "\u{A0}")
        #expect(statements.map(\.text) == ["\u{A0}"])
        #expect(SQLScanner.statements(in: "SELECT 1 \u{A0}; \n").map(\.text) == ["SELECT 1 \u{A0}"])
        #expect(SQLScanner.statements(in: "SELECT 1 \t\r\n;").map(\.text) == ["SELECT 1"])
    }

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

/// Statement splitting details the executor and transaction detection rely on.
@Suite struct SQLScannerStatementTests {
    @Test func emptyStatementsAreDroppedAndTheLastNeedsNoSemicolon() {
        let statements = SQLScanner.statements(in: ";;\n-- only a comment\n;\nSELECT 1;\n  ;SELECT 2")
        #expect(statements.map(\.text) == ["SELECT 1", "SELECT 2"])
        #expect(statements.map(\.line) == [4, 5])
    }

    @Test func textIsTrimmedAndKeepsInnerComments() {
        let statements = SQLScanner.statements(in: "  SELECT 1 /* why */ + 2  ;")
        #expect(statements.map(\.text) == ["SELECT 1 /* why */ + 2"])
    }

    @Test func lineIsWhereTheFirstTokenIsNotWhereTheCommentBeforeIt() {
        let sql = "SELECT 1;\n/* a\n   long\n   comment */\n\n  UPDATE t SET a = 'x\ny';\nDELETE FROM t WHERE true;"
        let statements = SQLScanner.statements(in: sql)
        #expect(statements.map(\.line) == [1, 6, 8])
        #expect(statements.map { $0.keywords.first } == ["SELECT", "UPDATE", "DELETE"])
    }

    @Test func statementStartingWithQuotedTextStartsWithAMarker() {
        let statements = SQLScanner.statements(in: "'a' ; \"t\" x; $$ body $$ y")
        #expect(statements.map(\.keywords) == [["'"], ["\"", "X"], ["$", "Y"]])
    }

    @Test func keywordLimitCapsTheKeywords() {
        let sql = "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)"
        #expect(SQLScanner.statements(in: sql, keywordLimit: 3).first?.keywords == ["CREATE", "UNIQUE", "INDEX"])
        #expect(SQLScanner.statements(in: sql, keywordLimit: 16).first?.keywords.count == 11)
        #expect(SQLScanner.statements(in: sql, keywordLimit: 0).first?.keywords == [])
    }

    @Test func tokensCarryTheirParenthesisDepth() throws {
        let statement = try #require(SQLScanner.statements(in: "INSERT INTO t (a) VALUES ((1), 2)").first)
        let depths = statement.tokens.map { "\($0.text)@\($0.depth)" }
        #expect(
            depths == [
                "INSERT@0", "INTO@0", "t@0", "(@0", "a@1", ")@0", "VALUES@0", "(@0", "(@1", "1@2", ")@1", ",@1", "2@1",
                ")@0",
            ])
    }

    @Test func depthStartsAgainAtZeroInTheNextStatementAndNeverGoesNegative() {
        let statements = SQLScanner.statements(in: "SELECT (1;\nSELECT ) x")
        #expect(statements.count == 2)
        #expect(statements[1].tokens.map(\.depth) == [0, 0, 0])
    }

    @Test func plainBeginIsItsOwnStatement() {
        // BEGIN ATOMIC counts only in a function or procedure: a script's own BEGIN splits as usual.
        let statements = SQLScanner.statements(in: "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;")
        #expect(statements.map { $0.keywords.first } == ["BEGIN", "CREATE", "COMMIT"])
        #expect(statements.map(\.line) == [1, 2, 3])
    }

    @Test func beginAtomicProcedureBodyWithCaseStaysOneStatement() {
        let sql = """
            CREATE PROCEDURE p() LANGUAGE sql
            BEGIN ATOMIC
              INSERT INTO t VALUES (CASE WHEN true THEN 1 ELSE 2 END);
              DELETE FROM t;
            END;
            START TRANSACTION ISOLATION LEVEL SERIALIZABLE;
            """
        let statements = SQLScanner.statements(in: sql, keywordLimit: 16)
        #expect(statements.count == 2)
        #expect(statements[0].text.hasSuffix("END"))
        #expect(statements[1].keywords.prefix(2) == ["START", "TRANSACTION"])
        #expect(statements[1].line == 6)
    }

    @Test func transactionControlInsideAFunctionBodyIsNotTopLevel() {
        // Transaction detection reads only the first keywords of top-level statements: the
        // COMMIT inside a DO body must not become a statement of its own.
        let sql = "DO $$ BEGIN PERFORM 1; COMMIT; END $$;\nCREATE INDEX CONCURRENTLY i ON t (a);"
        let statements = SQLScanner.statements(in: sql, keywordLimit: 16)
        #expect(statements.map(\.keywords) == [["DO"], ["CREATE", "INDEX", "CONCURRENTLY", "I", "ON", "T", "A"]])
    }
}
