import Foundation
import Testing
import TidemarkCore

/// Target names become file names: only names that are exactly one safe path component.
@Suite struct TargetNameTests {
    @Test(arguments: [
        "a", "shard-001", "tenant_42", "db.eu-1", "app@eu+1", "_x", "9", "a..b", String(repeating: "a", count: 128),
    ])
    func acceptsNamesThatAreOnePathComponent(_ text: String) {
        #expect(TargetName(text)?.pathComponent == text)
    }

    @Test(arguments: [
        "", ".", "..", "../../escaped-backup", "x/../b", "a/b", "/abs", ".hidden", "-flag", "a b", "a\nb",
        "a\u{1B}[2Jb", "a\0b",
        "é", "a\u{202E}b", String(repeating: "a", count: 129), "abc\n",
    ])
    func refusesNamesThatAreNotOnePathComponent(_ text: String) {
        #expect(TargetName(text) == nil)
        #expect(TargetName.problem(in: text) != nil)
    }

    @Test func refusalNamesTheRuleAndTheEscapedName() throws {
        guard case .failure(let error) = TargetName.validated("../../escaped-backup") else {
            Issue.record("accepted")
            return
        }
        #expect(
            error.description
                == "target name '../../escaped-backup' starts with '.', not a letter, digit or _; target names become file names (backups, reports), so they must match ^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}$: a letter, digit or _, then up to 127 letters, digits or _ . @ + -"
        )
        guard case .failure(let control) = TargetName.validated("db\n1 succeeded") else {
            Issue.record("accepted")
            return
        }
        #expect(control.description.hasPrefix(#"target name 'db\n1 succeeded' holds \n at character 3;"#), "\(control)")
    }
}

/// Text from names, databases and files prints on one line and sends nothing to the terminal.
@Suite struct PrintableTextTests {
    @Test func escapesControlAndFormatCharacters() {
        #expect(PrintableText.escaped("a\nb\r\t\0") == #"a\nb\r\t\0"#)
        #expect(PrintableText.escaped("x\u{1B}[31my") == #"x\u{1B}[31my"#)
        #expect(PrintableText.escaped("left\u{202E}right\u{2028}") == #"left\u{202E}right\u{2028}"#)
        #expect(PrintableText.escaped("tab\tkept", keepingTabs: true) == "tab\tkept")
    }

    @Test func leavesPrintableTextAlone() {
        for text in ["plain", "émoji 🌊 ünïcode", "quote ' \" \\ backslash", ""] {
            #expect(PrintableText.escaped(text) == text)
        }
    }

    @Test func findsTheFirstControlCharacter() {
        #expect(PrintableText.firstControl(in: "ab\u{1B}c")?.position == 3)
        #expect(PrintableText.firstControl(in: "abc") == nil)
    }

    @Test func escapesBackendErrorsFromTheServer() {
        let error = BackendError.queryFailed(
            target: "t", message: "boom\n  succeeded   t (prod) forward 1 → 2\u{1B}[2J", sqlState: nil)
        #expect(!error.description.contains("\n"))
        #expect(!error.description.contains("\u{1B}"))
        #expect(error.description.contains(#"boom\n  succeeded"#))
    }
}

/// `word://` URLs whose scheme Tidemark does not read are refused, not taken as conninfo.
@Suite struct UnknownSchemeTests {
    @Test func findsUnknownSchemesOnly() {
        #expect(ConnectionLocation.unknownScheme(in: "postgress://app@db/app") == "postgress")
        #expect(ConnectionLocation.unknownScheme(in: "Postgres://app@db/app") == "Postgres")
        #expect(ConnectionLocation.unknownScheme(in: "mysqll://app@db/app") == "mysqll")
        // A MySQL inventory must load: the backend reads these (in any case, as MySQLURL does).
        for known in [
            "mysql://app@db/app", "mariadb://db/app", "MySQL://db/app", "postgres://db/app", "postgresql://db/app",
            "sqlite://x.db", "sqlite:x.db", "memory:x", "host=db dbname=app", "host=db options='-c x://y'",
        ] {
            #expect(ConnectionLocation.unknownScheme(in: known) == nil, "\(known)")
        }
    }
}

/// Found by the `names` fuzzer (Regressions/names/crash-238a9e47…): the redaction read text by
/// `Character`, so the opening quote and a combining mark after it were one `Character`, the
/// value was read as unquoted, and everything after its first blank was printed.
@Suite struct RedactionByScalarTests {
    @Test func aQuotedPasswordStartingWithACombiningMarkIsRedactedWhole() {
        let text = "host=db password='\u{05A8}x\tSECRET-REST' dbname=app"
        #expect(Redaction.redactConnectionString(text) == "host=db password=*** dbname=app")
    }

    @Test func aURLPasswordStartingWithACombiningMarkIsRedacted() {
        let text = "postgres://app:\u{0301}SECRET@db/app and postgres://app:\u{05A8}x@db/app"
        #expect(Redaction.redactConnectionString(text) == "postgres://app:***@db/app and postgres://app:***@db/app")
    }
}
