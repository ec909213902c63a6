import Foundation
import Testing
import TidemarkCore
import TidemarkFleet
import TidemarkPostgres
import TidemarkTestSupport

@testable import TidemarkControl

/// The control schema on a database of its own: created once, versioned, a newer one refused.
@Suite(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
struct ControlSchemaTests {
    /// A fresh database in the test cluster and its URL; dropped by `drop`.
    static func freshDatabase() throws -> (name: String, url: String, admin: PostgresSession) {
        let url = try #require(TestPostgres.url)
        let admin = try PostgresSession(
            target: Target(name: "test", environment: "", connection: .url(url)), timeouts: .standard, logger: .silent)
        let name = TestPostgres.uniqueSchemaName(for: "control")
        try admin.query("CREATE DATABASE \(TestPostgres.quoted(name))")
        let base = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        let slash = try #require(base.lastIndex(of: "/"))
        return (name, String(base[...slash]) + name, admin)
    }

    @Test func schemaIsCreatedOnceAndRecordsItsVersion() throws {
        let database = try Self.freshDatabase()
        defer {
            _ = try? database.admin.query("DROP DATABASE IF EXISTS \(TestPostgres.quoted(database.name)) WITH (FORCE)")
        }
        let first = try ControlStore(database: ControlDatabase(url: database.url), appliedBy: "test", logger: .silent)
        first.close()
        let second = try ControlStore(database: ControlDatabase(url: database.url), appliedBy: "test", logger: .silent)
        second.close()
        let session = try PostgresSession(
            target: Target(name: "control", environment: "", connection: .url(database.url)), timeouts: .standard,
            logger: .silent)
        let versions = try session.query("SELECT version FROM tidemark_control.schema_version ORDER BY version").map {
            $0.first ?? nil
        }
        #expect(versions == (1...ControlSchema.currentVersion).map { "\($0)" })
        #expect(try session.query("SELECT count(*) FROM tidemark_control.runs").first?.first == "0")
    }

    /// The least a runner needs: a role that owns `tidemark_control` and may not create anything
    /// else in the database. A role without the schema is refused, naming what is missing.
    @Test func aRoleOwningOnlyTheControlSchemaMigratesAndRunsIt() throws {
        let database = try Self.freshDatabase()
        let runner = TestPostgres.uniqueSchemaName(for: "runner")
        let stranger = TestPostgres.uniqueSchemaName(for: "stranger")
        defer {
            _ = try? database.admin.query("DROP DATABASE IF EXISTS \(TestPostgres.quoted(database.name)) WITH (FORCE)")
            _ = try? database.admin.query("DROP ROLE IF EXISTS \(TestPostgres.quoted(runner))")
            _ = try? database.admin.query("DROP ROLE IF EXISTS \(TestPostgres.quoted(stranger))")
        }
        try database.admin.query("CREATE ROLE \(TestPostgres.quoted(runner)) LOGIN")
        try database.admin.query("CREATE ROLE \(TestPostgres.quoted(stranger)) LOGIN")
        let owner = try PostgresSession(
            target: Target(name: "control", environment: "", connection: .url(database.url)), timeouts: .standard,
            logger: .silent)
        try owner.query("REVOKE ALL ON DATABASE \(TestPostgres.quoted(database.name)) FROM PUBLIC")
        try owner.query(
            "GRANT CONNECT ON DATABASE \(TestPostgres.quoted(database.name)) TO \(TestPostgres.quoted(runner)), \(TestPostgres.quoted(stranger))"
        )
        try owner.query("CREATE SCHEMA tidemark_control AUTHORIZATION \(TestPostgres.quoted(runner))")
        owner.close()

        func url(as role: String) throws -> String {
            var components = try #require(URLComponents(string: database.url))
            components.user = role
            return try #require(components.string)
        }
        try ControlStore(database: ControlDatabase(url: try url(as: runner)), appliedBy: "test", logger: .silent)
            .close()
        let session = try PostgresSession(
            target: Target(name: "control", environment: "", connection: .url(try url(as: runner))),
            timeouts: .standard, logger: .silent)
        #expect(
            try session.query("SELECT max(version) FROM tidemark_control.schema_version").first?.first
                == "\(ControlSchema.currentVersion)")
        session.close()

        #expect {
            _ = try ControlStore(
                database: ControlDatabase(url: try url(as: stranger)), appliedBy: "test", logger: .silent)
        } throws: { error in
            "\(error)".contains("permission denied for schema tidemark_control")
        }
    }

    @Test func newerSchemaThanTheBinaryKnowsIsRefused() throws {
        let database = try Self.freshDatabase()
        defer {
            _ = try? database.admin.query("DROP DATABASE IF EXISTS \(TestPostgres.quoted(database.name)) WITH (FORCE)")
        }
        try ControlStore(database: ControlDatabase(url: database.url), appliedBy: "test", logger: .silent).close()
        let session = try PostgresSession(
            target: Target(name: "control", environment: "", connection: .url(database.url)), timeouts: .standard,
            logger: .silent)
        try session.query(
            "INSERT INTO tidemark_control.schema_version (version, applied_by) VALUES (99, 'a newer tidemark')")
        #expect {
            _ = try ControlStore(database: ControlDatabase(url: database.url), appliedBy: "test", logger: .silent)
        } throws: { error in
            guard let error = error as? ControlError, case .schemaTooNew(let found, let known) = error else {
                return false
            }
            return found == 99 && known == ControlSchema.currentVersion && error.category == .invalidInput
        }
    }
}

