import Foundation
import Testing
import TidemarkTestSupport

/// Hostile plans and inventories, through the real binary: a plan is its folder, names cannot
/// become paths outside `.tidemark/` or forge output, and text from databases and files is
/// escaped where it is printed.
@Suite struct HostileInputTests {
    static let marker = "TIDEMARK-MARKER-7f3a9c"

    /// A scratch folder with `plans/app` holding `scripts`, an inventory of one SQLite dev target,
    /// and a file outside the plan holding `marker`.
    struct Scratch {
        let root: URL
        var plan: URL { root.appendingPathComponent("plans/app") }
        var outside: URL { root.appendingPathComponent("outside") }
        var inventory: String { root.appendingPathComponent("inventories/fleet.yaml").path }

        init(scripts: [String: String], targetName: String = "dev") throws {
            root = try CommandRunner.temporaryDirectory("tidemark-hostile")
            let manager = FileManager.default
            try manager.createDirectory(at: plan, withIntermediateDirectories: true)
            try manager.createDirectory(
                at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
            try manager.createDirectory(at: outside, withIntermediateDirectories: true)
            for (name, sql) in scripts {
                let file = plan.appendingPathComponent(name)
                try manager.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try sql.write(to: file, atomically: true, encoding: .utf8)
            }
            try "CREATE TABLE leaked (x text); -- \(HostileInputTests.marker)\n".write(
                to: outside.appendingPathComponent("secret.sql"), atomically: true, encoding: .utf8)
            try """
            inventory: fleet
            plan: ../plans/app
            environments:
              dev: { tier: dev, targets: [ { name: \(targetName), url: "sqlite:../dev.db" } ] }
            """.write(toFile: inventory, atomically: true, encoding: .utf8)
        }

        func link(_ name: String, to destination: String) throws {
            let file = plan.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: file.path, withDestinationPath: destination)
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    /// validate, plan and apply all exit 2 with `message` on standard error and never show the marker.
    func expectRefused(_ scratch: Scratch, _ message: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        for command in [
            ["validate", "-i", scratch.inventory], ["plan", "-i", scratch.inventory],
            ["apply", "-i", scratch.inventory, "--yes"],
        ] {
            let result = try await CommandRunner.run(command, in: scratch.root)
            #expect(result.status == 2, "\(command[0]): \(result)", sourceLocation: sourceLocation)
            #expect(result.standardError.contains(message), "\(command[0]): \(result)", sourceLocation: sourceLocation)
            #expect(
                !"\(result)".contains(Self.marker), "\(command[0]) showed the outside file: \(result)",
                sourceLocation: sourceLocation)
        }
        #expect(
            !FileManager.default.fileExists(atPath: scratch.root.appendingPathComponent("dev.db").path),
            sourceLocation: sourceLocation)
    }

    // MARK: - Plans stay in their folder

