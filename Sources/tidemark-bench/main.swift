// tidemark-bench: plans and executes a large fleet on the in-memory backend and prints wall times
// and peak memory. It is a measurement, not a test: it asserts only that every target succeeded.
//
//   tidemark-bench [--targets N] [--environments E] [--versions V] [--concurrency C]
//       one process, no control database (`scripts/bench` runs it after the PostgreSQL benchmark)
//   tidemark-bench --control URL [--runners R] [--targets N] [--concurrency C] …
//       R runner processes sharing one run through a PostgreSQL control database (`scripts/bench-control`)
import Foundation
import TidemarkCore

/// Command-line settings, with the defaults: 10,000 targets in 4 environments, one process.
struct BenchSettings {
    var targets = 10_000
    var environments = 4
    var versions = 5
    var concurrency = 8
    /// `--control URL`: many runners through this control database.
    var control: String?
    var runners = 4
    /// `--runner INVENTORY` (with `--control`): this process is one runner the parent started.
    var runnerOf: String?

    static let usage =
        "usage: tidemark-bench [--targets N] [--environments E] [--versions 1...5] [--concurrency C] [--control URL [--runners R]]"

    init(arguments: [String]) throws(BenchFailure) {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let text = rest.popFirst() else { throw BenchFailure("\(flag) needs a value; \(Self.usage)") }
            switch flag {
            case "--control": control = text
            case "--runner": runnerOf = text
            case "--targets", "--environments", "--versions", "--concurrency", "--runners":
                guard let value = Int(text), value > 0 else {
                    throw BenchFailure("\(flag) needs a positive number; \(Self.usage)")
                }
                switch flag {
                case "--targets": targets = value
                case "--environments": environments = value
                case "--versions": versions = min(value, BenchFleet.scripts.count)
                case "--concurrency": concurrency = value
                default: runners = value
                }
            default: throw BenchFailure("unknown option \(flag); \(Self.usage)")
            }
        }
        environments = min(environments, targets)
        if runnerOf != nil && control == nil { throw BenchFailure("--runner needs --control") }
    }
}

let settings: BenchSettings
do {
    settings = try BenchSettings(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("tidemark-bench: \(error.description)\n".utf8))
    exit(2)
}
switch (settings.control, settings.runnerOf) {
case (let control?, let inventory?):
    exit(await ControlBench.runner(inventory: inventory, control: control, concurrency: settings.concurrency))
case (let control?, nil):
    exit(await ControlBench.run(settings, control: control))
default:
    exit(await SingleProcessBench.run(settings))
}
