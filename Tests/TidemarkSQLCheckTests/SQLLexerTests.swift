import Testing
import TidemarkCore
import TidemarkSQLCheck

/// `SQLLexer`: quoted text, dollar quoting, comments and identifiers as PostgreSQL reads them.
@Suite struct SQLLexerTests {
    /// The tokens' texts, in order.
    func texts(_ sql: String) -> [String] { SQLLexer.tokens(in: sql).map(\.text) }

    @Test func doubledQuoteStaysInsideOneLiteral() {
        let tokens = SQLLexer.tokens(in: "SELECT 'it''s; fine', x")
        #expect(tokens.map(\.text) == ["SELECT", "'it''s; fine'", ",", "x"])
        #expect(tokens[1].kind == .quoted)
        #expect(tokens[1].keyword == nil)
    }

    @Test func escapeStringKeepsItsPrefixAndBackslashQuote() {
        let tokens = SQLLexer.tokens(in: "VALUES (E'it\\'s; fine', e'\\\\')")
        #expect(tokens.map(\.text) == ["VALUES", "(", "E'it\\'s; fine'", ",", "e'\\\\'", ")"])
        #expect(tokens[2].kind == .quoted)
        #expect(tokens[2].start == 8, "the token starts at the E prefix")
    }

    @Test func backslashEscapesNothingInAPlainString() {
        // Standard strings: `'a\'` ends at its second quote, so `;` is outside any literal.
        #expect(texts("SELECT 'a\\'; 'b'") == ["SELECT", "'a\\'", ";", "'b'"])
    }

    @Test func anESeparatedFromItsQuoteIsAWord() {
        let tokens = SQLLexer.tokens(in: "SELECT e '\\'")
        #expect(tokens.map(\.text) == ["SELECT", "e", "'\\'"])
        #expect(tokens[1].kind == .word)
    }

    @Test func quotedIdentifierIsNeverAKeyword() {
        let tokens = SQLLexer.tokens(in: "ALTER TABLE \"we\"\"ird\" ADD COLUMN \"type\" text, type int")
        #expect(
            tokens.map(\.text) == [
                "ALTER", "TABLE", "\"we\"\"ird\"", "ADD", "COLUMN", "\"type\"", "text", ",", "type", "int",
            ])
        #expect(tokens[5].kind == .quoted && tokens[5].keyword == nil)
        #expect(tokens[8].kind == .word && tokens[8].keyword == "TYPE")
    }

    @Test func bareWordsAreUppercasedAsKeywordsAndKeepTheirSpelling() {
        let tokens = SQLLexer.tokens(in: "create Table café_1 (a$b int)")
        #expect(tokens.map(\.text) == ["create", "Table", "café_1", "(", "a$b", "int", ")"])
        #expect(tokens.map(\.keyword) == ["CREATE", "TABLE", "CAFÉ_1", nil, "A$B", "INT", nil])
    }

    @Test func dollarQuotedBodyIsOneToken() {
        let sql = "DO $$ BEGIN RAISE NOTICE 'a;b'; END $$; SELECT 1"
        let tokens = SQLLexer.tokens(in: sql)
        #expect(tokens.map(\.text) == ["DO", "$$ BEGIN RAISE NOTICE 'a;b'; END $$", ";", "SELECT", "1"])
        #expect(tokens[1].kind == .dollarQuoted)
    }

    @Test func taggedDollarQuoteEndsOnlyAtItsOwnTag() {
        let sql = "AS $body$ SELECT $$x$$; $other$ $body$ LANGUAGE sql"
        let tokens = SQLLexer.tokens(in: sql)
        #expect(tokens.map(\.text) == ["AS", "$body$ SELECT $$x$$; $other$ $body$", "LANGUAGE", "sql"])
    }

    @Test func unterminatedDollarQuoteRunsToTheEnd() {
        let tokens = SQLLexer.tokens(in: "SELECT $fn$ never closed; DROP TABLE t")
        #expect(tokens.map(\.kind) == [.word, .dollarQuoted])
        #expect(tokens.last?.text == "$fn$ never closed; DROP TABLE t")
    }

    @Test func positionalParameterIsNotADollarQuote() {
        let tokens = SQLLexer.tokens(in: "SELECT $1, $2")
        #expect(tokens.map(\.text) == ["SELECT", "$", "1", ",", "$", "2"])
        #expect(!tokens.contains { $0.kind == .dollarQuoted })
    }

    @Test func commentsAreSkipped() {
        #expect(texts("-- DROP TABLE x;\nSELECT /* ; */ 1 -- trailing") == ["SELECT", "1"])
    }

    @Test func blockCommentsNest() {
        // A lexer that stopped at the first `*/` would read `still`, `*` and `/` as tokens.
        #expect(texts("/* outer /* inner */ still comment */ SELECT 1") == ["SELECT", "1"])
    }

    @Test func unterminatedBlockCommentSwallowsTheRest() {
        #expect(texts("SELECT 1; /* DROP TABLE t;") == ["SELECT", "1", ";"])
    }

    @Test func tokensCarryTheLineTheyStartOn() {
        let sql = "SELECT\n'two\nlines'\n/* a\nb */ x -- c\n$$\n$$ y"
        let tokens = SQLLexer.tokens(in: sql)
        #expect(tokens.map(\.text) == ["SELECT", "'two\nlines'", "x", "$$\n$$", "y"])
        #expect(tokens.map(\.line) == [1, 2, 5, 6, 7])
    }

    @Test func offsetsAreUTF8ByteOffsets() {
        let sql = "'é' x"
        let tokens = SQLLexer.tokens(in: sql)
        #expect(tokens.map(\.start) == [0, 5])
        #expect(tokens.map(\.end) == [4, 6])
        let bytes = Array(sql.utf8)
        #expect(tokens.map { String(decoding: bytes[$0.start..<$0.end], as: UTF8.self) } == tokens.map(\.text))
    }

    @Test func everyOtherCharacterIsPunctuation() {
        let tokens = SQLLexer.tokens(in: "a.b(c)>=1;")
        #expect(tokens.map(\.text) == ["a", ".", "b", "(", "c", ")", ">", "=", "1", ";"])
        #expect(tokens.filter { $0.kind == .punctuation }.map(\.text) == [".", "(", ")", ">", "=", ";"])
        #expect(tokens.allSatisfy { $0.depth == 0 }, "depth is the scanner's to set")
    }
}