    @Test func aScriptLinkedFromOutsideThePlanIsRefusedNamingTheLink() async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n", "U1__a.sql": "DROP TABLE a;\n"])
        defer { scratch.remove() }
        try scratch.link("V2__x.sql", to: scratch.outside.appendingPathComponent("secret.sql").path)
        let resolved = scratch.outside.appendingPathComponent("secret.sql").resolvingSymlinksInPath().path
        try await expectRefused(
            scratch, "\(scratch.plan.path)/V2__x.sql: resolves to \(resolved), outside the plan directory")
    }

    @Test func aRelativeLinkThatClimbsOutOfThePlanIsRefused() async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"])
        defer { scratch.remove() }
        try scratch.link("V2__x.sql", to: "../../outside/secret.sql")
        try await expectRefused(scratch, "/V2__x.sql: resolves to ")
    }

    @Test func aDieselFolderLinkedFromOutsideIsRefusedNamingTheFolder() async throws {
        let scratch = try Scratch(scripts: [
            "2024-01-01-000000_a/up.sql": "CREATE TABLE a (x int);\n",
            "2024-01-01-000000_a/down.sql": "DROP TABLE a;\n",
        ])
        defer { scratch.remove() }
        let folder = scratch.outside.appendingPathComponent("2024-02-01-000000_x")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "CREATE TABLE leaked (x text); -- \(Self.marker)\n".write(
            to: folder.appendingPathComponent("up.sql"), atomically: true, encoding: .utf8)
        try scratch.link("2024-02-01-000000_x", to: folder.path)
        try await expectRefused(scratch, "\(scratch.plan.path)/2024-02-01-000000_x: resolves to ")
    }

    @Test func aSqitchDeployScriptLinkedFromOutsideIsRefused() async throws {
        let scratch = try Scratch(scripts: [
            "sqitch.plan": "%syntax-version=1.0.0\n%project=app\n\na 2024-01-01T00:00:00Z Dev <dev@example.com> # a\n",
            "revert/a.sql": "DROP TABLE a;\n",
        ])
        defer { scratch.remove() }
        try scratch.link("deploy/a.sql", to: scratch.outside.appendingPathComponent("secret.sql").path)
        try await expectRefused(scratch, "\(scratch.plan.path)/deploy/a.sql: resolves to ")
    }

    @Test func aSqitchChangeNameThatClimbsOutOfThePlanIsRefused() async throws {
        // Sqitch change names may hold `/` (a path under deploy/); `..` components must not lead out.
        let scratch = try Scratch(scripts: [
            "sqitch.plan":
                "%syntax-version=1.0.0\n%project=app\n\nx/../../../../outside/secret 2024-01-01T00:00:00Z Dev <dev@example.com> # a\n",
            "deploy/x/keep.txt": "",
        ])
        defer { scratch.remove() }
        let resolved = scratch.outside.appendingPathComponent("secret.sql").resolvingSymlinksInPath().path
        try await expectRefused(
            scratch,
            "\(scratch.plan.path)/deploy/x/../../../../outside/secret.sql: resolves to \(resolved), outside the plan directory"
        )
    }

    @Test func linksInsideThePlanAndAPlanReachedThroughALinkWork() async throws {
        let scratch = try Scratch(scripts: [
            "V1__a.sql": "CREATE TABLE a (x int);\n", "shared/undo.sql": "DROP TABLE a;\n",
        ])
        defer { scratch.remove() }
        try scratch.link("U1__a.sql", to: "shared/undo.sql")
        // The inventory reaches the plan through a symlink of its own: the plan is where the link leads.
        try FileManager.default.createSymbolicLink(
            atPath: scratch.root.appendingPathComponent("plans/linked").path, withDestinationPath: scratch.plan.path)
        let text = try String(contentsOfFile: scratch.inventory, encoding: .utf8).replacingOccurrences(
            of: "../plans/app", with: "../plans/linked")
        try text.write(toFile: scratch.inventory, atomically: true, encoding: .utf8)
        let validate = try await CommandRunner.run(["validate", "-i", scratch.inventory], in: scratch.root)
        #expect(validate.status == 0, "\(validate)")
        let apply = try await CommandRunner.run(["apply", "-i", scratch.inventory, "--yes"], in: scratch.root)
        #expect(apply.status == 0, "\(apply)")
        let back = try await CommandRunner.run(
            ["apply", "-i", scratch.inventory, "--yes", "--to", "0"], in: scratch.root)
        #expect(back.status == 0, "\(back)")
        #expect(back.standardOutput.contains("undo 1"), "\(back)")
    }

    // MARK: - NUL and encoding

    @Test func aScriptWithANulByteIsRefusedWhereTheByteIs() async throws {
        let scratch = try Scratch(scripts: [
            "V1__a.sql": "CREATE TABLE a (x int);\n", "V2__b.sql": "CREATE TABLE b (x int);\0DROP TABLE a;\n",
        ])
        defer { scratch.remove() }
        try await expectRefused(scratch, "\(scratch.plan.path)/V2__b.sql:1:24: this file holds a NUL byte here")
    }

    @Test func aScriptThatIsNotUTF8IsRefusedWhereTheByteIs() async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"])
        defer { scratch.remove() }
        try Data("-- ok\nSELECT 'caf".utf8 + [0xE9] + Data("';\n".utf8)).write(
            to: scratch.plan.appendingPathComponent("V2__b.sql"))
        try await expectRefused(scratch, "\(scratch.plan.path)/V2__b.sql:2:12: this file is not UTF-8 text here")
    }

    @Test func aFileNameThatIsNotUTF8IsRefusedNamingTheFolderAndTheByte() async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"])
        defer { scratch.remove() }
        // The name as bytes: V2__caf, 0xE9 (Latin-1 é), .sql.
        let name = Array("\(scratch.plan.path)/V2__caf".utf8) + [0xE9] + Array(".sql".utf8) + [0]
        let created = name.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { $0.baseAddress.map { creat($0, 0o644) } ?? -1 }
        }
        #expect(created >= 0)
        close(created)
        try await expectRefused(
            scratch,
            "\(scratch.plan.path): the file name 'V2__caf\u{FFFD}.sql' is not UTF-8 at byte 8; rename it in UTF-8.")
    }

    // MARK: - Names

    @Test(arguments: ["../../escaped-backup", "x/../b", ".."])
    func targetNamesThatAreNotOnePathComponentAreRefused(_ name: String) async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"], targetName: "\"\(name)\"")
        defer { scratch.remove() }
        try await expectRefused(scratch, "inventories/fleet.yaml:4:40: target name '\(name)' ")
        #expect(!FileManager.default.fileExists(atPath: scratch.root.appendingPathComponent("escaped-backup").path))
    }

    @Test(arguments: [
        (#""db\n1""#, #"'db\n1' holds \n at character 3"#),
        (#""db\e[2J""#, #"'db\u{1B}[2J' holds \u{1B} at character 3"#),
    ])
    func targetNamesWithControlCharactersAreRefusedEscaped(_ written: String, _ message: String) async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"], targetName: written)
        defer { scratch.remove() }
        try await expectRefused(scratch, "inventories/fleet.yaml:4:40: target name \(message)")
        for command in [["validate", "-i", scratch.inventory]] {
            let result = try await CommandRunner.run(command, in: scratch.root)
            #expect(!result.standardError.contains("\u{1B}"), "\(result)")
            #expect(result.standardError.components(separatedBy: "\n").filter { !$0.isEmpty }.count == 2, "\(result)")
        }
    }

    @Test func environmentAndInventoryNamesWithControlCharactersAreRefused() async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"])
        defer { scratch.remove() }
        let text = try String(contentsOfFile: scratch.inventory, encoding: .utf8)
            .replacingOccurrences(of: "inventory: fleet", with: #"inventory: "fleet\u202Eteg""#)
            .replacingOccurrences(of: "  dev: {", with: #"  "dev\nsucceeded": {"#)
        try text.write(toFile: scratch.inventory, atomically: true, encoding: .utf8)
        try await expectRefused(
            scratch,
            #"inventories/fleet.yaml:1:12: inventory name 'fleet\u{202E}teg' holds the control character \u{202E} at character 6"#
        )
        try await expectRefused(
            scratch,
            #"inventories/fleet.yaml:4:3: environment name 'dev\nsucceeded' holds the control character \n at character 4"#
        )
    }

    // MARK: - validate catches what plan would refuse later

    @Test func schemasOverSixtyThreeBytesOrWithNulAreRefused() async throws {
        let long = String(repeating: "s", count: 64)
        let scratch = try Scratch(
            scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"], targetName: "dev, schema: \(long)")
        defer { scratch.remove() }
        try await expectRefused(
            scratch, "schema '\(long)' of target 'dev' is 64 bytes long; PostgreSQL names are at most 63 bytes")
        let nul = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"], targetName: #"dev, schema: "a\0b""#)
        defer { nul.remove() }
        try await expectRefused(nul, #"schema 'a\0b' of target 'dev' holds a NUL byte"#)
        let fits = try Scratch(
            scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"], targetName: "dev, schema: \(long.dropLast())")
        defer { fits.remove() }
        let validate = try await CommandRunner.run(["validate", "-i", fits.inventory], in: fits.root)
        #expect(validate.status == 0, "\(validate)")
    }

    @Test func aMistypedURLSchemeIsRefusedWithASuggestion() async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"])
        defer { scratch.remove() }
        let text = try String(contentsOfFile: scratch.inventory, encoding: .utf8)
            .replacingOccurrences(of: "sqlite:../dev.db", with: "postgress://app:hunter2@127.0.0.1/app")
        try text.write(toFile: scratch.inventory, atomically: true, encoding: .utf8)
        try await expectRefused(
            scratch, "inventories/fleet.yaml:4:50: unknown URL scheme 'postgress://'; did you mean 'postgres://'?")
        let validate = try await CommandRunner.run(["validate", "-i", scratch.inventory], in: scratch.root)
        #expect(!"\(validate)".contains("hunter2"), "\(validate)")
    }

    @Test func aNearMissOfAKnownSchemeWithoutSlashesIsRefusedAndAnyOtherSchemeNamesTheMissingBackend() async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"])
        defer { scratch.remove() }
        let original = try String(contentsOfFile: scratch.inventory, encoding: .utf8)
        try original.replacingOccurrences(of: "sqlite:../dev.db", with: "sqllite:../dev.db")
            .write(toFile: scratch.inventory, atomically: true, encoding: .utf8)
        try await expectRefused(
            scratch, "inventories/fleet.yaml:4:50: unknown URL scheme 'sqllite:'; did you mean 'sqlite:'?")
        // A scheme far from every known one may belong to a backend an embedding program
        // registers; the executable has none, and says so by name instead of asking libpq.
        try original.replacingOccurrences(of: "sqlite:../dev.db", with: "memory:dev")
            .write(toFile: scratch.inventory, atomically: true, encoding: .utf8)
        let status = try await CommandRunner.run(["status", "-i", scratch.inventory], in: scratch.root)
        #expect(status.status == 1, "\(status)")
        #expect(
            status.standardOutput.contains("no memory backend in this build (available: mysql, postgres, sqlite)"),
            "\(status)")
    }

    // MARK: - Printed text is escaped

    @Test func logLinesEscapeThePathsAndMessagesTheyQuote() async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"])
        defer { scratch.remove() }
        let text = try String(contentsOfFile: scratch.inventory, encoding: .utf8)
            .replacingOccurrences(of: "sqlite:../dev.db", with: #"sqlite:../dev\nFORGED log line.db"#)
        try text.write(toFile: scratch.inventory, atomically: true, encoding: .utf8)
        let apply = try await CommandRunner.run(["apply", "-i", scratch.inventory, "--yes"], in: scratch.root)
        #expect(apply.status == 0, "\(apply)")
        // The warning about the new database quotes its path: one line, the break escaped.
        #expect(
            apply.standardError.contains(#"created new database at \#(scratch.root.path)/dev\nFORGED log line.db"#),
            "\(apply)")
        #expect(!apply.standardError.contains("\nFORGED"), "\(apply)")
    }

    @Test func statusEscapesTheErrorItQuotes() async throws {
        let scratch = try Scratch(scripts: ["V1__a.sql": "CREATE TABLE a (x int);\n"])
        defer { scratch.remove() }
        let text = try String(contentsOfFile: scratch.inventory, encoding: .utf8)
            .replacingOccurrences(
                of: "sqlite:../dev.db", with: #"sqlite:../dev\nprod  prod-eu-1  prod  9  -  -  -  never\e[2J.db"#)
        try text.write(toFile: scratch.inventory, atomically: true, encoding: .utf8)
        // No database there: the status row quotes the path in its error, escaped.
        let status = try await CommandRunner.run(["status", "-i", scratch.inventory], in: scratch.root)
        #expect(status.status == 1, "\(status)")
        #expect(!status.standardOutput.contains("\u{1B}"), "\(status)")
        #expect(!status.standardOutput.contains("\nprod  prod-eu-1"), "\(status)")
        #expect(
            status.standardOutput.contains(#"dev\nprod  prod-eu-1  prod  9  -  -  -  never\u{1B}[2J.db"#), "\(status)")
    }

    @Test func historyAndReportEscapeTextFromTheDatabaseAndTheReport() async throws {
        // The description comes from the script's name; the error from SQLite, quoting the script.
        let scratch = try Scratch(scripts: [
            "V1__a\u{1B}[2Jb.sql": "CREATE TABLE a (x int);\n",
            "V2__b.sql":
                "CREATE TABLE \"t\n  succeeded   dev (dev) forward 1 → 9\" (x int);\nCREATE TABLE \"t\n  succeeded   dev (dev) forward 1 → 9\" (x int);\n",
        ])
        defer { scratch.remove() }
        let apply = try await CommandRunner.run(["apply", "-i", scratch.inventory, "--yes"], in: scratch.root)
        #expect(apply.status == 1, "\(apply)")
        #expect(!apply.standardOutput.contains("\n  succeeded"), "\(apply)")
        #expect(apply.standardOutput.contains(#"\n  succeeded   dev (dev) forward 1 → 9"#), "\(apply)")

        let history = try await CommandRunner.run(
            ["history", "-i", scratch.inventory, "--target", "dev"], in: scratch.root)
        #expect(history.status == 0, "\(history)")
        #expect(!history.standardOutput.contains("\u{1B}"), "\(history)")
        #expect(history.standardOutput.contains(#"a\u{1B}[2Jb"#), "\(history)")

        let status = try await CommandRunner.run(["status", "-i", scratch.inventory], in: scratch.root)
        #expect(!status.standardOutput.contains("\u{1B}"), "\(status)")

        let runID = try #require(
            apply.standardOutput.components(separatedBy: "\n").first { $0.hasPrefix("run ") }?.split(separator: " ")[1]
                .dropLast())
        let report = try await CommandRunner.run(["report", String(runID)], in: scratch.root)
        #expect(report.status == 1, "\(report)")
        #expect(!report.standardOutput.contains("\n  succeeded"), "\(report)")
        #expect(report.standardOutput.contains(#"\n  succeeded   dev (dev) forward 1 → 9"#), "\(report)")
    }
}
