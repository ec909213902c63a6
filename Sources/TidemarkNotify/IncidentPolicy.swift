import Foundation
import TidemarkCore

/// How loud an incident is: PagerDuty's `severity`, mapped to Opsgenie's priorities.
enum IncidentSeverity: String, Sendable, Codable, Hashable {
    case critical, error, warning, info

    /// `critical` for prod, `error` for staging, `warning` below (and for an environment the
    /// inventory does not name).
    init(tier: Tier?) {
        switch tier {
        case .prod?: self = .critical
        case .staging?: self = .error
        default: self = .warning
        }
    }

    /// Opsgenie's `priority`: P1 for critical down to P5 for info.
    var opsgeniePriority: String {
        switch self {
        case .critical: return "P1"
        case .error: return "P2"
        case .warning: return "P3"
        case .info: return "P5"
        }
    }
}

/// An incident a sink opened and has not resolved yet. Thread-safe value.
package struct OpenIncident: Sendable, Codable, Hashable {
    /// A target's name; nil for a halted wave.
    var target: String?
    var environment: String
    var openedAt: Date
    var runID: String

    enum CodingKeys: String, CodingKey {
        case target, environment
        case openedAt = "opened_at"
        case runID = "run_id"
    }
}

/// What an incident sink does with one event. Thread-safe value.
enum IncidentAction: Sendable, Hashable {
    /// Open (or update: the service deduplicates by key) the incident `key`.
    case trigger(key: String, severity: IncidentSeverity)
    /// Resolve the incident `key`, which an earlier event opened.
    case resolve(key: String)
}

/// The rule every incident sink follows (docs/on-call.md#incidents-open-and-resolve): which
/// events open an incident, which resolve one, and the stable keys that tie them together.
/// Pure; thread-safe.
enum IncidentPolicy {
    /// `tidemark/<inventory>/<target>`: the same for every run and runner, so a resend after a
    /// crash and the run that fixes the target name the same incident.
    static func key(inventory: String, target: String) -> String { "tidemark/\(inventory)/\(target)" }

    /// `tidemark/<inventory>/wave/<environment>`.
    static func waveKey(inventory: String, environment: String) -> String {
        "tidemark/\(inventory)/wave/\(environment)"
    }

    /// `tidemark/<inventory>/notify-test`: what `tidemark notify test` opens and resolves at once.
    static func testKey(inventory: String) -> String { "tidemark/\(inventory)/notify-test" }

    /// The outcomes after which a halted wave's incident is over: every target of the
    /// environment reached its desired state in this run.
    static let convergedOutcomes: Set<String> = ["succeeded", "unchanged"]

    /// What `event` means for a sink whose open incidents are `open` (key → incident). The
    /// event has already passed the sink's `on:` and `environments:` lists.
    static func actions(for event: Event, tier: Tier?, open: [String: OpenIncident]) -> [IncidentAction] {
        switch event.kind {
        case .targetFailed, .targetBlocked:
            guard let target = event.target else { return [] }
            return [
                .trigger(key: key(inventory: event.inventory, target: target), severity: IncidentSeverity(tier: tier))
            ]
        case .waveHalted:
            guard let environment = event.environment else { return [] }
            return [
                .trigger(
                    key: waveKey(inventory: event.inventory, environment: environment),
                    severity: IncidentSeverity(tier: tier))
            ]
        case .targetSucceeded, .targetConverged:
            guard let target = event.target else { return [] }
            let key = key(inventory: event.inventory, target: target)
            return open[key] == nil ? [] : [.resolve(key: key)]
        case .runFinished:
            // A halted wave is over when a later run brought every target of its environment
            // (that it touched) to the desired state.
            let environments = event.environmentCounts ?? [:]
            return open.filter { entry in
                guard entry.value.target == nil, let counts = environments[entry.value.environment] else {
                    return false
                }
                return counts.allSatisfy { convergedOutcomes.contains($0.key) || $0.value == 0 }
            }
            .keys.sorted().map { .resolve(key: $0) }
        case .test:
            let key = testKey(inventory: event.inventory)
            return [.trigger(key: key, severity: .info), .resolve(key: key)]
        case .runStarted, .waveAwaitingApproval, .stepProgress:
            return []
        }
    }
}
