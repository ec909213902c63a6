import Foundation
import Testing
import TidemarkCore
import TidemarkFiles
import TidemarkTestSupport

/// The location a plan error points at, or nil for errors about a whole file.
private func location(of error: PlanError) -> TidemarkCore.SourceLocation? {
    switch error {
    case .badPlanFile(let location, _), .badDirective(let location, _), .unknownDirective(let location, _),
        .badMetadata(let location, _):
        return location
    default:
        return nil
    }
}

/// The errors of a plan that must not load.
private func sqitchErrors(
    _ planText: String, scripts: [String] = [], sourceLocation: Testing.SourceLocation = #_sourceLocation
)
    throws -> (directory: String, errors: [PlanError])
{
    let directory = try TestPaths.temporaryDirectory()
    try TestPaths.write(planText, to: "sqitch.plan", in: directory)
    for name in scripts {
        try TestPaths.write("BEGIN;\nSELECT 1;\nCOMMIT;\n", to: name, in: directory)
    }
    do {
        let plan = try PlanDirectory.load(at: directory)
        Issue.record(
            "expected problems, but the plan loaded with \(plan.migrations.count) versions",
            sourceLocation: sourceLocation)
        return (directory, [])
    } catch {
        return (directory, error.errors)
    }
}

/// A small valid header and two changes, the second line of which the bad-plan tests vary.
private let header = "%syntax-version=1.0.0\n%project=shop\n\n"
private let planner = "Ann Example <ann@example.test>"

@Suite("Sqitch plans")
struct SqitchPlanTests {
    static let example = TestPaths.repository.appendingPathComponent("plans/sqitch-example").path

    /// The change ids the real `sqitch deploy` (v1.3.1) wrote to `sqitch.changes` for
    /// plans/sqitch-example, in deploy order.
    static let registryIDs = [
        "59963287a2e0c5967790c2346b35b39b87900bd3",
        "3f0266727c156ea5f33510db2557fa3a48a46c6e",
        "ee4396c7648fe012a17be0466b4bd8f60b664583",
        "763c7bbef2a5d80f6bc1485cef16227172d40c21",
        "515916daba7976e9d9c19989cc422d686e4bde6d",
    ]

