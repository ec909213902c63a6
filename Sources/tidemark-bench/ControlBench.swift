import Foundation
import Logging
import TidemarkControl
import TidemarkCore
import TidemarkExecutor
import TidemarkFleet
import TidemarkPostgres
import TidemarkTestSupport

/// Many runner processes sharing one run through a real control database
/// (docs/many-runners.md#one-run-across-runners-a-control-database), each on the in-memory backend:
/// what the control database and each runner cost at a fleet's scale, with the targets themselves
/// free. The parent writes the fleet as files, starts the runners (this binary with `--runner`),
/// waits for them, then reads from the control database how the run ended and what it occupies.
///
/// Each runner's in-memory targets live in its own process: a target claimed by one runner is
/// migrated in that runner's store (nothing is killed here, so no target is taken over).
enum ControlBench {
    /// What a runner prints on its one line of standard output.
    struct RunnerLine: Codable {
        var runner: String
        var created: Bool
        var targets: Int
        var succeeded: Int
        var steps: Int
        var seconds: Double
        var peakKB: Int?
        var error: String?
    }

    static func run(_ settings: BenchSettings, control url: String) async -> Int32 {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "tidemark-bench-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let name = "bench-\(UUID().uuidString.prefix(8).lowercased())"
        let inventoryFile: String
        do {
            inventoryFile = try BenchFleet.write(
                into: directory, name: name, targets: settings.targets, environments: settings.environments,
                versions: settings.versions,
                concurrency: settings.concurrency)
        } catch {
            return fail("cannot write the fleet into \(directory.path): \(error.localizedDescription)")
        }
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return fail("cannot find this binary through /proc/self/exe (Linux only)")
        }

        let clock = ContinuousClock()
        let started = clock.now
        var runners: [(process: Process, output: Pipe)] = []
        for index in 0..<settings.runners {
            let process = Process()
            let arguments = [
                "--runner", inventoryFile, "--control", url, "--concurrency", String(settings.concurrency),
            ]
            // TIDEMARK_BENCH_WRAPPER="heaptrack -o /tmp/runner": each runner under a profiler.
            let wrapper =
                ProcessInfo.processInfo.environment["TIDEMARK_BENCH_WRAPPER"].map {
                    $0.split(separator: " ").map(String.init)
                } ?? []
            if let tool = wrapper.first {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [tool] + wrapper.dropFirst() + [executable] + arguments
            } else {
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
            }
            process.currentDirectoryURL = directory
            var environment = ProcessInfo.processInfo.environment
            environment["TIDEMARK_BENCH_RUNNER"] = String(index + 1)
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            do {
                try process.run()
            } catch {
                return fail("cannot start runner \(index + 1): \(error.localizedDescription)")
            }
            runners.append((process, output))
        }
        var lines: [RunnerLine] = []
        for (index, runner) in runners.enumerated() {
            let data = runner.output.fileHandleForReading.readDataToEndOfFile()
            runner.process.waitUntilExit()
            guard let line = try? JSONDecoder().decode(RunnerLine.self, from: data) else {
                return fail("runner \(index + 1) exited \(runner.process.terminationStatus) without its result line")
            }
            lines.append(line)
        }
        let wall = (clock.now - started).seconds

