import Foundation
import TidemarkSQLCheck

/// One fuzz target: a parser Tidemark runs on files people edit, and the contract it keeps on
/// any input. Stateless apart from a scratch directory per process; not for concurrent use
/// (libFuzzer calls one input at a time).
///
/// The contract is more than "no crash": a parser returns a value that holds its invariants,
/// or a typed error whose position (`file:line:column`) lies inside the input.
package enum FuzzTarget: String, CaseIterable, Sendable {
    /// `inventories/<name>.yaml`: YAML, merge keys, brace ranges (`InventoryFile.load`).
    case inventory
    /// A plan directory written from the input: script names of every layout, directives,
    /// `plan.yaml`, Diesel `metadata.toml` (`PlanDirectory.load`).
    case plan
    /// The SQL lexer, statement scanner and data-loss classifier.
    case sql
    /// A rollout saved by `plan --out` (`RolloutFile.read`).
    case rollout
    /// One file of the notification outbox (`OutboxFile.read`).
    case outbox
    /// `plans/<name>/fingerprints.json` (`FingerprintFile.load`).
    case fingerprints
    /// `sqitch.plan` (`SqitchPlanFile.parse`): pragmas, changes, tags, reworks, dependencies.
    case sqitch
    /// Target names as paths (`TargetName`: one component, an injective mapping) and the
    /// redaction of passwords in URLs and conninfo strings (`Redaction`).
    case names
    /// A `mysql://` URL (`MySQLURL`) on the first line, a MySQL script (`MySQLScript`) after it.
    case mysql

    /// Runs the parser on `input` and checks its contract; nil when it holds.
    package func run(_ input: [UInt8]) -> ContractViolation? {
        switch self {
        case .inventory: return InventoryFuzz.run(input)
        case .plan: return PlanFuzz.run(input)
        case .sql: return SQLFuzz.run(input)
        case .rollout: return RolloutFuzz.run(input)
        case .outbox: return OutboxFuzz.run(input)
        case .fingerprints: return FingerprintFuzz.run(input)
        case .sqitch: return SqitchFuzz.run(input)
        case .names: return NamesFuzz.run(input)
        case .mysql: return MySQLFuzz.run(input)
        }
    }
}

/// A parser broke its contract on one input: what it returned and why that is wrong.
/// Thread-safe value.
package struct ContractViolation: Error, Sendable, Hashable, CustomStringConvertible {
    package var target: FuzzTarget
    package var message: String

    package init(_ target: FuzzTarget, _ message: String) {
        self.target = target
        self.message = message
    }

    package var description: String { "\(target.rawValue): contract broken: \(message)" }
}
