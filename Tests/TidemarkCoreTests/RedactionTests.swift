import Foundation
import Testing
import TidemarkCore

/// Secrets never reach text: connection strings lose their passwords before any output.
@Suite struct RedactionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var connection: String
        var redacted: String
        var testDescription: String { redacted }
    }

    static let cases: [Case] = [
        Case(
            connection: "postgres://app:s3cret@db.internal:5432/shop",
            redacted: "postgres://app:***@db.internal:5432/shop"),
        Case(
            connection: "postgresql://app:s3cret@db/shop?sslmode=require",
            redacted: "postgresql://app:***@db/shop?sslmode=require"),
        // An `@` in the password: the last `@` of the authority ends it.
        Case(connection: "postgres://app:p@ss@db/shop", redacted: "postgres://app:***@db/shop"),
        Case(connection: "postgres://app:s3cret@", redacted: "postgres://app:***@"),
        Case(
            connection: "postgres://db/shop?sslmode=require&password=s3cret&application_name=tm",
            redacted: "postgres://db/shop?sslmode=require&password=***&application_name=tm"),
        Case(
            connection: "host=db port=5432 password=s3cret dbname=shop",
            redacted: "host=db port=5432 password=*** dbname=shop"),
        Case(connection: "password=s3cret", redacted: "password=***"),
        Case(
            connection: "host=a password=one host=b password=two", redacted: "host=a password=*** host=b password=***"),
        // Quoted conninfo values, with spaces and escaped quotes, lose all of the password.
        Case(
            connection: "host=db password='s3cret and more' dbname=shop", redacted: "host=db password=*** dbname=shop"),
        Case(connection: "password='s3cret\\'s' user=app", redacted: "password=*** user=app"),
        // Spaces around `=` are allowed in conninfo.
        Case(connection: "host=db password = s3cret dbname=shop", redacted: "host=db password = *** dbname=shop"),
        Case(connection: "PGPASSWORD=s3cret pg_dump", redacted: "PGPASSWORD=*** pg_dump"),
        // A URI quoted inside a sentence ends at the quote.
        Case(
            connection: "cannot reach 'postgres://app:s3cret@db/shop': refused",
            redacted: "cannot reach 'postgres://app:***@db/shop': refused"),
        // Nothing secret: unchanged.
        Case(connection: "postgres://app@db/shop", redacted: "postgres://app@db/shop"),
        Case(connection: "postgres://db:5432/shop", redacted: "postgres://db:5432/shop"),
        Case(connection: "host=db user=app dbname=shop", redacted: "host=db user=app dbname=shop"),
        Case(connection: "sqlite:/var/lib/app/shop.db", redacted: "sqlite:/var/lib/app/shop.db"),
        Case(connection: "", redacted: ""),
    ]

    @Test("Passwords in URLs and conninfo strings become ***", arguments: cases)
    func passwordIsRedacted(_ testCase: Case) {
        let text = Redaction.redactConnectionString(testCase.connection)
        #expect(text == testCase.redacted)
        #expect(!text.contains("s3cret") && !text.contains("p@ss"))
    }

    /// Each character a password may hold, raw and percent-encoded in a URI (user information
    /// and query), and quoted in conninfo, alone and inside a sentence: no piece survives.
    @Test(
        "A password with ? ' @ : / % # or a space loses every piece, however it is written",
        arguments: ["?", "'", "@", ":", "/", "%", "#", " "])
    func everySpecialCharacterIsRedacted(_ character: String) {
        let password = "QzK7" + character + "WvJ9"
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        let conninfo = password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        let forms = [
            "postgres://app:\(password)@db.internal:5432/shop",
            "postgres://app:\(encoded)@db.internal:5432/shop",
            "postgresql://app:\(password)@db/shop?sslmode=require",
            "postgres://db/shop?password=\(encoded)&sslmode=require",
            "postgres://db/shop?sslmode=require&password=\(password)",
            "host=db user=app password='\(conninfo)' dbname=shop",
            "host=db user=app password = '\(conninfo)'",
        ]
        for form in forms {
            for text in [form, "cannot reach \(form): refused", "first line\n\(form) failed\nlast line"] {
                let redacted = Redaction.redactConnectionString(text)
                #expect(!redacted.contains("QzK7") && !redacted.contains("WvJ9"), "\(text) → \(redacted)")
                #expect(redacted.contains("***"), "\(redacted)")
            }
        }
        // What is not secret stays readable in the usual forms.
        #expect(
            Redaction.redactConnectionString("postgres://app:\(encoded)@db.internal:5432/shop")
                == "postgres://app:***@db.internal:5432/shop")
        #expect(
            Redaction.redactConnectionString("host=db password='\(conninfo)' dbname=shop")
                == "host=db password=*** dbname=shop")
    }

    @Test func conninfoValuesEndWhereLibpqEndsThem() {
        // Unquoted conninfo values end at whitespace, not at `&`; a backslash escapes a space.
        #expect(Redaction.redactConnectionString("password=a&b user=app") == "password=*** user=app")
        #expect(Redaction.redactConnectionString("password=a\\ b user=app") == "password=*** user=app")
        // A URI query value ends at `&`.
        #expect(
            Redaction.redactConnectionString("postgres://h/db?password=a b&user=app")
                == "postgres://h/db?password=***&user=app")
    }

    @Test func targetLocationNeverShowsThePassword() {
        let url = Target(name: "shop", environment: "prod", connection: .url("postgres://app:s3cret@db/shop"))
        #expect(url.redactedLocation == "postgres://app:***@db/shop")
        let service = Target(name: "shop", environment: "prod", connection: .service("shop-prod"))
        #expect(service.redactedLocation == "service=shop-prod")
    }

    @Test func eventTextLosesEveryPasswordItQuotes() {
        let error =
            "cannot connect to postgres://app:one@a/db\nthen tried host=b password=two\tand postgres://x:three@c/db"
        let event = Event(kind: .targetFailed, runID: "r", inventory: "shop", error: error, reason: "password=four")
        #expect(
            event.error
                == "cannot connect to postgres://app:***@a/db\nthen tried host=b password=***\tand postgres://x:***@c/db"
        )
        #expect(event.reason == "password=***")
    }

    @Test func encodedEventHoldsNoPassword() throws {
        let event = Event(
            kind: .targetFailed, runID: "r", inventory: "shop", environment: "prod", target: "shop-1",
            error: "FATAL at postgres://app:s3cret@db/shop", at: Date(timeIntervalSince1970: 0))
        let json = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
        #expect(!json.contains("s3cret"))
        #expect(json.contains("shop-1"))
    }
}
