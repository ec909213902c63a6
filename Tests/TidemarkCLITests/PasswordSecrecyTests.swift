import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// A password reaches `pg_dump` and `pg_restore` only through their environment, and no output
/// of `apply`, `backup`, `restore` or `rehearse --url` (nor an error about a malformed URL) holds
/// any part of it, whichever of `? ' @ : / % # space` it contains, written raw or
/// percent-encoded in a URL or quoted in a conninfo string.
///
/// The server must check passwords: `scripts/with-postgres` makes members of
/// `tidemark_password_auth` use scram-sha-256 on TCP. The tools are taken from a folder of
/// wrapper scripts (`TIDEMARK_PG_BIN_DIR`) that record their arguments, then run the real ones.
@Suite("No password in an argument or an output", .enabled(if: TestPostgres.isAvailable, "\(TestPostgres.skipReason)"))
struct PasswordSecrecyTests {
    enum Form: String, Sendable {
        /// `postgres://u:QzK7%3FWvJ9@h:p/db`
        case encodedURI
        /// `postgres://u:QzK7?WvJ9@h:p/db`, for the characters libpq reads raw.
        case rawURI
        /// `host=h port=p dbname=db user=u password='QzK7\'WvJ9'`
        case conninfo
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var character: String
        var form: Form
        var testDescription: String { "\(form.rawValue) with '\(character)'" }
        /// The two halves are what no output may hold: either is a piece of the password.
        var password: String { "QzK7" + character + "WvJ9" }
    }

    static let characters = ["?", "'", "@", ":", "/", "%", "#", " "]
    /// libpq reads a raw `@` or `/` in a URL's password as the host or port, and a raw `%` is no
    /// percent-encoding: those URLs are malformed (see `malformedURLErrorsHoldNoPartOfThePassword`).
    static let malformedRaw: Set<String> = ["@", "/", "%"]
    static let cases: [Case] = characters.flatMap { character in
        [Case(character: character, form: .encodedURI), Case(character: character, form: .conninfo)]
            + (malformedRaw.contains(character) ? [] : [Case(character: character, form: .rawURI)])
    }
    static let pieces = ["QzK7", "WvJ9"]

    struct Server {
        var host: String
        var port: Int
        var database: String

        init() throws {
            let components = try #require(URLComponents(string: TestPostgres.url ?? ""))
            host = try #require(components.host)
            port = components.port ?? 5432
            database = String(components.path.dropFirst())
        }

        func connection(user: String, password: String, form: Form) -> String {
            switch form {
            case .encodedURI:
                let encoded =
                    password.addingPercentEncoding(
                        withAllowedCharacters: CharacterSet(
                            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"))
                    ?? password
                return "postgres://\(user):\(encoded)@\(host):\(port)/\(database)"
            case .rawURI:
                return "postgres://\(user):\(password)@\(host):\(port)/\(database)"
            case .conninfo:
                let quoted = password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
                    of: "'", with: "\\'")
                return "host=\(host) port=\(port) dbname=\(database) user=\(user) password='\(quoted)'"
            }
        }
    }

    /// A role that must log in with `password`, owning a fresh schema; a workspace whose plan
    /// creates `orders` (v1) and drops a column (v2, data-losing) on a prod target reached with
    /// `connection`; and a folder of recording wrappers for pg_dump and pg_restore.
    struct Fixture {
        var root: URL
        var role: String
        var schema: String
        var record: URL
        var environment: [String: String]

        init(connection: (String) -> String, password: String) throws {
            role = "tm_pw_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
            schema = TestPostgres.uniqueSchemaName(for: "pw")
            try TestPostgres.execute(
                "CREATE ROLE \(role) LOGIN CREATEDB PASSWORD '\(password.replacingOccurrences(of: "'", with: "''"))' IN ROLE tidemark_password_auth; "
                    + "CREATE SCHEMA \(schema) AUTHORIZATION \(role)")
            root = try CommandRunner.temporaryDirectory("tidemark-password")
            let files = [
                "plans/shop/1_orders.up.sql":
                    "CREATE TABLE orders (id integer PRIMARY KEY, note text);\nINSERT INTO orders VALUES (1, 'a');\n",
                "plans/shop/1_orders.down.sql": "DROP TABLE orders;\n",
                "plans/shop/2_drop_note.up.sql": "ALTER TABLE orders DROP COLUMN note;\n",
                "plans/shop/2_drop_note.down.sql": "ALTER TABLE orders ADD COLUMN note text;\n",
            ]
            let url = "'" + connection(role).replacingOccurrences(of: "'", with: "''") + "'"
            let inventory = """
                inventory: shop
                plan: ../plans/shop
                environments:
                  prod:
                    tier: prod
                    targets: [ { name: shop, url: \(url), schema: \(schema) } ]
                """
            try TestWorkspace.write(files.merging(["inventories/shop.yaml": inventory]) { $1 }, under: root)

            let bin = root.appendingPathComponent("bin")
            try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
            record = root.appendingPathComponent("tool-calls.txt")
            let real = ProcessInfo.processInfo.environment["TIDEMARK_TEST_POSTGRES_BIN"] ?? "/usr/bin"
            for tool in ["pg_dump", "pg_restore"] {
                // Records the arguments, and whether a password came through the environment
                // (not its value), then becomes the real tool.
                let script = """
                    #!/bin/sh
                    { echo "call \(tool)"; for argument in "$@"; do printf 'argument %s\\n' "$argument"; done
                      if [ -n "$PGPASSWORD" ]; then echo "PGPASSWORD set"; fi; } >>'\(record.path)'
                    exec '\(real)/\(tool)' "$@"
                    """
                let path = bin.appendingPathComponent(tool).path
                try script.write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o755)
            }
            environment = ["TIDEMARK_PG_BIN_DIR": bin.path]
        }

