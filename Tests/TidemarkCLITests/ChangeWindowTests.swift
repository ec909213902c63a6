import Foundation
import Testing
import TidemarkTestSupport

/// Change windows and freezes through the command line (docs/windows.md), with the fixed clock
/// `TIDEMARK_NOW` (honoured by debug builds, which the tests run).
@Suite struct ChangeWindowTests {
    /// staging (mon-fri 09:00-17:00 Berlin, from defaults) then prod (its own mon-thu
    /// 02:00-05:00 Berlin), a year-end freeze from defaults; SQLite targets.
    static func workspace() throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-windows")
        try TestWorkspace.write(
            [
                "plans/app/V1__t.sql": "CREATE TABLE t (id integer);\n",
                "plans/app/V2__u.sql": "CREATE TABLE u (id integer);\n",
                "inventories/shop.yaml": """
                inventory: shop
                plan: ../plans/app
                order: [staging, prod]
                defaults:
                  windows: [ { days: mon-fri, from: "09:00", to: "17:00", tz: Europe/Berlin } ]
                  freeze: [ { from: 2026-12-20, to: 2027-01-04, reason: year-end, tz: Europe/Berlin } ]
                environments:
                  staging:
                    tier: staging
                    targets: [ { name: staging, url: "sqlite:../data/staging.db" } ]
                  prod:
                    tier: prod
                    windows: [ { days: mon-thu, from: "02:00", to: "05:00", tz: Europe/Berlin } ]
                    targets: [ { name: "prod-{1..2}", url: "sqlite:../data/prod-{1..2}.db" } ]
                """,
            ], under: root)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("data"), withIntermediateDirectories: true)
        return root
    }

    static func run(_ arguments: [String], at now: String, in root: URL, user: String = "carol@ops") async throws
        -> CommandRunner.Result
    {
        try await CommandRunner.run(
            arguments, in: root, environment: ["TIDEMARK_NOW": now, "TIDEMARK_APPLIED_BY": user])
    }

    static func databases(in root: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("data").path)) ?? []).filter
        { $0.hasSuffix(".db") }.sorted()
    }

    @Test func outsideItsWindowAWaveAndEveryLaterOneIsDeferredWithExit5AndNothingWritten() async throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        // Tuesday 03:00 Berlin: prod's window is open, staging's is not, and staging goes first.
        let plan = try await Self.run(
            ["plan", "-i", "inventories/shop.yaml"], at: "2026-12-08T03:00:00+01:00", in: root)
        #expect(plan.status == 5, "\(plan)")
        #expect(
            plan.standardOutput.contains(
                "  deferred: outside its change window (mon-fri 09:00-17:00 Europe/Berlin); writes may start at 2026-12-08 09:00 Europe/Berlin (2026-12-08T08:00:00Z)"
            ),
            "\(plan)")
        #expect(
            plan.standardOutput.contains("  deferred: wave staging before it is deferred, and waves go in order"),
            "\(plan)")
        let apply = try await Self.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--report", "run.json"], at: "2026-12-08T03:00:00+01:00",
            in: root)
        #expect(apply.status == 5, "\(apply)")
        #expect(apply.standardOutput.contains("3 targets: 3 deferred"), "\(apply)")
        #expect(
            Self.databases(in: root).isEmpty,
            "deferred targets are neither written nor created: \(Self.databases(in: root))")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("run.json")))
                as? [String: Any])
        let outcomes = (report["targets"] as? [[String: Any]] ?? []).compactMap { $0["outcome"] as? String }
        #expect(outcomes == ["deferred", "deferred", "deferred"])
    }

    @Test func insideEveryWindowTheRunWrites() async throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        // Tuesday 10:00 Berlin: staging is open; prod (02:00-05:00) is not: staging runs, prod waits.
        let staging = try await Self.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes"], at: "2026-12-08T10:00:00+01:00", in: root)
        #expect(staging.status == 5, "\(staging)")
        #expect(Self.databases(in: root) == ["staging.db"])
        // Wednesday 02:30 Berlin: staging has nothing left to write, prod's window is open.
        let prod = try await Self.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes"], at: "2026-12-09T02:30:00+01:00", in: root)
        #expect(prod.status == 0, "\(prod)")
        #expect(Self.databases(in: root) == ["prod-1.db", "prod-2.db", "staging.db"])
    }

    /// A rollout saved outside the windows is weighed again when it is applied.
    @Test func aSavedRolloutIsWeighedWhenItIsApplied() async throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let saved = try await Self.run(
            ["plan", "-i", "inventories/shop.yaml", "--out", "rollout.json"], at: "2026-12-08T20:00:00+01:00", in: root)
        #expect(saved.status == 5, "\(saved)")
        let applied = try await Self.run(["apply", "rollout.json", "--yes"], at: "2026-12-08T10:00:00+01:00", in: root)
        #expect(applied.status == 5, "\(applied)")
        #expect(applied.standardOutput.contains("succeeded   staging (staging)"), "\(applied)")
        #expect(
            !applied.standardOutput.contains("deferred: outside its change window (mon-fri 09:00-17:00"),
            "saved at 20:00, applied at 10:00: \(applied)")
        #expect(Self.databases(in: root) == ["staging.db"])
    }

    @Test func aFreezeDefersEvenInsideAWindowUntilTheFirstWindowAfterIt() async throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let plan = try await Self.run(
            ["plan", "-i", "inventories/shop.yaml"], at: "2026-12-22T10:00:00+01:00", in: root)
        #expect(plan.status == 5, "\(plan)")
        #expect(
            plan.standardOutput.contains(
                "deferred: in a freeze (2026-12-20..2027-01-04 (year-end)); writes may start at 2027-01-05 09:00 Europe/Berlin (2027-01-05T08:00:00Z)"
            ),
            "\(plan)")
    }

    @Test func overrideWindowRunsAnywayAndRecordsWhoAndWhy() async throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let apply = try await Self.run(
            [
                "apply", "-i", "inventories/shop.yaml", "--yes", "--override-window", "INC-42 hotfix", "--report",
                "run.json",
            ],
            at: "2026-12-22T10:00:00+01:00", in: root)
        #expect(apply.status == 0, "\(apply)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("run.json")))
                as? [String: Any])
        let recorded = try #require(report["windowOverride"] as? [String: Any], "\(report)")
        #expect(recorded["reason"] as? String == "INC-42 hotfix")
        #expect(recorded["by"] as? String == "carol@ops")
        #expect(recorded["environments"] as? [String] == ["staging", "prod"])
        let history = try await CommandRunner.run(
            ["history", "-i", "inventories/shop.yaml", "--target", "prod-1"], in: root)
        let row = try #require(history.standardOutput.split(separator: "\n").first { $0.hasPrefix("2 ") }, "\(history)")
        #expect(row.hasSuffix("u; window override: INC-42 hotfix (by carol@ops)"), "\(history)")
        let runID = try #require(report["runID"] as? String)
        #expect(row.contains(runID), "the row's run is the overriding run: \(row)")
        let page = try String(contentsOf: root.appendingPathComponent("run.html"), encoding: .utf8)
        #expect(page.contains("<b>window override</b> in staging, prod by <b>carol@ops</b>: INC-42 hotfix"))
    }

    @Test func anUnknownZoneOrAnEmptyWindowExits2NamingTheLine() async throws {
        let root = try CommandRunner.temporaryDirectory("tidemark-windows-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestWorkspace.write(
            [
                "plans/app/V1__t.sql": "CREATE TABLE t (id integer);\n",
                "inventories/bad.yaml": """
                inventory: bad
                plan: ../plans/app
                environments:
                  prod:
                    tier: prod
                    windows:
                      - { days: mon-thu, from: "02:00", to: "05:00", tz: Europe/Berln }
                      - { from: "02:00", to: "02:00", tz: UTC }
                    targets: [ { name: p, url: "sqlite:p.db" } ]
                """,
            ], under: root)
        for command in ["validate", "plan"] {
            let result = try await CommandRunner.run([command, "-i", "inventories/bad.yaml"], in: root)
            #expect(result.status == 2, "\(result)")
            #expect(
                result.standardError.contains(
                    "inventories/bad.yaml:7:58: unknown time zone 'Europe/Berln'; did you mean 'Europe/Berlin'?")
                    || result.standardOutput.contains(
                        "inventories/bad.yaml:7:58: unknown time zone 'Europe/Berln'; did you mean 'Europe/Berlin'?"),
                "\(result)")
            #expect(
                (result.standardError + result.standardOutput).contains(
                    "inventories/bad.yaml:8:30: a window from 02:00 to 02:00 never opens"), "\(result)")
        }
    }
}

