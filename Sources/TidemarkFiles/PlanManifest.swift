import Foundation
import TidemarkCore
import Yams

/// `plans/<name>/plan.yaml`: the plan's name and its quarantine list. Pure value; thread-safe.
struct PlanManifest: Sendable {
    /// A quarantine entry and where plan.yaml wrote its version.
    struct Quarantined: Sendable {
        var entry: QuarantineEntry
        var location: SourceLocation
    }

    static let fileName = "plan.yaml"
    static let knownKeys = ["name", "quarantine"]
    static let knownQuarantineKeys = ["version", "reason", "at"]

    var name: String?
    var quarantine: [Quarantined] = []

    /// Parses plan.yaml `text`; `file` names it in messages. Problems are appended to `errors`.
    static func parse(_ text: String, file: String, style: VersionStyle, errors: inout [PlanError]) -> PlanManifest {
        var manifest = PlanManifest()
        let end = YAMLSupport.TextEnd(text)
        func location(_ node: Node) -> SourceLocation {
            let (line, column) = end.clamp(line: node.line, column: node.column)
            return SourceLocation(file: file, line: line, column: column)
        }
        func fail(_ node: Node, _ message: String) {
            errors.append(.badPlanFile(location: location(node), message: message))
        }

        let root: Node
        switch YAMLSupport.compose(text) {
        case .failure(let problem):
            errors.append(
                .badPlanFile(
                    location: SourceLocation(file: file, line: problem.line, column: problem.column),
                    message: problem.message))
            return manifest
        case .success(nil):
            return manifest
        case .success(let node?):
            root = node
        }
        guard case .mapping(let mapping) = root else {
            if !root.isNull {
                fail(root, "plan.yaml must be a mapping with keys name and quarantine, not \(root.kindDescription).")
            }
            return manifest
        }

        for (keyNode, value) in mapping {
            guard let key = keyNode.text else {
                fail(keyNode, "plan.yaml keys must be plain names (name, quarantine).")
                continue
            }
            switch key {
            case "name":
                if let name = value.text, !name.isEmpty {
                    manifest.name = name
                } else {
                    fail(value, "name must be a single value, e.g. name: billing.")
                }
            case "quarantine":
                if value.isNull { continue }
                guard case .sequence(let entries) = value else {
                    fail(
                        value,
                        "quarantine must be a list of {version, reason, at} entries, not \(value.kindDescription).")
                    continue
                }
                for entryNode in entries {
                    if let entry = quarantineEntry(entryNode, style: style, fail: fail, location: location) {
                        if let first = manifest.quarantine.first(where: { $0.entry.version == entry.entry.version }) {
                            fail(
                                entryNode,
                                "version \(entry.entry.version) is quarantined twice (first at line \(first.location.line)); keep one entry."
                            )
                        } else {
                            manifest.quarantine.append(entry)
                        }
                    }
                }
            default:
                fail(
                    keyNode,
                    "unknown key '\(key)' in plan.yaml\(suggestionOrKnown(key, Self.knownKeys))")
            }
        }
        return manifest
    }

    private static func quarantineEntry(
        _ node: Node, style: VersionStyle, fail: (Node, String) -> Void, location: (Node) -> SourceLocation
    ) -> Quarantined? {
        guard case .mapping(let mapping) = node else {
            fail(
                node,
                "each quarantine entry is a mapping, e.g. - { version: 4, reason: \"drops orders\", at: 2025-01-31T12:00:00Z }."
            )
            return nil
        }
        var version: (Version, SourceLocation)?
        var reason: String?
        var at = ""
        var valid = true
        for (keyNode, value) in mapping {
            let key = keyNode.text ?? ""
            switch key {
            case "version":
                if let text = value.text, let parsed = Version(text, style: style) {
                    version = (parsed, location(value))
                } else {
                    fail(
                        value,
                        "'\(value.text ?? "")' is not a version of this plan; write the quarantined version, e.g. version: \(style == .diesel ? "2019-02-26-002946" : "4")."
                    )
                    valid = false
                }
            case "reason":
                if let text = value.text, !text.isEmpty {
                    reason = text
                } else {
                    fail(value, "reason must say why the version is quarantined, e.g. reason: drops the orders table.")
                    valid = false
                }
            case "at":
                at = value.text ?? ""
            default:
                fail(
                    keyNode,
                    "unknown key '\(key)' in quarantine entry\(suggestionOrKnown(key, Self.knownQuarantineKeys))")
                valid = false
            }
        }
        guard valid else { return nil }
        guard let version else {
            fail(node, "quarantine entry needs a version, e.g. version: 4.")
            return nil
        }
        guard let reason else {
            fail(node, "quarantine entry for version \(version.0) needs a reason, e.g. reason: drops the orders table.")
            return nil
        }
        return Quarantined(entry: QuarantineEntry(version: version.0, reason: reason, at: at), location: version.1)
    }

    /// "; did you mean 'x'?" or "; known keys: a, b".
    static func suggestionOrKnown(_ key: String, _ known: [String]) -> String {
        if let close = Suggestion.closest(to: key, among: known) { return "; did you mean '\(close)'?" }
        return "; known keys: \(known.joined(separator: ", "))."
    }

    /// The text of a plan.yaml holding `name` and `quarantine`.
    static func render(name: String?, quarantine: [QuarantineEntry]) -> String {
        var text = "# Tidemark plan settings. `tidemark quarantine` adds entries to the quarantine list.\n"
        if let name { text += "name: \(quoted(name))\n" }
        if quarantine.isEmpty {
            text += "quarantine: []\n"
        } else {
            text += "quarantine:\n"
            for entry in quarantine {
                text += "  - version: \(quoted(entry.version.text))\n"
                text += "    reason: \(quoted(entry.reason))\n"
                text += "    at: \(quoted(entry.at))\n"
            }
        }
        return text
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

/// Writing plan.yaml failed. Thread-safe value.
package struct PlanManifestWriteError: Error, Sendable, CustomStringConvertible {
    package var file: String
    package var reason: String

    package var description: String { "\(file): cannot write: \(reason)." }
}
