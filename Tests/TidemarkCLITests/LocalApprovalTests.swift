import Foundation
import Testing
import TidemarkTestSupport

/// `approval: required` without a control database (docs/on-call.md#approvals): a terminal asks
/// at the wave boundary; off a terminal the wave waits (exit 5) unless `--approve ENV`. Real
/// processes, a real SQLite file and a real PostgreSQL schema in the prod wave, a real
/// pseudo-terminal (python3's `pty`) for the question.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct LocalApprovalTests {
    /// staging (SQLite) then prod (`approval: required`: one SQLite file, one PostgreSQL schema).
    struct Fleet {
        let root: URL
        let schema: String

        init() throws {
            root = try CommandRunner.temporaryDirectory("tidemark-approval")
            schema = try TestPostgres.createSchema(for: "approval")
            try TestWorkspace.write(
                [
                    "plans/app/V1__t.sql": "CREATE TABLE t (id integer);\n",
                    "inventories/shop.yaml": """
                    inventory: shop
                    plan: ../plans/app
                    order: [staging, prod]
                    environments:
                      staging:
                        tier: staging
                        targets: [ { name: staging, url: "sqlite:../data/staging.db" } ]
                      prod:
                        tier: prod
                        approval: required
                        targets:
                          - { name: prod-lite, url: "sqlite:../data/prod-lite.db" }
                          - { name: prod-pg, url: "\(TestPostgres.url ?? "")", schema: \(schema) }
                    """,
                ], under: root)
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("data"), withIntermediateDirectories: true)
        }

        func remove() {
            try? FileManager.default.removeItem(at: root)
            try? TestPostgres.dropSchema(schema)
        }

        /// Whether anything was written to the prod targets (the SQLite file, the schema's history).
        func prodWritten() throws -> Bool {
            let history = try TestPostgres.tableExists("tidemark_history", inSchema: schema)
            return history
                || FileManager.default.fileExists(atPath: root.appendingPathComponent("data/prod-lite.db").path)
        }

        func report() throws -> [String: Any] {
            try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("run.json")))
                    as? [String: Any])
        }

        /// `tidemark arguments…` on a pseudo-terminal (standard input and output both TTYs),
        /// answering `answer` to the approval question once it is asked.
        func onTerminal(_ arguments: [String], answer: String) async throws -> TerminalResult {
            let driver = """
                import os, pty, sys
                pid, fd = pty.fork()
                if pid == 0:
                    os.execv(sys.argv[2], sys.argv[2:])
                out, answered = b"", False
                while True:
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:
                        break
                    if not chunk:
                        break
                    out += chunk
                    if not answered and b"[y/N] " in out:
                        os.write(fd, (sys.argv[1] + "\\n").encode())
                        answered = True
                _, status = os.waitpid(pid, 0)
                sys.stdout.write(out.decode("utf-8", "replace"))
                sys.exit(os.waitstatus_to_exitcode(status))
                """
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", driver, answer, CommandRunner.executable.path] + arguments
            process.currentDirectoryURL = root
            var environment = ProcessInfo.processInfo.environment
            environment["NO_COLOR"] = "1"
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let data = await Task.detached { output.fileHandleForReading.readDataToEndOfFile() }.value
            process.waitUntilExit()
            return TerminalResult(
                status: process.terminationStatus, standardOutput: String(decoding: data, as: UTF8.self))
        }
    }

    /// What the terminal showed (standard output and error together, as a person sees them) and the exit code.
    struct TerminalResult: CustomStringConvertible {
        var status: Int32
        var standardOutput: String
        var description: String { "exit \(status)\n\(standardOutput)" }
    }

    static let apply = ["apply", "-i", "inventories/shop.yaml", "--yes", "--report", "run.json"]

    @Test func offATerminalTheApprovalWaveIsDeferredWithExit5AndNothingWrittenThere() async throws {
        let fleet = try Fleet()
        defer { fleet.remove() }
        let plan = try await CommandRunner.run(["plan", "-i", "inventories/shop.yaml"], in: fleet.root)
        #expect(plan.status == 0, "\(plan)")
        #expect(
            plan.standardOutput.contains(
                "  needs approval (approval: required): apply asks on a terminal at this wave; off one it defers unless --approve prod"
            ), "\(plan)")
        let applied = try await CommandRunner.run(Self.apply, in: fleet.root)
        #expect(applied.status == 5, "\(applied)")
        #expect(applied.standardOutput.contains("1 succeeded, 2 deferred"), "\(applied)")
        #expect(
            applied.standardOutput.contains("deferred: awaits approval (approval: required) and no terminal asked"),
            "\(applied)")
        #expect(try !fleet.prodWritten(), "a wave waiting for approval writes nothing")
        #expect(FileManager.default.fileExists(atPath: fleet.root.appendingPathComponent("data/staging.db").path))
        #expect(try fleet.report()["approvals"] == nil)
    }

    @Test func withApproveTheWaveRunsAndTheApprovalIsRecorded() async throws {
        let fleet = try Fleet()
        defer { fleet.remove() }
        let applied = try await CommandRunner.run(Self.apply + ["--approve", "prod"], in: fleet.root)
        #expect(applied.status == 0, "\(applied)")
        #expect(try fleet.prodWritten())
        let approvals = try #require(try fleet.report()["approvals"] as? [[String: Any]])
        #expect(approvals.count == 1)
        #expect(approvals.first?["environment"] as? String == "prod")
        #expect(approvals.first?["decision"] as? String == "approved")
        #expect(approvals.first?["channel"] as? String == "flag")
        #expect((approvals.first?["osUser"] as? String)?.isEmpty == false, "\(approvals)")
        #expect(approvals.first?["decidedAt"] is String, "\(approvals)")
        let page = try String(contentsOf: fleet.root.appendingPathComponent("run.html"), encoding: .utf8)
        #expect(page.contains("<h2>Approvals</h2>") && page.contains("--approve prod"))

        let unknown = try await CommandRunner.run(Self.apply + ["--approve", "prd"], in: fleet.root)
        #expect(unknown.status == 2, "\(unknown)")
    }

    @Test func onATerminalYesRunsTheWave() async throws {
        let fleet = try Fleet()
        defer { fleet.remove() }
        let result = try await fleet.onTerminal(Self.apply, answer: "y")
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains("Approve wave 2 (prod, 2 targets)? [y/N]"), "\(result)")
        #expect(result.standardOutput.contains("writes 2 targets: prod-lite, prod-pg"), "\(result)")
        let runID = try #require(try fleet.report()["runID"] as? String)
        #expect(result.standardOutput.contains("run \(runID): wave 2/2 (prod) waits for approval"), "\(result)")
        #expect(try fleet.prodWritten())
        let approvals = try #require(try fleet.report()["approvals"] as? [[String: Any]])
        #expect(approvals.first?["decision"] as? String == "approved")
        #expect(approvals.first?["channel"] as? String == "terminal")
    }

    @Test func onATerminalNoHaltsTheRunAndRecordsTheRejection() async throws {
        let fleet = try Fleet()
        defer { fleet.remove() }
        let result = try await fleet.onTerminal(Self.apply, answer: "n")
        #expect(result.status == 1, "\(result)")
        #expect(result.standardOutput.contains("was rejected by"), "\(result)")
        #expect(try !fleet.prodWritten())
        let approvals = try #require(try fleet.report()["approvals"] as? [[String: Any]])
        #expect(approvals.first?["decision"] as? String == "rejected")
        #expect(approvals.first?["channel"] as? String == "terminal")
    }
}
