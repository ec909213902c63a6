import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// plans/sqitch-example (a project the real sqitch made: a tag, a reworked change, BEGIN/COMMIT
/// scripts, verify scripts) driven through `tidemark` on a real SQLite file and a real PostgreSQL.
@Suite struct SqitchCommandTests {
    static let example = CommandRunner.repositoryRoot.appendingPathComponent("plans/sqitch-example")
    /// SQLite (false), and PostgreSQL (true) when there is one.
    static let onPostgresCases = TestPostgres.isAvailable ? [false, true] : [false]

    struct Rehearsal: Decodable {
        struct Result: Decodable {
            var version: String
            var verdict: String
            var error: String?
        }
        var results: [Result]
    }

    struct Report: Decodable {
        struct Target: Decodable {
            struct Step: Decodable {
                var version: String
                var kind: String
                var script: String
                var success: Bool
                var verified: Bool?
                var error: String?
            }
            var outcome: String
            var toVersion: String?
            var error: String?
            var steps: [Step]
        }
        var targets: [Target]
    }

    struct History: Decodable {
        struct Entry: Decodable {
            var version: String
            var kind: String
            var script: String
            var success: Bool
        }
        var entries: [Entry]
    }

    /// A copy of the example as `plans/blog` and `inventories/blog.yaml` with one dev target: a
    /// SQLite file, or a fresh schema of the test PostgreSQL (returned to be dropped).
    func workspace(onPostgres: Bool) throws -> (root: URL, schema: String?) {
        let root = try CommandRunner.temporaryDirectory("tidemark-sqitch")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("plans"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("inventories"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.example, to: root.appendingPathComponent("plans/blog"))
        var schema: String?
        let target: String
        if onPostgres {
            let created = try TestPostgres.createSchema(for: "sqitch")
            schema = created
            target = "{ name: dev, url: \"\(TestPostgres.url ?? "")\", schema: \(created) }"
        } else {
            target = "{ name: dev, url: \"sqlite:../dev.db\" }"
        }
        let inventory = """
            inventory: blog
            plan: ../plans/blog
            environments:
              dev: { tier: dev, targets: [ \(target) ] }
            """
        try inventory.write(to: root.appendingPathComponent("inventories/blog.yaml"), atomically: true, encoding: .utf8)
        return (root, schema)
    }

    func cleanUp(_ workspace: (root: URL, schema: String?)) {
        try? FileManager.default.removeItem(at: workspace.root)
        if let schema = workspace.schema { try? TestPostgres.dropSchema(schema) }
    }

    /// Makes verify/users_email.sql check a column the deploy script does not add.
    func breakVerify(in root: URL) throws {
        let verify = root.appendingPathComponent("plans/blog/verify/users_email.sql")
        let text = try String(contentsOf: verify, encoding: .utf8).replacingOccurrences(
            of: "SELECT email FROM", with: "SELECT email_address FROM")
        try text.write(to: verify, atomically: true, encoding: .utf8)
    }

    @Test(
        "Rehearsing the Sqitch example runs every version forward, verify, undo and forward again",
        arguments: onPostgresCases)
    func rehearsalPasses(onPostgres: Bool) async throws {
        let space = try workspace(onPostgres: onPostgres)
        defer { cleanUp(space) }
        let scratch = onPostgres ? ["--url", TestPostgres.url ?? ""] : []
        let result = try await CommandRunner.run(
            ["rehearse", "--plan", "plans/blog", "--json"] + scratch, in: space.root)
        #expect(result.status == 0, "\(result)")
        let document = try JSONDecoder().decode(Rehearsal.self, from: Data(result.standardOutput.utf8))
        #expect(document.results.map(\.version) == ["1", "2", "3", "4", "5"])
        #expect(document.results.map(\.verdict) == ["ok", "ok", "ok", "ok", "ok"])
    }

    @Test("A failing verify script fails its version in rehearse, naming the script", arguments: onPostgresCases)
    func rehearsalReportsAFailingVerify(onPostgres: Bool) async throws {
        let space = try workspace(onPostgres: onPostgres)
        defer { cleanUp(space) }
        try breakVerify(in: space.root)
        let scratch = onPostgres ? ["--url", TestPostgres.url ?? ""] : []
        let result = try await CommandRunner.run(
            ["rehearse", "--plan", "plans/blog", "--json"] + scratch, in: space.root)
        #expect(result.status == 1, "\(result)")
        let document = try JSONDecoder().decode(Rehearsal.self, from: Data(result.standardOutput.utf8))
        #expect(document.results.map(\.verdict) == ["ok", "ok", "ok", "verify-fails", "not-run"])
        let error = try #require(document.results[3].error)
        #expect(error.contains("verify script verify/users_email.sql of version 4 failed"), "\(error)")
        #expect(error.contains("email_address"), "\(error)")
    }

    @Test("apply --verify takes the Sqitch example from empty to its last version and back", arguments: onPostgresCases)
    func applyFromEmptyAndBack(onPostgres: Bool) async throws {
        let space = try workspace(onPostgres: onPostgres)
        defer { cleanUp(space) }
        let up = try await CommandRunner.run(
            ["apply", "-i", "inventories/blog.yaml", "--verify", "--json"], in: space.root)
        #expect(up.status == 0, "\(up)")
        let report = try JSONDecoder().decode(Report.self, from: Data(up.standardOutput.utf8))
        let target = try #require(report.targets.first)
        #expect(target.outcome == "succeeded")
        #expect(target.toVersion == "5")
        #expect(
            target.steps.map(\.script) == [
                "deploy/users.sql", "deploy/posts.sql", "deploy/user_posts@v1.0.sql", "deploy/users_email.sql",
                "deploy/user_posts.sql",
            ])
        #expect(target.steps.map(\.verified) == [true, true, true, true, true])

        let down = try await CommandRunner.run(
            ["apply", "-i", "inventories/blog.yaml", "--to", "0", "--json"], in: space.root)
        #expect(down.status == 0, "\(down)")
        let back = try JSONDecoder().decode(Report.self, from: Data(down.standardOutput.utf8))
        // Version 5's undo is the newest revert/user_posts.sql; version 3's the tagged one.
        #expect(
            back.targets.first?.steps.map(\.script) == [
                "revert/user_posts.sql", "revert/users_email.sql", "revert/user_posts@v1.0.sql", "revert/posts.sql",
                "revert/users.sql",
            ])
        #expect(back.targets.first?.steps.map(\.verified) == [nil, nil, nil, nil, nil])
        if let schema = space.schema {
            let users = try TestPostgres.tableExists("users", inSchema: schema)
            let history = try TestPostgres.tableExists("tidemark_history", inSchema: schema)
            #expect(!users)
            #expect(history)
        }
        // Up again: the reworked view (with email) is what version 5 leaves.
        let again = try await CommandRunner.run(["apply", "-i", "inventories/blog.yaml", "--verify"], in: space.root)
        #expect(again.status == 0, "\(again)")
    }

    @Test(
        "apply --verify: a failing verify fails the target at that version; the step stays committed and recorded",
        arguments: onPostgresCases)
    func applyWithAFailingVerify(onPostgres: Bool) async throws {
        let space = try workspace(onPostgres: onPostgres)
        defer { cleanUp(space) }
        try breakVerify(in: space.root)
        let result = try await CommandRunner.run(
            ["apply", "-i", "inventories/blog.yaml", "--verify", "--json"], in: space.root)
        #expect(result.status == 1, "\(result)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.standardOutput.utf8))
        let target = try #require(report.targets.first)
        #expect(target.outcome == "failed")
        #expect(target.toVersion == "4")
        #expect(target.steps.map(\.version) == ["1", "2", "3", "4"])
        #expect(target.steps.map(\.success) == [true, true, true, true])
        #expect(target.steps.map(\.verified) == [true, true, true, false])
        let error = try #require(target.error)
        #expect(error.contains("dev: verify script verify/users_email.sql of version 4 failed"), "\(error)")
        #expect(target.steps.last?.error == error)

        let history = try await CommandRunner.run(
            ["history", "-i", "inventories/blog.yaml", "--target", "dev", "--json"], in: space.root)
        #expect(history.status == 0, "\(history)")
        let entries = try JSONDecoder().decode(History.self, from: Data(history.standardOutput.utf8)).entries
        #expect(entries.map(\.version) == ["1", "2", "3", "4"])
        #expect(entries.map(\.success) == [true, true, true, true])

        // Without --verify the same plan goes on from version 4: the verify is not part of the step.
        let onward = try await CommandRunner.run(["apply", "-i", "inventories/blog.yaml", "--json"], in: space.root)
        #expect(onward.status == 0, "\(onward)")
        let next = try JSONDecoder().decode(Report.self, from: Data(onward.standardOutput.utf8))
        #expect(next.targets.first?.steps.map(\.version) == ["5"])
    }

    @Test("validate says what it read from a Sqitch plan")
    func validateSummarisesTheSqitchPlan() async throws {
        let space = try workspace(onPostgres: false)
        defer { cleanUp(space) }
        try FileManager.default.removeItem(at: space.root.appendingPathComponent("plans/blog/verify/posts.sql"))
        let result = try await CommandRunner.run(["validate", "--plan", "plans/blog"], in: space.root)
        #expect(result.status == 0, "\(result)")
        #expect(
            result.standardOutput.split(separator: "\n").map(String.init) == [
                "plan blog (plans/blog): 5 versions, sqitch layout, latest 5",
                "  sqitch project blog (sqitch.plan): 5 changes (4 names), tags @v1.0 (version 3), @v1.1 (version 5)",
                "  reworked: user_posts is version 3 (deploy/user_posts@v1.0.sql), then version 5 (deploy/user_posts.sql)",
                "  verify scripts: 4 of 5 versions have one; missing for version 2 (posts).",
                "  note: all 10 deploy and revert scripts manage their own transaction (BEGIN … COMMIT, as Sqitch writes them); they run as written.",
                "valid",
            ])
    }

    @Test("validate names file:line:column for a bad sqitch.plan and exits 2")
    func validateRefusesABadPlan() async throws {
        let space = try workspace(onPostgres: false)
        defer { cleanUp(space) }
        let plan = space.root.appendingPathComponent("plans/blog/sqitch.plan")
        let text = try String(contentsOf: plan, encoding: .utf8).replacingOccurrences(
            of: "%uri=", with: "%engine=pg\n%uri=")
        try text.write(to: plan, atomically: true, encoding: .utf8)
        let result = try await CommandRunner.run(["validate", "--plan", "plans/blog"], in: space.root)
        #expect(result.status == 2, "\(result)")
        #expect(
            result.standardError.split(separator: "\n").map(String.init) == [
                "plans/blog/sqitch.plan:3:2: unknown pragma %engine; Tidemark reads %syntax-version, %project and %uri, so remove it or move the setting to sqitch.conf.",
                "validate: 1 problem found.",
            ])
    }
}