        func cleanUp() {
            try? TestPostgres.execute(
                "DROP SCHEMA IF EXISTS \(schema) CASCADE; DROP OWNED BY \(role); DROP ROLE IF EXISTS \(role)")
            try? FileManager.default.removeItem(at: root)
        }
    }

    func expectNoPiece(_ text: String, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        for piece in Self.pieces {
            #expect(
                !text.contains(piece), "\(what) holds part of the password: \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test(
        "Backup, restore and rehearse work, and neither a tool's arguments nor any output holds the password",
        arguments: cases)
    func passwordStaysOutOfArgumentsAndOutput(_ testCase: Case) async throws {
        let server = try Server()
        let fixture = try Fixture(
            connection: { server.connection(user: $0, password: testCase.password, form: testCase.form) },
            password: testCase.password)
        defer { fixture.cleanUp() }
        let root = fixture.root

        // The server checks the password: a wrong one is refused.
        let wrong = try await CommandRunner.run(
            [
                "rehearse", "--plan", "plans/shop", "--url",
                server.connection(user: fixture.role, password: "nope", form: .encodedURI),
            ], in: root)
        #expect(
            wrong.status != 0 && wrong.standardError.contains("password authentication failed"),
            "the test server does not check passwords: \(wrong)")

        var outputs: [(String, CommandRunner.Result)] = []
        let first = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], in: root, environment: fixture.environment)
        #expect(first.status == 0, "\(first)")
        outputs.append(("apply --to 1", first))
        let backup = try await CommandRunner.run(
            ["backup", "-i", "inventories/shop.yaml", "--target", "shop", "--out", "shop.dump"], in: root,
            environment: fixture.environment)
        #expect(backup.status == 0, "\(backup)")
        outputs.append(("backup", backup))
        let applied = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes"], in: root, environment: fixture.environment)
        #expect(applied.status == 0, "\(applied)")
        #expect(applied.standardOutput.contains("backup of shop before its data-losing steps"), "\(applied)")
        outputs.append(("apply", applied))
        let restored = try await CommandRunner.run(
            ["restore", "-i", "inventories/shop.yaml", "--target", "shop", "shop.dump", "--yes"], in: root,
            environment: fixture.environment)
        #expect(restored.status == 0, "\(restored)")
        outputs.append(("restore", restored))
        let connection = server.connection(user: fixture.role, password: testCase.password, form: testCase.form)
        let rehearsed = try await CommandRunner.run(
            ["rehearse", "--plan", "plans/shop", "--url", connection], in: root, environment: fixture.environment)
        #expect(rehearsed.status == 0, "\(rehearsed)")
        #expect(rehearsed.standardOutput.contains("rehearsing plan shop on "), "\(rehearsed)")
        #expect(!rehearsed.standardError.contains("cannot create a scratch database"), "\(rehearsed)")
        outputs.append(("rehearse --url", rehearsed))

        for (what, result) in outputs {
            expectNoPiece(result.standardOutput + result.standardError, what)
        }
        let calls = try String(contentsOf: fixture.record, encoding: .utf8)
        #expect(calls.contains("call pg_dump") && calls.contains("call pg_restore"), "\(calls)")
        #expect(!calls.contains("argument --dbname=postgres"), "\(calls)")
        let callCount = calls.components(separatedBy: "call ").count - 1
        #expect(
            calls.components(separatedBy: "PGPASSWORD set").count - 1 == callCount,
            "a tool ran without the password in its environment: \(calls)")
        expectNoPiece(calls, "a tool's arguments")
    }

    @Test("A malformed URL's errors hold no part of its password", arguments: ["@", "/", "%", "%zz", "%4"])
    func malformedURLErrorsHoldNoPartOfThePassword(_ character: String) async throws {
        let server = try Server()
        let password = "QzK7" + character + "WvJ9"
        let fixture = try Fixture(
            connection: { server.connection(user: $0, password: password, form: .rawURI) }, password: password)
        defer { fixture.cleanUp() }
        let connection = server.connection(user: fixture.role, password: password, form: .rawURI)
        let commands = [
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--to", "1"], ["status", "-i", "inventories/shop.yaml"],
            ["backup", "-i", "inventories/shop.yaml", "--target", "shop", "--out", "shop.dump"],
            ["rehearse", "--plan", "plans/shop", "--url", connection],
        ]
        for command in commands {
            let result = try await CommandRunner.run(command, in: fixture.root, environment: fixture.environment)
            #expect(result.status != 0, "\(command): \(result)")
            expectNoPiece(result.standardOutput + result.standardError, command.joined(separator: " "))
            #expect(
                (result.standardOutput + result.standardError).contains("percent-encode")
                    || result.standardError.contains("cannot parse the connection string"),
                "\(command): \(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.record.path), "a tool ran with a malformed URL")
    }
}