/// What decides who serves and joins what: pure rules.
struct ControlRulesTests {
    @Test func serveSelectorsMatchEnvironmentTagOrTargetName() {
        let target = Target(name: "eu-1", environment: "prod", connection: .url("postgres://x/y"), tags: ["eu"])
        #expect(ServeSelector.serves([], target: target))
        #expect(ServeSelector.serves(["prod"], target: target))
        #expect(ServeSelector.serves(["tag:eu"], target: target))
        #expect(ServeSelector.serves(["dev", "eu-1"], target: target))
        #expect(!ServeSelector.serves(["tag:us", "dev", "eu-2"], target: target))
        #expect(!ServeSelector.serves(["prod"], target: nil))
    }

    /// A waiting runner names the targets of the blocking wave that no live runner may claim,
    /// whose lease ran out, and how to go on; targets a live runner serves are not named.
    @Test func waveWaitNamesOnlyTargetsNoLiveRunnerServes() {
        func target(_ name: String, _ environment: String, tags: [String] = []) -> Target {
            Target(name: name, environment: environment, connection: .url("postgres://x/y"), tags: tags)
        }
        let inventory = Inventory(
            name: "fleet", file: "inventories/fleet.yaml", planDirectory: "plans/app",
            environments: [
                Environment(
                    name: "eu", tier: .prod, targets: [target("eu-1", "eu"), target("eu-2", "eu", tags: ["canary"])]),
                Environment(name: "us", tier: .prod, targets: [target("us-1", "us")]),
            ])
        let fleet = FleetIndex(inventory)
        let unheld = [
            WaveWait.Unheld(target: "eu-1", environment: "eu", lastRunner: "host-a/41-9f", leaseEndedSecondsAgo: 12.4),
            WaveWait.Unheld(target: "eu-2", environment: "eu"),
            WaveWait.Unheld(target: "us-1", environment: "us"),
        ]
        let byTag = WaveWait(wave: 0, unheld: unheld, live: [.init(runner: "b", selectors: ["tag:canary", "us"])])
        #expect(byTag.unserved(in: fleet).map(\.target) == ["eu-1"])
        let nobody = WaveWait(wave: 0, unheld: unheld, live: [])
        #expect(nobody.unserved(in: fleet).count == 3)
        let everything = WaveWait(wave: 0, unheld: unheld, live: [.init(runner: "c", selectors: [])])
        #expect(everything.unserved(in: fleet).isEmpty)

        let notice = WaveWait.notice(runID: "r-1", wave: 1, unserved: nobody.unserved(in: fleet))
        #expect(
            notice
                == "run r-1 waits on wave 2 (eu, us): 3 targets no live runner serves: eu-1, eu-2, us-1 (eu-1 was held by runner host-a/41-9f, "
                + "whose lease ran out 12 s ago). Start a runner that serves them (--serve eu --serve us), or end the run: tidemark stop r-1 --control …"
        )
        let many = (1...7).map {
            WaveWait.Unheld(target: "t-\($0)", environment: "dev", lastRunner: "old", leaseEndedSecondsAgo: 600)
        }
        #expect(
            WaveWait.notice(runID: "r", wave: 0, unserved: many).contains(
                ": t-1, t-2, t-3, t-4, t-5 and 2 more (t-1 was held by runner old, whose lease ran out 10 min ago)"))
    }

    /// A waiting runner first looks after `after`, says why again after twice as long each time
    /// (up to `longest`), looks again `after` later when it had nothing to say, and starts over on a claim.
    @Test func idleWorkerAsksAgainSoonThenLessOftenUpToThePollAndStartsOverOnAClaim() {
        var idle = IdleBackoff(longest: .milliseconds(200))
        let waits = (0..<7).map { _ in idle.next() }
        #expect(waits == [10, 20, 40, 80, 160, 200, 200].map { Duration.milliseconds($0) })
        idle.reset()
        #expect(idle.next() == .milliseconds(10))
        // A poll shorter than the first wait is never exceeded.
        var short = IdleBackoff(longest: .milliseconds(5))
        #expect([short.next(), short.next()] == [.milliseconds(5), .milliseconds(5)])
    }

    @Test func noticeScheduleDoublesAfterEachNoticeAndStartsOverOnAClaim() {
        let start = ContinuousClock.now
        func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }
        var schedule = NoticeSchedule(after: .seconds(5), longest: .seconds(30), now: start)
        func look(_ seconds: Int) -> Bool { schedule.shouldLook(at: at(seconds)) }
        #expect(!look(4))
        #expect(look(5))
        schedule.said(at: at(5))
        #expect(!look(14) && look(15), "10 s after the first notice")
        schedule.said(at: at(15))
        #expect(!look(34) && look(35), "20 s after the second")
        schedule.said(at: at(35))
        #expect(!look(64) && look(65), "at most 30 s")
        #expect(!look(69) && look(70), "nothing to say: look again 5 s later")
        schedule.claimed(at: at(71))
        #expect(!look(75) && look(76))
        schedule.said(at: at(76))
        #expect(look(86), "the doubling started over with the claim")
    }

    @Test func firstDifferingScriptIsNamedInPathOrder() {
        let run = ControlRun(
            runID: "r", key: "k", inventory: "i", plan: "p", selection: "env=all target=all", desiredVersion: "3",
            strategy: .auto,
            scripts: ["V1__a.sql": "aa", "V2__b.sql": "bb", "V3__c.sql": "cc"], createdBy: "test")
        #expect(run.firstDifferingScript(from: ["V1__a.sql": "aa", "V2__b.sql": "bb", "V3__c.sql": "cc"]) == nil)
        #expect(
            run.firstDifferingScript(from: ["V1__a.sql": "aa", "V2__b.sql": "XX", "V3__c.sql": "YY"]) == "V2__b.sql")
        #expect(run.firstDifferingScript(from: ["V1__a.sql": "aa", "V2__b.sql": "bb"]) == "V3__c.sql")
        #expect(
            run.firstDifferingScript(from: ["V0__z.sql": "zz", "V1__a.sql": "aa", "V2__b.sql": "bb", "V3__c.sql": "cc"])
                == "V0__z.sql")
    }

    @Test func inventoryControlKeyIsReadAndCheckedLikeEveryKey() throws {
        let directory = try CommandRunner.temporaryDirectory("tidemark-control-inventory")
        defer { try? FileManager.default.removeItem(at: directory) }
        let plan = directory.appendingPathComponent("plans/app")
        try FileManager.default.createDirectory(at: plan, withIntermediateDirectories: true)
        try "CREATE TABLE t (id int);\n".write(
            to: plan.appendingPathComponent("V1__t.sql"), atomically: true, encoding: .utf8)
        let good = directory.appendingPathComponent("good.yaml")
        try """
        inventory: fleet
        plan: plans/app
        control: { url: "postgres://tidemark@control.db.internal/tidemark", password_env: CONTROL_PASSWORD }
        environments:
          dev: { tier: dev, targets: [ { name: dev, url: "sqlite:dev.db" } ] }
        """.write(to: good, atomically: true, encoding: .utf8)
        let inventory = try FleetInputs.inventory(at: good.path)
        #expect(
            inventory.control
                == ControlDatabase(
                    url: "postgres://tidemark@control.db.internal/tidemark", passwordEnv: "CONTROL_PASSWORD"))

        let bad = directory.appendingPathComponent("bad.yaml")
        try """
        inventory: fleet
        plan: plans/app
        control: { uri: "postgres://x/y" }
        environments:
          dev: { tier: dev, targets: [ { name: dev, url: "sqlite:dev.db" } ] }
        """.write(to: bad, atomically: true, encoding: .utf8)
        #expect {
            _ = try FleetInputs.inventory(at: bad.path)
        } throws: { error in
            let text = "\(error)"
            return text.contains("bad.yaml:3:") && text.contains("unknown key 'uri' in control")
                && text.contains("control needs a url")
        }
    }
}
