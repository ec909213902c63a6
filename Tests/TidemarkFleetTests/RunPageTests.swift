import Foundation
import Logging
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkTestSupport

@testable import TidemarkFleet

/// A 1,000-target in-memory run: its HTML page, the trace it exports. Shared by the page and
/// trace suites.
struct ThousandTargetRun {
    let files: TestWorkspace
    let store = MemoryStore()
    var root: URL { files.root }
    var inventory: String { files.inventory }
    var state: StateDirectory { StateDirectory(root: root.appendingPathComponent(".tidemark")) }

    /// dev-{01..40}; live prod shard-{001..960} (max_failures 10): shard-005 and shard-006 refuse
    /// connections (failed), shard-007 holds version 9 (blocked), shard-008 is dirty (blocked).
    /// Version 3 drops a column: data-losing, so every prod target is backed up first.
    init(prefix: String = "tidemark-thousand") throws {
        files = try TestWorkspace(
            prefix: prefix,
            scripts: [
                "V1__users.sql": "CREATE TABLE users (id INTEGER, nick TEXT)", "U1__users.sql": "DROP TABLE users",
                "V2__orders.sql": "CREATE TABLE orders (id INTEGER)", "U2__orders.sql": "DROP TABLE orders",
                "V3__drop_nick.sql": "ALTER TABLE users DROP COLUMN nick",
                "U3__drop_nick.sql": "ALTER TABLE users ADD COLUMN nick TEXT",
            ]
        ) { id in
            """
            inventory: fleet
            plan: ../plans/app
            concurrency: 8
            order: [dev, prod]
            environments:
              dev: { tier: dev, targets: [ { name: "dev-{01..40}", url: "memory:\(id)-dev-{01..40}" } ] }
              prod:
                tier: prod
                live: true
                max_failures: 10
                targets: [ { name: "shard-{001..960}", url: "memory:\(id)-shard-{001..960}" } ]
            """
        }

        let fleet = try FleetInputs.inventory(at: inventory)
        func target(_ name: String) throws -> Target { try #require(fleet.target(named: name)) }
        for name in ["shard-005", "shard-006"] {
            try store.failNextConnections(to: try target(name), count: 100, transient: false)
        }
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        try store.seed(
            try target("shard-007"),
            history: [
                HistoryEntry(
                    id: 1, version: "9", description: "elsewhere", kind: .forward, script: "V9__elsewhere.sql",
                    checksum: "x", runID: "old",
                    appliedBy: "someone", startedAt: at, finishedAt: at, executionMS: 1, success: true,
                    transactional: true)
            ])
        try store.seed(
            try target("shard-008"),
            history: [
                HistoryEntry(
                    id: 1, version: "1", description: "users", kind: .forward, script: "V1__users.sql", checksum: "x",
                    runID: "old",
                    appliedBy: "someone", startedAt: at, finishedAt: at, executionMS: 1, success: false,
                    transactional: false,
                    error: "statement 2 of 3 failed")
            ])
    }

    func request(environment: [String: String] = [:]) -> ApplyRequest {
        var request = ApplyRequest(
            source: .inventory(inventory), confirmation: .given, runID: "run-\(UUID().uuidString.prefix(8))",
            appliedBy: "test@host",
            environment: environment)
        request.stateDirectory = state
        request.backups = BackupPolicy(directory: root.appendingPathComponent("backups").path)
        return request
    }

    func run(environment: [String: String] = [:]) async throws -> ApplyResult {
        try await ApplyRun(registry: BackendRegistry([MemoryBackend(store: store)]), logger: .silent).run(
            request(environment: environment))
    }
}

@Suite struct RunPageTests {
    @Test func aThousandTargetRunPageLoadsCleanWithEveryTargetAndNoRequest() async throws {
        let fleet = try ThousandTargetRun()
        defer { try? FileManager.default.removeItem(at: fleet.root) }
        let result = try await fleet.run()
        let report = try #require(result.report)
        #expect(report.targets.count == 1000)
        #expect(result.status == .failed)
        let counts = report.counts
        #expect(counts[.failed] == 2 && counts[.blocked] == 2 && counts[.succeeded] == 996, "\(counts)")
        let pagePath = try #require(result.pagePath)
        #expect(pagePath == fleet.state.page(runID: report.runID).path)
        let html = try String(contentsOfFile: pagePath, encoding: .utf8)
        #expect(!html.contains("http://") && !html.contains("https://"), "the page names no URL to fetch")

        let load = try await HeadlessChromium.load(URL(fileURLWithPath: pagePath))
        #expect(load.console.isEmpty, "console: \(load.console)")
        #expect(load.requests.isEmpty, "requests: \(load.requests.map { "\($0.method) \($0.path)" })")
        // Every target is a cell of the wave grid, in the DOM Chromium built.
        let dom = load.dom
        // A closure, so a failure prints the text looked for, not the whole page.
        let has = { (text: String) in dom.contains(text) }
        let missing = report.targets.filter {
            !has("data-target=\"\($0.target)\" data-outcome=\"\($0.outcome.rawValue)\"")
        }
        #expect(missing.isEmpty, "not in the DOM: \(missing.prefix(5).map(\.target))")
        // The four that need a person come first, with their reasons.
        if let attention = dom.range(of: "Needs attention (4)"), let grid = dom.range(of: "Targets by wave") {
            #expect(attention.upperBound < grid.lowerBound)
        } else {
            Issue.record("the page lacks its attention or wave section")
        }
        for id in ["shard-005", "shard-006", "shard-007", "shard-008"] { #expect(has("id=\"attention-\(id)\"")) }
        #expect(has("Data-losing steps (996 targets)"))
        #expect(has("shard-{001..004,009..960} (956 targets)"))
        #expect(has("Backups taken (956)"))

        let screenshot = HeadlessChromium.artifacts.appendingPathComponent("run-1000-targets.png")
        try? FileManager.default.removeItem(at: screenshot)
        let shot = try await HeadlessChromium.load(URL(fileURLWithPath: pagePath), screenshot: screenshot)
        #expect(shot.console.isEmpty && shot.requests.isEmpty)
        #expect(FileManager.default.fileExists(atPath: screenshot.path), "screenshot at \(screenshot.path)")

        // `tidemark report RUN_ID --html` writes the same page from the saved JSON.
        let saved = try SavedRun.read(report.runID, in: fleet.state)
        #expect(saved.runID == report.runID && saved.targets.map(\.target) == report.targets.map(\.target))
    }
}
