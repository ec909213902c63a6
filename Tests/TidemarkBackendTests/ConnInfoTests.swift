import Foundation
import Testing
import TidemarkCore

@testable import TidemarkPostgres

/// Connection strings read once by libpq's parser: what libpq gets, what pg_dump and pg_restore
/// get (no password), and errors that quote no part of a password. No server needed.
@Suite("Connection strings parsed by libpq")
struct ConnInfoTests {
    static let characters = ["?", "'", "@", ":", "/", "%", "#", " "]

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    static func conninfoQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    @Test(
        "Each special character reaches libpq, and is found as a secret, however it is written", arguments: characters)
    func passwordIsReadAsWritten(_ character: String) throws {
        let password = "QzK7" + character + "WvJ9"
        var forms = [
            "postgres://app:\(Self.encoded(password))@db:5432/shop",
            "postgres://db:5432/shop?user=app&password=\(Self.encoded(password))",
            "host=db port=5432 dbname=shop user=app password=\(Self.conninfoQuoted(password))",
        ]
        if !["@", "/", "%"].contains(character) { forms.append("postgres://app:\(password)@db:5432/shop") }
        for form in forms {
            let info = try ConnInfo.parse(form).get()
            #expect(info.password == password, "\(form)")
            #expect(info.options.contains(ConnectParameters.Pair(keyword: "host", value: "db")), "\(form)")
            #expect(ConnectParameters.passwords(in: form).contains(password), "\(form)")
        }
    }

    @Test(
        "A raw @, / or % in a URL's password is refused in words that quote none of it",
        arguments: ["@", "/", "%", "%zz"])
    func misreadPasswordIsRefused(_ character: String) {
        let url = "postgres://app:QzK7\(character)WvJ9@db:5432/shop"
        guard case .failure(let problem) = ConnInfo.parse(url) else {
            Issue.record("\(url) was accepted")
            return
        }
        #expect(!problem.message.contains("QzK7") && !problem.message.contains("WvJ9"), "\(problem.message)")
        let secrets = ConnectParameters.passwords(in: url)
        #expect(secrets.contains("QzK7\(character)WvJ9"), "\(secrets)")
        let parameters = ConnectParameters(
            target: Target(name: "t", environment: "e", connection: .url(url)), timeouts: .standard, environment: [:])
        #expect(parameters.problem != nil)
    }

    @Test func urlsThatAreFineAreNotRefused() throws {
        for url in [
            "postgres://db:5432/shop", "postgres://app@db/shop?application_name=a@b", "postgres://app:@db/shop",
            "postgres://[::1]:5432/shop", "postgresql://app:s3cret@db1,db2/shop?target_session_attrs=read-write",
            "shop",
        ] {
            #expect(throws: Never.self, "\(url)") { try ConnInfo.parse(url).get() }
        }
        // A plain word is a database name, as libpq's expand_dbname reads it.
        #expect(try ConnInfo.parse("shop").get().options == [ConnectParameters.Pair(keyword: "dbname", value: "shop")])
    }

    @Test func parseErrorsShowOnlyWhatTheRedactedStringShows() {
        let url = "postgres://app:QzK7%zzWvJ9@db/shop"
        #expect(
            ConnInfo.safeParseError("invalid percent-encoded token: \"QzK7%zzWvJ9\"", in: url)
                == "invalid percent-encoded token: \"***\"")
        #expect(
            ConnInfo.safeParseError("invalid URI query parameter: \"x\"", in: "postgres://db/shop?x=1")
                == "invalid URI query parameter: \"x\"")
        #expect(
            ConnInfo.safeParseError("missing \"=\" after \"QzK7\" in connection info string", in: "host=db QzK7")
                == "missing \"=\" after \"QzK7\" in connection info string")
        #expect(ConnInfo.safeParseError("unmatched \"QzK7", in: "x") == "unmatched \"***")
    }

    @Test("The conninfo string for pg_dump reads back as the same keywords, without the password")
    func conninfoStringRoundTrips() throws {
        let pairs = [
            ConnectParameters.Pair(keyword: "host", value: "db"),
            ConnectParameters.Pair(keyword: "dbname", value: "it's a \\ name"),
            ConnectParameters.Pair(keyword: "user", value: "app user"),
            ConnectParameters.Pair(keyword: "password", value: "QzK7' WvJ9"),
        ]
        let text = ConnInfo.conninfoString(pairs, excluding: ["password"])
        #expect(!text.contains("QzK7"))
        #expect(Set(try ConnInfo.parse(text).get().options) == Set(pairs.prefix(3)))
    }

    @Test func toolsGetThePasswordInTheirEnvironmentOnly() throws {
        let url = "postgres://app:QzK7%3FWvJ9@db:5432/shop?sslmode=disable"
        let invocation = try PostgresTool.invocation(
            for: Target(name: "t", environment: "e", connection: .url(url), schema: "s"), timeouts: .standard)
        #expect(
            !invocation.connection.contains("QzK7") && !invocation.connection.contains("password"),
            "\(invocation.connection)")
        #expect(
            invocation.connection.contains("host='db'") && invocation.connection.contains("sslmode='disable'"),
            "\(invocation.connection)")
        #expect(invocation.environment["PGPASSWORD"] == "QzK7?WvJ9")
        #expect(PostgresTool.exactPattern("Bil\"ling") == "\"Bil\"\"ling\"")
    }
}
