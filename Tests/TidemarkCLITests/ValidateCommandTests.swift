import Foundation
import Testing
import TidemarkTestSupport

/// `tidemark validate` and `tidemark history` as a user runs them: real binary, real files.
@Suite struct ValidateCommandTests {
    let lemmy = CommandRunner.repositoryRoot.appendingPathComponent("../shared/corpora/lemmy").standardized

    @Test func demoInventoryAndPlanAreValid() async throws {
        let result = try await CommandRunner.run(["validate", "-i", "inventories/demo.yaml"])
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains("plan demo"))
        #expect(result.standardOutput.contains("4 versions, flyway layout, latest 4"))
        #expect(result.standardOutput.contains("waves dev → test → prod-maintenance → prod"))
        #expect(result.standardOutput.contains("7 targets"))
    }

    @Test(
        .enabled(
            if: FileManager.default.fileExists(
                atPath: CommandRunner.repositoryRoot.appendingPathComponent("../shared/corpora/lemmy").path)))
    func lemmyCorpusLoadsWith342Versions() async throws {
        let result = try await CommandRunner.run(["validate", "--plan", lemmy.path])
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains("342 versions, golang-migrate layout, latest 0342"), "\(result)")
    }

    @Test func everyInventoryProblemIsListedWithPositionAndExit2() async throws {
        let directory = try CommandRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let inventory = directory.appendingPathComponent("bad.yaml")
        try """
        inventory: bad
        plan: ../plans/demo
        concurency: 4
        environments:
          dev:
            tier: dev
            lock_timeout: 5 seconds
            targets:
              - { name: "db-{3..1}", url: "sqlite:db.db" }
        """.write(to: inventory, atomically: true, encoding: .utf8)
        let result = try await CommandRunner.run(["validate", "-i", inventory.path])
        #expect(result.status == 2, "\(result)")
        #expect(result.standardError.contains("\(inventory.path):3:1: "), "\(result)")
        #expect(result.standardError.contains("concurency"))
        #expect(result.standardError.contains("\(inventory.path):7:"), "bad duration: \(result)")
        #expect(result.standardError.contains("\(inventory.path):9:"), "empty range: \(result)")
        #expect(result.standardError.contains("validate: 3 problems found."), "\(result)")
    }

    @Test func planProblemsNameTheFileAndExit2() async throws {
        let directory = try CommandRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try "CREATE TABLE a (id int);".write(
            to: directory.appendingPathComponent("V1__a.sql"), atomically: true, encoding: .utf8)
        try "CREATE TABLE b (id int);".write(
            to: directory.appendingPathComponent("V1__b.sql"), atomically: true, encoding: .utf8)
        try "-- tidemark:no-transactoin\nSELECT 1;".write(
            to: directory.appendingPathComponent("V2__c.sql"), atomically: true, encoding: .utf8)
        let result = try await CommandRunner.run(["validate", "--plan", directory.path])
        #expect(result.status == 2, "\(result)")
        #expect(result.standardError.contains("version 1 already has a forward script"), "\(result)")
        #expect(
            result.standardError.contains("V2__c.sql:1:4: unknown directive 'tidemark:no-transactoin'"), "\(result)")
    }

    @Test func usageErrorsExit2NotArgumentParsers64() async throws {
        let missingSource = try await CommandRunner.run(["validate"])
        #expect(missingSource.status == 2, "\(missingSource)")
        #expect(missingSource.standardError.contains("--plan DIR or -i INVENTORY"))
        let unknownFlag = try await CommandRunner.run(["validate", "--bogus"])
        #expect(unknownFlag.status == 2, "\(unknownFlag)")
    }

    @Test func historyOfUnknownTargetNamesTheInventory() async throws {
        let result = try await CommandRunner.run(["history", "-i", "inventories/demo.yaml", "--target", "prod-eu-9"])
        #expect(result.status == 2, "\(result)")
        #expect(
            result.standardError.contains(
                "inventories/demo.yaml: no target named 'prod-eu-9'; did you mean 'prod-eu-1'?"), "\(result)")
    }
}
