import Foundation
import Testing
import TidemarkCore
import TidemarkSQLCheck

/// Splitting MySQL scripts the way the server reads them, and telling DML from the rest.
@Suite struct MySQLScriptTests {
    @Test func semicolonsInStringsNamesAndCommentsDoNotSplit() throws {
        let script = """
            -- a comment; with a semicolon
            INSERT INTO t (a, `b;c`) VALUES ('x;y', "it\\'s;", 'doubled '';');
            # hash comment;
            /* block; comment */ UPDATE t SET a = 1;
            --not-a-comment-without-space
            """
        let statements = try MySQLScript.statements(in: script)
        #expect(statements.map(\.line) == [2, 4, 5])
        #expect(statements[0].text.hasPrefix("INSERT INTO t"))
        #expect(statements[0].text.hasSuffix("'doubled '';')"))
        #expect(statements[1].text == "UPDATE t SET a = 1", "a leading comment is not part of the statement")
    }

    @Test func compoundBodiesRunToTheirEndWithoutDelimiter() throws {
        let script = """
            CREATE PROCEDURE p ()
            BEGIN
              DECLARE v INT;
              SET v = IF(1 > 0, 1, 2);
              IF(v > 0) THEN
                label1: LOOP
                  SET v = v - 1;
                  IF v = 0 THEN LEAVE label1; END IF;
                END LOOP label1;
              ELSEIF v < 0 THEN
                WHILE v < 0 DO SET v = v + 1; END WHILE;
              END IF;
              CASE v WHEN 0 THEN SELECT 1; ELSE SELECT CASE WHEN v > 1 THEN 2 ELSE 3 END; END CASE;
              REPEAT SET v = v + 1; UNTIL v > 3 END REPEAT;
            END;
            CALL p();
            CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1;
            CREATE DEFINER = CURRENT_USER FUNCTION f () RETURNS INT DETERMINISTIC BEGIN RETURN 1; END;
            DROP PROCEDURE IF EXISTS p;
            """
        let statements = try MySQLScript.statements(in: script)
        #expect(statements.map(\.line) == [1, 16, 17, 18, 19], "\(statements.map(\.text))")
        #expect(statements[0].text.hasSuffix("END"))
    }

    @Test func delimiterIsRefusedWithItsLine() {
        #expect(throws: MySQLScript.DelimiterError(line: 3)) {
            try MySQLScript.statements(in: "SELECT 1;\n\nDELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\n")
        }
    }

    @Test(arguments: [
        ("SELECT 1", true), ("insert into t values (1)", true), ("UPDATE t SET a = 1", true), ("DELETE FROM t", true),
        ("REPLACE INTO t VALUES (1)", true), ("SET @a = 1, @b := (SELECT 2)", true),
        ("SET @@session.sql_mode = ''", false),
        ("SET @a = 1, sql_mode = ''", false), ("SET NAMES utf8mb4", false), ("CREATE TABLE t (id int)", false),
        ("CALL p()", false), ("PREPARE s FROM @x", false), ("EXECUTE s", false), ("ALTER TABLE t ADD c int", false),
        ("/* c */ SELECT 1", true),
    ])
    func onlyDMLKeepsAStepTransactional(sql: String, isDML: Bool) throws {
        let statements = try MySQLScript.statements(in: sql)
        #expect(statements.count == 1)
        #expect(statements.first?.isDML == isDML)
    }

    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/corpora/mattermost-mysql").standardizedFileURL

    /// Mattermost's MySQL history creates procedures without DELIMITER: each file's procedure
    /// bodies stay whole, so no statement starts inside one.
    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: corpus.path),
            "the mattermost-mysql corpus is not in ../shared/corpora"))
    func everyMattermostFileSplitsIntoWholeStatements() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter {
            $0.hasSuffix(".sql")
        }.sorted()
        #expect(files.count == 218)
        let bodyWords: Set<String> = ["DECLARE", "END", "IF", "ELSE", "ELSEIF", "LEAVE", "ITERATE", "RETURN", "THEN"]
        for file in files {
            let text = try String(contentsOf: Self.corpus.appendingPathComponent(file), encoding: .utf8)
            let statements = try MySQLScript.statements(in: text)
            for statement in statements {
                let first = statement.text.prefix { $0.isLetter }.uppercased()
                #expect(
                    !bodyWords.contains(first),
                    "\(file):\(statement.line) starts inside a compound body: \(statement.text.prefix(60))")
            }
        }
        let commands = try String(
            contentsOf: Self.corpus.appendingPathComponent("0012_create_commands.up.sql"), encoding: .utf8)
        let kinds = try MySQLScript.statements(in: commands).map { $0.text.prefix { $0.isLetter }.uppercased() }
        #expect(kinds == ["CREATE", "SET", "PREPARE", "EXECUTE", "DEALLOCATE", "CREATE", "CALL", "DROP"])
    }
}
