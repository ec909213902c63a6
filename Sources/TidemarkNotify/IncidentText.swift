import Foundation
import TidemarkCore

/// The words of an incident, shared by PagerDuty and Opsgenie: a one-line summary, the
/// affected thing, and details a responder acts on (the command to inspect it first). Pure;
/// thread-safe value.
struct IncidentText: Sendable {
    /// The inventory file as the operator named it, for the commands suggested.
    var inventoryFile: String
    var sinkName: String

    /// `shop: shard-2 (prod) failed: …`, at most `limit` characters.
    func summary(_ event: Event, limit: Int) -> String {
        let target = event.target ?? "?"
        let environment = event.environment ?? "?"
        let text: String
        switch event.kind {
        case .targetFailed:
            let firstLine = event.error?.split(separator: "\n").first.map(String.init) ?? "no error text"
            text = "\(event.inventory): \(target) (\(environment)) failed: \(firstLine)"
        case .targetBlocked:
            text =
                "\(event.inventory): \(target) (\(environment)) is blocked: \(event.reason ?? "the planner refused to act")"
        case .waveHalted:
            text = "\(event.inventory): wave \(environment) halted: \(event.reason ?? "its failure budget was spent")"
        case .test:
            text =
                "Tidemark test event for inventory \(event.inventory) (sink \(sinkName)); nothing is wrong, it resolves at once"
        case .runStarted, .runFinished, .targetSucceeded, .targetConverged, .waveAwaitingApproval, .stepProgress:
            text = "\(event.inventory): \(event.kind.rawValue)"
        }
        return SlackFormatter.truncate(text, to: limit)
    }

    /// What failed: the target, or `wave <environment>`, or `tidemark` for a test.
    func source(_ event: Event) -> String {
        if let target = event.target { return target }
        if let environment = event.environment { return "wave \(environment)" }
        return "tidemark"
    }

    /// Key-value details (strings only: both services show them as a table).
    func details(_ event: Event) -> [String: String] {
        var details: [String: String] = [
            "run_id": event.runID, "inventory": event.inventory, "event": event.kind.rawValue,
        ]
        if let environment = event.environment { details["environment"] = environment }
        if let target = event.target {
            details["target"] = target
            details["inspect"] = "tidemark history -i \(inventoryFile) --target \(target)"
        } else if event.kind == .waveHalted {
            details["inspect"] =
                "tidemark status -i \(inventoryFile)" + (event.environment.map { " --env \($0)" } ?? "")
        }
        if let from = event.fromVersion { details["from"] = from }
        if let to = event.toVersion { details[event.kind == .targetFailed ? "stopped_at" : "to"] = to }
        if let action = event.action { details["action"] = action.rawValue }
        if let error = event.error, !error.isEmpty { details["error"] = SlackFormatter.truncate(error, to: 4000) }
        if let reason = event.reason, !reason.isEmpty { details["reason"] = SlackFormatter.truncate(reason, to: 4000) }
        if let traceID = event.traceID { details["trace_id"] = traceID }
        return details
    }
}
