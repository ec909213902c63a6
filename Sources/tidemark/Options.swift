import ArgumentParser
import Foundation
import Logging
import TidemarkCore
import TidemarkFiles

/// `-i INVENTORY`: the inventory file most commands act on.
struct InventoryOption: ParsableArguments {
    @Option(name: [.customShort("i"), .customLong("inventory")], help: "The inventory file (inventories/NAME.yaml).")
    var inventory: String

    /// Loads the inventory, or fails with every problem as `file:line:column: message` (exit 2).
    func load() throws -> Inventory {
        do {
            return try InventoryFile.load(at: inventory)
        } catch {
            throw CommandFailure(.invalidInput, error.description)
        }
    }
}

/// `--plan DIR | -i INVENTORY`: commands that need only a plan accept either.
struct PlanSourceOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .customLong("inventory")], help: "The inventory file; its `plan:` is used.")
    var inventory: String?

    @Option(name: .customLong("plan"), help: "The plan directory (plans/NAME).")
    var plan: String?

    func validate() throws {
        if inventory == nil && plan == nil {
            throw ValidationError("Say which plan: --plan DIR or -i INVENTORY.")
        }
        if inventory != nil && plan != nil {
            throw ValidationError("Give either --plan DIR or -i INVENTORY, not both.")
        }
    }
}

/// Logging to standard error; the level comes from `--verbose` or TIDEMARK_LOG_LEVEL.
struct LoggingOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log debug detail (also: TIDEMARK_LOG_LEVEL=debug).")
    var verbose = false

    func makeLogger(label: String = "tidemark") -> Logger {
        let environmentLevel = ProcessInfo.processInfo.environment["TIDEMARK_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : environmentLevel ?? .warning
        return logger
    }
}

extension Inventory {
    /// The target called `name`, or a usage error naming the inventory and close matches.
    func requireTarget(_ name: String) throws -> Target {
        if let target = target(named: name) { return target }
        let names = allTargets.map(\.name)
        let hint = Suggestion.closest(to: name, among: names).map { "did you mean '\($0)'?" }
            ?? "targets: \(names.prefix(8).joined(separator: ", "))\(names.count > 8 ? ", …" : "")"
        throw CommandFailure(.invalidInput, "\(file): no target named '\(name)'; \(hint)")
    }
}
