import Testing
import TidemarkCore

/// The one grammar of `mysql://` and `mariadb://` URLs (docs/mysql.md).
@Suite struct MySQLURLTests {
    @Test func everyPartIsReadAndPercentDecoded() throws {
        let url = try MySQLURL(
            parsing:
                "mysql://app%40eu:p%40ss%2Fw%3Frd@db.example.com:3307/tenant%2D42?socket=%2Frun%2Fmysqld.sock&ssl-mode=verify_identity&charset=utf8mb4"
        )
        #expect(url.scheme == "mysql")
        #expect(url.user == "app@eu")
        #expect(url.password == "p@ss/w?rd")
        #expect(url.host == "db.example.com")
        #expect(url.port == 3307)
        #expect(url.database == "tenant-42")
        #expect(url.socket == "/run/mysqld.sock")
        #expect(url.sslMode == .verifyIdentity)
        #expect(url.charset == "utf8mb4")
    }

    @Test func absentPartsAreNilAndSSLModeDefaultsToPreferred() throws {
        let url = try MySQLURL(parsing: "mariadb://")
        #expect(url.scheme == "mariadb")
        #expect(url.user == nil && url.password == nil && url.host == nil && url.port == nil && url.database == nil)
        #expect(url.sslMode == nil)
        #expect(url.effectiveSSLMode == .preferred)
        let bare = try MySQLURL(parsing: "mysql://root@127.0.0.1:3306/")
        #expect(bare.database == nil && bare.user == "root" && bare.password == nil)
    }

    @Test func ipv6HostsAreWrittenInBrackets() throws {
        let url = try MySQLURL(parsing: "mysql://app@[::1]:3306/app")
        #expect(url.host == "::1")
        #expect(url.port == 3306)
        let noPort = try MySQLURL(parsing: "mysql://[fe80::1%25eth0]/app")
        #expect(noPort.host == "fe80::1%eth0")
        #expect(throws: MySQLURLError.self) { try MySQLURL(parsing: "mysql://app@[db.example.com]/app") }
        #expect(throws: MySQLURLError.self) { try MySQLURL(parsing: "mysql://app@::1:3306/app") }
        #expect(throws: MySQLURLError.self) { try MySQLURL(parsing: "mysql://app@[::1/app") }
    }

    @Test func everySSLModeIsAcceptedInAnyCase() throws {
        for mode in MySQLURL.SSLMode.allCases {
            #expect(try MySQLURL(parsing: "mysql://h/d?ssl-mode=\(mode.rawValue.lowercased())").sslMode == mode)
        }
    }

    @Test(arguments: [
        ("postgres://h/d", "scheme must be mysql or mariadb"),
        ("mysql:h/d", "must start with mysql://"),
        ("mysql://h:0/d", "port '0' is not a number from 1 to 65535"),
        ("mysql://h:99999/d", "port '99999'"),
        ("mysql://h:x/d", "port 'x'"),
        ("mysql://h/a/b", "more than a database"),
        ("mysql://h/d?sslmode=REQUIRED", "parameter 'sslmode' is unknown"),
        (
            "mysql://h/d?ssl-mode=ON",
            "ssl-mode 'ON' is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"
        ),
        ("mysql://h/d?ssl-mode=REQUIRED&ssl-mode=DISABLED", "sets the parameter ssl-mode twice"),
        ("mysql://h/d?socket", "has no value"),
        ("mysql://h/d?charset=utf8;drop", "charset 'utf8;drop'"),
        ("mysql://h/%zz", "database has a '%' not followed by two hex digits"),
        ("mysql://h /d", "whitespace"),
    ])
    func badURLsSayWhatIsWrongAndHowToWriteIt(url: String, expected: String) {
        #expect {
            try MySQLURL(parsing: url)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    /// A password with an unencoded '/', '?', '@' or '%' ends the authority early or breaks the
    /// decoding: the error says so without quoting any of it.
    @Test(arguments: [
        "mysql://app:s3cr/et@db/app", "mysql://app:s3cr?et@db/app", "mysql://app:s3cr%et@db/app",
        "mysql://app:s3cr%zzet@db:x/app",
    ])
    func errorsNeverEchoThePassword(url: String) {
        #expect {
            try MySQLURL(parsing: url)
        } throws: { error in
            guard let error = error as? MySQLURLError else { return false }
            let sentence = error.sentence(target: "eu-1", url: url)
            return !sentence.contains("s3cr") && !sentence.contains("et@") && sentence.contains("target 'eu-1'")
                && sentence.contains("docs/mysql.md")
        }
    }

    @Test func theDescriptionRebuildsTheURLWithoutThePassword() throws {
        let url = try MySQLURL(parsing: "mariadb://app:hunter2@[::1]:3306/t%20x?ssl-mode=required&charset=utf8mb4")
        #expect(url.description == "mariadb://app:***@[::1]:3306/t%20x?ssl-mode=REQUIRED&charset=utf8mb4")
        #expect(try MySQLURL(parsing: url.description.replacingOccurrences(of: "***", with: "x")).database == "t x")
    }

    @Test func printedURLsAreRedacted() {
        #expect(Redaction.redactConnectionString("mysql://app:hunter2@db:3306/app") == "mysql://app:***@db:3306/app")
        #expect(
            Redaction.redactConnectionString("mariadb://app:hunter2@db/app?ssl-mode=REQUIRED")
                == "mariadb://app:***@db/app?ssl-mode=REQUIRED")
    }

    @Test func connectionLocationKnowsBothSchemes() {
        #expect(ConnectionLocation(.url("mysql://app@db/app")) == .mysql("mysql://app@db/app"))
        #expect(ConnectionLocation(.url("MariaDB://app@db/app")).backendKind == .mysql)
        #expect(ConnectionLocation(.url("mysql://app@db/app")).problem == nil)
        let problem = ConnectionLocation(.url("mysql://app:hunter2@db:99999/app")).problem ?? ""
        #expect(problem.contains("port '99999'") && !problem.contains("hunter2"))
        #expect(ConnectionLocation(.url("mysql://app@db/app")).connection == .url("mysql://app@db/app"))
    }
}