    @Test func examplePlanReadsVersionsAsPositionsWithTheReworkedScriptsTagged() throws {
        let plan = try PlanDirectory.load(at: Self.example)
        #expect(plan.format == .sqitch)
        #expect(plan.name == "blog")
        #expect(plan.migrations.map(\.version.text) == ["1", "2", "3", "4", "5"])
        #expect(plan.migrations.map(\.description) == ["users", "posts", "user_posts", "users_email", "user_posts"])
        #expect(
            plan.migrations.map(\.forward.path) == [
                "deploy/users.sql", "deploy/posts.sql", "deploy/user_posts@v1.0.sql", "deploy/users_email.sql",
                "deploy/user_posts.sql",
            ])
        #expect(
            plan.migrations.map { $0.undo?.path } == [
                "revert/users.sql", "revert/posts.sql", "revert/user_posts@v1.0.sql", "revert/users_email.sql",
                "revert/user_posts.sql",
            ])
        #expect(
            plan.migrations.map { $0.verify?.path } == [
                "verify/users.sql", "verify/posts.sql", "verify/user_posts@v1.0.sql", "verify/users_email.sql",
                "verify/user_posts.sql",
            ])
        #expect(plan.migrations.map { $0.sqitch?.tags ?? [] } == [[], [], ["v1.0"], [], ["v1.1"]])
        #expect(
            plan.migrations.map { $0.sqitch?.qualifiedName } == [
                "users", "posts", "user_posts@v1.0", "users_email", "user_posts",
            ])
        #expect(plan.migrations.allSatisfy { $0.sqitch?.project == "blog" })
        #expect(plan.migrations.map { $0.sqitch?.line } == [5, 6, 7, 10, 11])
    }

    @Test func exampleChangeIDsAreTheOnesSqitchWroteToItsRegistry() throws {
        let plan = try PlanDirectory.load(at: Self.example)
        #expect(plan.migrations.map { $0.sqitch?.id } == Self.registryIDs)
    }

    @Test func sqitchStyleBeginCommitScriptsRunAsWritten() throws {
        let plan = try PlanDirectory.load(at: Self.example)
        for migration in plan.migrations {
            for script in [migration.forward, migration.undo, migration.verify].compactMap({ $0 }) {
                // sqitch's templates put BEGIN; after the header comments.
                let begin = try #require(script.sql.components(separatedBy: "\n").firstIndex(of: "BEGIN;"))
                #expect(
                    script.noTransaction == .managesOwnTransaction(statement: "BEGIN at line \(begin + 1)"),
                    "\(script.path)")
            }
        }
    }

    @Test func noteEscapesDependenciesAndConflictsEnterTheChangeID() throws {
        let text = """
            %syntax-version=1.0.0
            %project=shop
            # a comment inside the header

            # a comment among the changes
            base 2024-02-29T23:59:59Z Ann Example <ann@example.test> # first\\nline \\\\ two
            +more [base !old other:thing] 2024-03-01T00:00:00Z  Ann  Example   <ann@example.test>
            @v1 2024-03-01T00:00:01Z Ann Example <ann@example.test>
            """
        let plan = try SqitchPlanFile.parse(text, file: "sqitch.plan")
        #expect(plan.project == "shop")
        #expect(plan.uri == nil)
        #expect(plan.changes.map(\.name) == ["base", "more"])
        #expect(plan.changes[0].note == "first\nline \\ two")
        #expect(plan.changes[1].requires.map(\.change) == ["base", "thing"])
        #expect(plan.changes[1].requires.map(\.project) == [nil, "other"])
        #expect(plan.changes[1].conflicts.map(\.change) == ["old"])
        #expect(plan.changes[1].plannerName == "Ann  Example")
        #expect(plan.changes[1].tags == ["v1"])
        #expect(plan.tags.map { [$0.name, "\($0.line)", "\($0.change)"] } == [["v1", "8", "1"]])
        let first =
            "project shop\nchange base\nplanner Ann Example <ann@example.test>\ndate 2024-02-29T23:59:59Z\n\nfirst\nline \\ two"
        #expect(plan.changes[0].id == SqitchChange.id(info: first))
        let second =
            "project shop\nchange more\nparent \(plan.changes[0].id)\nplanner Ann  Example <ann@example.test>\ndate 2024-03-01T00:00:00Z\nrequires\n  + base\n  + other:thing\nconflicts\n  - old"
        #expect(plan.changes[1].id == SqitchChange.id(info: second))
    }

    @Test func windowsLineEndingsReadTheSame() throws {
        let text = try String(contentsOfFile: Self.example + "/sqitch.plan", encoding: .utf8)
        let crlf = try SqitchPlanFile.parse(text.replacingOccurrences(of: "\n", with: "\r\n"), file: "sqitch.plan")
        #expect(crlf.changes.map(\.id) == Self.registryIDs)
        #expect(crlf.changes.map(\.note).first == "Users of the blog.")
    }

    @Test func changeIDIsSHA1OfTheGitStyleObject() {
        // `printf 'change 3\0abc' | sha1sum`
        #expect(SqitchChange.id(info: "abc") == "5e7399b6c746d95ca5624290aa59823d88a9251e")
    }

    // MARK: bad plans: each names file:line:column

    @Test func unknownPragmaIsRefusedAtItsName() throws {
        let (directory, errors) = try sqitchErrors(
            "%syntax-version=1.0.0\n%project=shop\n%engine=pg\n\nusers 2024-01-01T00:00:00Z \(planner)\n",
            scripts: ["deploy/users.sql"])
        defer { TestPaths.remove(directory) }
        #expect(errors.map(location) == [SourceLocation(file: directory + "/sqitch.plan", line: 3, column: 2)])
    }

    @Test func missingProjectPragmaIsRefused() throws {
        let (directory, errors) = try sqitchErrors(
            "%syntax-version=1.0.0\n\nusers 2024-01-01T00:00:00Z \(planner)\n", scripts: ["deploy/users.sql"])
        defer { TestPaths.remove(directory) }
        #expect(errors.map(location) == [SourceLocation(file: directory + "/sqitch.plan", line: 1, column: 1)])
    }

    @Test func reworkWithoutATagBeforeItIsRefused() throws {
        let text = header + "users 2024-01-01T00:00:00Z \(planner)\nusers [users@v1] 2024-01-02T00:00:00Z \(planner)\n"
        let (directory, errors) = try sqitchErrors(text, scripts: ["deploy/users.sql"])
        defer { TestPaths.remove(directory) }
        #expect(errors.map(location) == [SourceLocation(file: directory + "/sqitch.plan", line: 5, column: 1)])
    }

    @Test func reworkNamingATagThatDoesNotFollowTheChangeIsRefused() throws {
        let text =
            header
            + "users 2024-01-01T00:00:00Z \(planner)\n@v1 2024-01-01T00:00:01Z \(planner)\nposts 2024-01-01T00:00:02Z \(planner)\n"
            + "users [users@v2] 2024-01-02T00:00:00Z \(planner)\n"
        let (directory, errors) = try sqitchErrors(
            text, scripts: ["deploy/users@v1.sql", "deploy/users.sql", "deploy/posts.sql"])
        defer { TestPaths.remove(directory) }
        #expect(errors.map(location) == [SourceLocation(file: directory + "/sqitch.plan", line: 7, column: 1)])
    }

    @Test func badTimestampIsRefusedWhereItStarts() throws {
        let text =
            header
            + "users 2024-01-01T00:00:00Z \(planner)\n  posts [users] 2024-13-01T00:00:00Z \(planner)\ntags 2024-01-01 \(planner)\n"
        let (directory, errors) = try sqitchErrors(
            text, scripts: ["deploy/users.sql", "deploy/posts.sql", "deploy/tags.sql"])
        defer { TestPaths.remove(directory) }
        #expect(
            errors.map(location) == [
                SourceLocation(file: directory + "/sqitch.plan", line: 5, column: 17),
                SourceLocation(file: directory + "/sqitch.plan", line: 6, column: 6),
            ])
    }

    @Test func missingDeployScriptIsRefusedAtTheChange() throws {
        let text = header + "users 2024-01-01T00:00:00Z \(planner)\nposts [users] 2024-01-02T00:00:00Z \(planner)\n"
        let (directory, errors) = try sqitchErrors(text, scripts: ["deploy/users.sql", "revert/posts.sql"])
        defer { TestPaths.remove(directory) }
        #expect(errors.map(location) == [SourceLocation(file: directory + "/sqitch.plan", line: 5, column: 1)])
        #expect(
            errors.map(\.description) == [
                "\(directory)/sqitch.plan:5:1: change \"posts\" (version 2) has no deploy script \(directory)/deploy/posts.sql; add it (sqitch add posts writes one)."
            ])
    }

    @Test func reworkedChangeWithoutItsTaggedScriptNamesTheTaggedFile() throws {
        let text =
            header + "users 2024-01-01T00:00:00Z \(planner)\n@v1 2024-01-01T00:00:01Z \(planner)\n"
            + "users [users@v1] 2024-01-02T00:00:00Z \(planner)\n"
        let (directory, errors) = try sqitchErrors(text, scripts: ["deploy/users.sql"])
        defer { TestPaths.remove(directory) }
        #expect(errors.map(location) == [SourceLocation(file: directory + "/sqitch.plan", line: 4, column: 1)])
        #expect(errors.first?.description.contains("\(directory)/deploy/users@v1.sql") == true)
    }

    @Test func duplicateChangeNameWithoutReworkIsRefused() throws {
        let text =
            header
            + "users 2024-01-01T00:00:00Z \(planner)\nposts 2024-01-01T00:00:01Z \(planner)\n users 2024-01-02T00:00:00Z \(planner)\n"
        let (directory, errors) = try sqitchErrors(text, scripts: ["deploy/users.sql", "deploy/posts.sql"])
        defer { TestPaths.remove(directory) }
        #expect(errors.map(location) == [SourceLocation(file: directory + "/sqitch.plan", line: 6, column: 2)])
    }

    @Test func otherMistakesAreRefusedWithTheirColumn() throws {
        let text =
            header
            + "@v0 2024-01-01T00:00:00Z \(planner)\n" // 4: tag before any change
            + "users 2024-01-01T00:00:00Z\n" // 5: no planner
            + "posts [users 2024-01-01T00:00:00Z \(planner)\n" // 6: unclosed dependency list
            + "-gone 2024-01-01T00:00:00Z \(planner)\n" // 7: the - operator
            + "bad@name 2024-01-01T00:00:00Z \(planner)\n" // 8: invalid name
            + "%uri=x\n" // 9: a pragma after the header
            + "ok [missing] 2024-01-01T00:00:00Z \(planner)\n" // 10: unknown requirement
        let (directory, errors) = try sqitchErrors(text)
        defer { TestPaths.remove(directory) }
        let file = directory + "/sqitch.plan"
        #expect(
            errors.map(location) == [
                SourceLocation(file: file, line: 4, column: 2), SourceLocation(file: file, line: 5, column: 27),
                SourceLocation(file: file, line: 6, column: 7), SourceLocation(file: file, line: 7, column: 1),
                SourceLocation(file: file, line: 8, column: 1), SourceLocation(file: file, line: 9, column: 1),
                SourceLocation(file: file, line: 10, column: 1),
            ])
    }

    @Test func aChangeRequiringAnUnreadableLineIsNotReportedToo() throws {
        let text = header + "users 2024-01-31T25:00:00Z \(planner)\nposts [users] 2024-01-02T00:00:00Z \(planner)\n"
        let (directory, errors) = try sqitchErrors(text, scripts: ["deploy/users.sql", "deploy/posts.sql"])
        defer { TestPaths.remove(directory) }
        #expect(errors.map(location) == [SourceLocation(file: directory + "/sqitch.plan", line: 4, column: 7)])
    }

    @Test func mixingSqitchWithAnotherLayoutNamesBothFiles() throws {
        let text = header + "users 2024-01-01T00:00:00Z \(planner)\n"
        let (directory, errors) = try sqitchErrors(text, scripts: ["deploy/users.sql", "V2__more.sql"])
        defer { TestPaths.remove(directory) }
        #expect(
            errors == [
                .mixedFormats(
                    path: directory, first: "sqitch.plan", firstFormat: .sqitch, second: "V2__more.sql",
                    secondFormat: .flyway)
            ])
    }

    // MARK: the real sqitch as the oracle

    static var sqitchInstalled: Bool { ExternalTool.exists("sqitch") }
    /// Set by scripts/test (after installing sqitch), so a missing sqitch fails there instead of skipping.
    static var required: Bool { ProcessInfo.processInfo.environment["TIDEMARK_REQUIRE_SQITCH"] == "1" }

    @Test(.enabled(if: sqitchInstalled || required, "sqitch is not installed: run scripts/install-deps --peers"))
    func examplePlanReadsAsSqitchPlanPrintsIt() async throws {
        let printed = try await ExternalTool.run(
            "sqitch", ["plan", "--no-headers", "--format", "format:%n %h%t", "--reverse"],
            in: URL(fileURLWithPath: Self.example))
        #expect(printed.status == 0, "\(printed)")
        let plan = try PlanDirectory.load(at: Self.example)
        let ours = plan.migrations.reversed().map { migration in
            let tags = (migration.sqitch?.tags ?? []).map { "@" + $0 }.joined(separator: ", ")
            return "\(migration.description) \(migration.sqitch?.id ?? "") \(tags)".trimmingCharacters(in: .whitespaces)
        }
        let theirs = printed.standardOutput.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(theirs == ours)
    }

    /// Plans the real sqitch refuses (exit non-zero) are refused here too, at the line it names.
    @Test(.enabled(if: sqitchInstalled || required, "sqitch is not installed: run scripts/install-deps --peers"))
    func plansSqitchRefusesAreRefused() async throws {
        let cases: [(plan: String, line: Int)] = [
            (
                header
                    + "users 2024-01-01T00:00:00Z \(planner)\nposts 2024-01-01T00:00:01Z \(planner)\nusers 2024-01-02T00:00:00Z \(planner)\n",
                6
            ),
            (
                header + "users 2024-01-01T00:00:00Z \(planner)\n@v1 2024-01-01T00:00:01Z \(planner)\n"
                    + "posts 2024-01-01T00:00:02Z \(planner)\nusers [users@v2] 2024-01-02T00:00:00Z \(planner)\n", 7
            ),
            (header + "users 2024-13-01T00:00:00Z \(planner)\n", 4),
            (header + "users [nobody] 2024-01-01T00:00:00Z \(planner)\n", 4),
            ("%project=shop\nusers 2024-01-01T00:00:00Z \(planner)\n", 2),
        ]
        for (text, line) in cases {
            let directory = try TestPaths.temporaryDirectory()
            defer { TestPaths.remove(directory) }
            try TestPaths.write("[core]\n\tengine = sqlite\n", to: "sqitch.conf", in: directory)
            try TestPaths.write(text, to: "sqitch.plan", in: directory)
            for name in ["users", "posts", "users@v1"] {
                try TestPaths.write("SELECT 1;\n", to: "deploy/\(name).sql", in: directory)
            }
            let theirs = try await ExternalTool.run(
                "sqitch", ["plan", "--no-headers"], in: URL(fileURLWithPath: directory))
            #expect(theirs.status != 0, "sqitch accepted:\n\(text)\n\(theirs)")
            do {
                _ = try PlanDirectory.load(at: directory)
                Issue.record("Tidemark accepted a plan sqitch refuses:\n\(text)")
            } catch {
                #expect(error.errors.compactMap(location).map(\.line) == [line], "\(error)")
            }
        }
    }

    @Test(.enabled(if: sqitchInstalled || required, "sqitch is not installed: run scripts/install-deps --peers"))
    func changeIDsMatchAProjectTheRealSqitchWrote() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        let url = URL(fileURLWithPath: directory)
        // SQITCH_EDITOR=false: a command that would open an editor for its note fails instead of waiting.
        let environment = ["SQITCH_FULLNAME=Zoë Ünïcode", "SQITCH_EMAIL=zoe@example.test", "SQITCH_EDITOR=false"]
        let commands: [[String]] = [
            ["init", "shop", "--engine", "sqlite", "--uri", "https://example.test/shop"],
            ["add", "users", "-n", "Users: with a note # that has a hash\nand a second line"],
            [
                "add", "orders", "--requires", "users", "--conflicts", "legacy_orders", "--requires", "auth:roles",
                "-n", "Orders.",
            ],
            ["tag", "v1.0", "-n", "First."],
            ["add", "schema/audit", "-n", "0"],
            ["rework", "users", "-n", "Users, reworked."],
            ["tag", "v2.0", "-n", "Second."],
            ["rework", "users", "-n", "Users, again."],
        ]
        for arguments in commands {
            let result = try await ExternalTool.run("env", environment + ["sqitch"] + arguments, in: url)
            #expect(result.status == 0, "sqitch \(arguments.joined(separator: " ")): \(result)")
        }
        let printed = try await ExternalTool.run(
            "sqitch", ["plan", "--no-headers", "--format", "format:%n %h", "--reverse"], in: url)
        #expect(printed.status == 0, "\(printed)")
        let plan = try PlanDirectory.load(at: directory)
        #expect(plan.migrations.map(\.description) == ["users", "orders", "schema/audit", "users", "users"])
        #expect(
            plan.migrations.map(\.forward.path) == [
                "deploy/users@v1.0.sql", "deploy/orders.sql", "deploy/schema/audit.sql", "deploy/users@v2.0.sql",
                "deploy/users.sql",
            ])
        let ours = plan.migrations.reversed().map { "\($0.description) \($0.sqitch?.id ?? "")" }
        #expect(printed.standardOutput.split(separator: "\n").map(String.init) == ours)
    }
}
