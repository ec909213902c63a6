import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// squawk (PyPI `squawk-cli`, installed by scripts/install-deps) as an oracle for the rules
/// Tidemark shares with it, on a fixed subset of the Lemmy corpus that flags each shared rule at
/// least once. Every statement squawk flags must be one `tidemark lint` flags with the same rule,
/// except the differences pinned below, each with its reason; and the other way round.
/// scripts/squawk-compare runs the same comparison over the whole corpus.
@Suite struct SquawkOracleTests {
    static let corpus = CommandRunner.repositoryRoot.appendingPathComponent("../shared/corpora/lemmy")
        .standardizedFileURL
    static let versions = [
        "0029", "0056", "0105", "0116", "0203", "0213", "0216", "0219", "0225", "0251", "0264", "0317",
    ]

    /// squawk's path, or nil when it is not installed.
    static let squawk: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin"
        return path.split(separator: ":").map { "\($0)/squawk" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }()

    /// Set by scripts/test (after installing squawk), so a missing squawk fails there instead of skipping.
    static var required: Bool { ProcessInfo.processInfo.environment["TIDEMARK_REQUIRE_SQUAWK"] == "1" }

    struct Warning: Decodable {
        var file: String
        var line: Int // 0-based
        var ruleName: String

        enum CodingKeys: String, CodingKey {
            case file, line
            case ruleName = "rule_name"
        }
    }

    struct Finding: Decodable {
        var script: String
        var line: Int
        var endLine: Int
        var rule: String
    }

    struct Lint: Decodable {
        var findings: [Finding]
    }

    @Test(.enabled(if: squawk != nil || required, "squawk is not installed: run scripts/install-deps"))
    func sharedRulesAgreeWithSquawkOnTheLemmySubset() async throws {
        let squawk = try #require(Self.squawk, "squawk is not installed: run scripts/install-deps")
        let plan = try CommandRunner.temporaryDirectory("tidemark-squawk")
        defer { try? FileManager.default.removeItem(at: plan) }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)
            .filter { name in Self.versions.contains { name.hasPrefix($0 + "_") } }.sorted()
        #expect(files.count == 2 * Self.versions.count)
        for file in files {
            try FileManager.default.copyItem(
                at: Self.corpus.appendingPathComponent(file), to: plan.appendingPathComponent(file))
        }

        let lint = try await CommandRunner.run(["lint", "--plan", plan.path, "--json"])
        #expect(lint.status == 0, "\(lint)")
        let ours = try JSONDecoder().decode(Lint.self, from: Data(lint.standardOutput.utf8)).findings
        let output = try await Self.run(
            squawk, ["--assume-in-transaction", "--pg-version", "15", "--reporter", "json"] + files, in: plan)
        let shared = Set(LockRule.allCases.filter(\.isSquawkRule).map(\.rawValue))
        let theirs = try JSONDecoder().decode([Warning].self, from: Data(output.utf8)).filter {
            shared.contains($0.ruleName)
        }

        var matched = Set<Int>()
        var squawkOnly = Set<String>()
        for warning in theirs {
            let line = warning.line + 1
            let hits = ours.indices.filter { index in
                ours[index].script == warning.file && ours[index].rule == warning.ruleName
                    && (ours[index].line...ours[index].endLine).contains(line)
            }
            if hits.isEmpty { squawkOnly.insert("\(warning.file):\(line) \(warning.ruleName)") }
            matched.formUnion(hits)
        }
        // Tidemark's own rules (unbatched-data-change finds the corpus's backfills) have no squawk counterpart to agree with.
        let tidemarkOnly = Set(
            ours.indices.filter { shared.contains(ours[$0].rule) && !matched.contains($0) }.map {
                "\(ours[$0].script):\(ours[$0].line) \(ours[$0].rule)"
            })

        #expect(
            squawkOnly == [
                // Indexes on materialized views the same script creates: new, no other session sees them.
                "0029_create_materialized_views.up.sql:95 require-concurrent-index-creation",
                "0029_create_materialized_views.up.sql:257 require-concurrent-index-creation",
                "0029_create_materialized_views.up.sql:322 require-concurrent-index-creation",
                "0029_create_materialized_views.up.sql:450 require-concurrent-index-creation",
                // UNIQUE and PRIMARY KEY take no NOT VALID; Tidemark reports them as
                // disallowed-unique-constraint and adding-serial-primary-key-field, which squawk reports too.
                "0203_site-name-not-unique.down.sql:2 constraint-missing-not-valid",
                "0219_add_image_detail_table.down.sql:2 constraint-missing-not-valid",
                "0219_add_image_detail_table.up.sql:4 constraint-missing-not-valid",
            ])
        // ADD COLUMN id serial: nextval() is a volatile default, so the table is rewritten; squawk does not flag serial.
        #expect(tidemarkOnly == ["0219_add_image_detail_table.down.sql:1 adding-field-with-default"])
        // Every shared rule is exercised by both.
        let agreed = Set(matched.map { ours[$0].rule })
        #expect(agreed == shared, "rules both flag: \(agreed.sorted())")
    }

    /// Runs a program and returns its standard output, on a thread of its own.
    static func run(_ program: String, _ arguments: [String], in directory: URL) async throws -> String {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, any Error>) in
            let thread = Thread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: program)
                process.arguments = arguments
                process.currentDirectoryURL = directory
                let output = Pipe()
                process.standardOutput = output
                process.standardError = FileHandle.nullDevice
                do {
                    try process.run()
                    let data = output.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: String(decoding: data, as: UTF8.self))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }
}