/// A window that closes mid-run, on a real PostgreSQL: the running target finishes, the targets
/// not yet started are deferred.
@Suite(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)), .serialized)
struct ChangeWindowClosingTests {
    @Test func aWindowClosingMidRunDefersTheTargetsNotYetStarted() async throws {
        let url = try #require(TestPostgres.url)
        let schemas = try (1...3).map { try TestPostgres.createSchema(for: "window_\($0)") }
        defer { for schema in schemas { try? TestPostgres.dropSchema(schema) } }
        let root = try CommandRunner.temporaryDirectory("tidemark-window-closing")
        defer { try? FileManager.default.removeItem(at: root) }
        // One worker; each target's step takes 6 s; the window closes 5 s after the run starts.
        try TestWorkspace.write(
            [
                "plans/app/V1__t.sql": "CREATE TABLE t (id integer);\nSELECT pg_sleep(6);\n",
                "inventories/shop.yaml": """
                inventory: shop
                plan: ../plans/app
                concurrency: 1
                environments:
                  prod:
                    tier: prod
                    windows: [ { from: "02:00", to: "05:00", tz: Europe/Berlin } ]
                    targets:
                      - { name: p1, url: "\(url)", schema: \(schemas[0]) }
                      - { name: p2, url: "\(url)", schema: \(schemas[1]) }
                      - { name: p3, url: "\(url)", schema: \(schemas[2]) }
                """,
            ], under: root)
        let apply = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--report", "run.json"], in: root,
            environment: ["TIDEMARK_NOW": "2026-12-08T04:59:55+01:00"])
        #expect(apply.status == 5, "\(apply)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("run.json")))
                as? [String: Any])
        let outcomes = (report["targets"] as? [[String: Any]] ?? []).map {
            ($0["target"] as? String ?? "", $0["outcome"] as? String ?? "")
        }
        #expect(outcomes.map(\.1) == ["succeeded", "deferred", "deferred"], "\(outcomes)")
        #expect(try TestPostgres.tableExists("t", inSchema: schemas[0]))
        #expect(try !TestPostgres.tableExists("t", inSchema: schemas[1]))
        #expect(apply.standardOutput.contains("writes may start at 2026-12-09 02:00 Europe/Berlin"), "\(apply)")
    }
}