        let database: DatabaseFacts
        do {
            database = try DatabaseFacts.read(url: url, inventory: name)
        } catch {
            return fail("cannot read the run back from the control database: \(error.description)")
        }
        let claimed = lines.reduce(0) { $0 + $1.targets }
        let succeeded = lines.reduce(0) { $0 + $1.succeeded }
        let steps = lines.reduce(0) { $0 + $1.steps }
        let creator = lines.first(where: \.created)
        print(
            """
            \(row("in-memory fleet, control database", "\(settings.targets) targets, \(settings.environments) environments, \(settings.versions) versions"))
            \(row("runners", "\(settings.runners), concurrency \(settings.concurrency) each"))
            \(row("total wall time", String(format: "%.1f s", wall)))
            \(row("run", "\(database.runID): \(database.state), \(database.targets) targets stored, \(database.counts)"))
            \(row("claimed and finished by runners", "\(claimed) targets (\(succeeded) succeeded), \(steps) steps, \(String(format: "%.0f", Double(claimed) / wall)) targets/s"))
            \(row("claimed and recorded", "\(database.targets) targets between the first outcome and the last: \(String(format: "%.1f", database.spanSeconds)) s, \(String(format: "%.0f", Double(database.targets) / max(database.spanSeconds, 0.001))) targets/s"))
            \(row("events stored", "\(database.events)"))
            \(row("control database size", "\(megabytes(database.schemaKB)) in tidemark_control (database \(megabytes(database.databaseKB)))"))
            """)
        for line in lines.sorted(by: { $0.created && !$1.created }) {
            let role = line.created ? "created the run" : "joined"
            print(
                row(
                    "  runner \(line.runner)",
                    "\(role); \(line.targets) targets in \(String(format: "%.1f", line.seconds)) s; peak memory \(megabytes(line.peakKB))"
                        + (line.error.map { "; error: \($0)" } ?? "")))
        }
        guard creator != nil, lines.allSatisfy({ $0.error == nil }), claimed == settings.targets,
            succeeded == settings.targets,
            steps == settings.targets * settings.versions, database.state == "finished"
        else {
            return fail("expected every target claimed once and succeeded, and the run finished")
        }
        return 0
    }

    /// One runner: `tidemark apply -i INVENTORY --control URL --yes` as a library call, its
    /// targets in this process's memory store. Prints one `RunnerLine` as JSON.
    static func runner(inventory: String, control url: String, concurrency: Int) async -> Int32 {
        let clock = ContinuousClock()
        let started = clock.now
        let registry = BackendRegistry([MemoryBackend(store: MemoryStore())])
        var apply = ApplyRequest(source: .inventory(inventory), confirmation: .given, appliedBy: "tidemark-bench")
        apply.concurrency = concurrency
        let runner = ProcessInfo.processInfo.environment["TIDEMARK_BENCH_RUNNER"] ?? "1"
        apply.stateDirectory = StateDirectory(root: URL(fileURLWithPath: ".tidemark-runner-\(runner)"))
        var line = RunnerLine(runner: runner, created: false, targets: 0, succeeded: 0, steps: 0, seconds: 0)
        do {
            let result = try await ControlledApplyRun(registry: registry, logger: .silent).run(
                ControlledApplyRequest(apply: apply, database: ControlDatabase(url: url)))
            let outcomes = result.apply.report?.targets ?? []
            line.created = result.created
            line.targets = outcomes.count
            line.succeeded = outcomes.count { $0.outcome == .succeeded }
            line.steps = outcomes.reduce(0) { $0 + $1.steps.count }
            line.error = result.lost?.description ?? result.halted
        } catch {
            line.error = error.description
        }
        line.seconds = (clock.now - started).seconds
        line.peakKB = memoryKB("VmHWM")
        guard let data = try? JSONEncoder().encode(line) else { return 1 }
        FileHandle.standardOutput.write(data)
        return line.error == nil ? 0 : 1
    }

    private static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("tidemark-bench: \(message)\n".utf8))
        return 1
    }
}

/// How the benchmark's run ended, as the control database says, and what the database occupies.
struct DatabaseFacts {
    var runID: String
    var state: String
    var targets: Int
    var counts: String
    var events: Int
    var schemaKB: Int?
    var databaseKB: Int?
    /// From the first target's outcome to the last: the run's claim-and-record throughput.
    var spanSeconds: Double

    static func read(url: String, inventory: String) throws(BackendError) -> DatabaseFacts {
        let session = try PostgresSession(
            target: ControlDatabase(url: url).target, timeouts: .standard, logger: .silent)
        defer { session.close() }
        guard
            let run = try session.query(
                "SELECT run_id, state FROM tidemark_control.runs WHERE inventory = $1", [inventory]
            ).first,
            let runID = run[0]
        else {
            throw .queryFailed(target: "control database", message: "no run of inventory \(inventory)", sqlState: nil)
        }
        let counts = try session.query(
            "SELECT coalesce(outcome, state), count(*) FROM tidemark_control.targets WHERE run_id = $1 GROUP BY 1 ORDER BY 1",
            [runID])
        let events = try session.query("SELECT count(*) FROM tidemark_control.events WHERE run_id = $1", [runID])
        let span = try session.query(
            "SELECT extract(epoch FROM max(finished_at) - min(finished_at))::float8 FROM tidemark_control.targets WHERE run_id = $1",
            [runID])
        let sizes = try session.query(
            """
            SELECT (SELECT sum(pg_total_relation_size(c.oid)) / 1024 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'tidemark_control' AND c.relkind = 'r')::bigint,
                   (pg_database_size(current_database()) / 1024)::bigint
            """)
        return DatabaseFacts(
            runID: runID, state: run[1] ?? "?",
            targets: counts.reduce(0) { $0 + (Int($1[1] ?? "0") ?? 0) },
            counts: counts.map { "\($0[0] ?? "?") \($0[1] ?? "0")" }.joined(separator: ", "),
            events: Int(events.first?[0] ?? "0") ?? 0,
            schemaKB: sizes.first?[0].flatMap { Int($0) }, databaseKB: sizes.first?[1].flatMap { Int($0) },
            spanSeconds: span.first?[0].flatMap { Double($0) } ?? 0)
    }
}