/// What the sinks hear of windows: a deferred run pages nobody; an override says who and why.
@Suite struct ChangeWindowNotificationTests {
    static func workspace(hook: String) throws -> URL {
        let root = try CommandRunner.temporaryDirectory("tidemark-windows-notify")
        try TestWorkspace.write(
            [
                "plans/app/V1__t.sql": "CREATE TABLE t (id integer);\n",
                "inventories/shop.yaml": """
                inventory: shop
                plan: ../plans/app
                environments:
                  prod:
                    tier: prod
                    windows: [ { days: mon-thu, from: "02:00", to: "05:00", tz: Europe/Berlin } ]
                    targets: [ { name: p, url: "sqlite:p.db" } ]
                notify:
                  - { name: hook, type: webhook, url: "\(hook)" }
                """,
            ], under: root)
        return root
    }

    @Test func aDeferredRunPagesNobodyAndAnOverrideTellsWhoAndWhy() async throws {
        let receiver = try HTTPTestReceiver()
        defer { receiver.stop() }
        let root = try Self.workspace(hook: receiver.url())
        defer { try? FileManager.default.removeItem(at: root) }
        let deferred = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes"], in: root,
            environment: ["TIDEMARK_NOW": "2026-12-08T12:00:00+01:00"])
        #expect(deferred.status == 5, "\(deferred)")
        let first = await receiver.waitForRequests(2)
        let kinds = first.compactMap { $0.jsonObject()?["event"] as? String }
        #expect(kinds == ["run.started", "run.finished"], "\(first.map(\.bodyText))")

        let overridden = try await CommandRunner.run(
            ["apply", "-i", "inventories/shop.yaml", "--yes", "--override-window", "INC-42 hotfix"], in: root,
            environment: ["TIDEMARK_NOW": "2026-12-08T12:00:00+01:00", "TIDEMARK_APPLIED_BY": "carol@ops"])
        #expect(overridden.status == 0, "\(overridden)")
        let all = await receiver.waitForRequests(5)
        let started = try #require(
            all.dropFirst(2).first { $0.jsonObject()?["event"] as? String == "run.started" }?.jsonObject())
        #expect(started["reason"] as? String == "window override: INC-42 hotfix (by carol@ops) in prod", "\(started)")
    }
}
