import Foundation
import TidemarkCore

/// The fleet as `status --html` draws it: each environment's targets as cells coloured by
/// version (the latest usable version green, older ones further from it), dirty targets
/// outlined red with `!`, drifted ones hatched, unreadable ones grey with `?`. Pure; thread-safe.
package enum FleetPage {
    /// One target as `status` read it. Thread-safe value.
    package struct Target: Sendable, Hashable {
        package var environment: String
        package var target: String
        package var version: String?
        package var pending: [String]
        package var dirty: Bool
        /// At its desired state (nothing pending, no quarantined version in effect uncompensated).
        package var converged: Bool
        /// With `--drift`: what the live schema is against the recorded fingerprint.
        package var drift: DriftResult.Status?
        /// Why it could not be read.
        package var error: String?

        package init(
            environment: String, target: String, version: String?, pending: [String], dirty: Bool,
            converged: Bool? = nil,
            drift: DriftResult.Status? = nil, error: String? = nil
        ) {
            self.converged = converged ?? (pending.isEmpty && !dirty)
            self.environment = environment
            self.target = target
            self.version = version
            self.pending = pending
            self.dirty = dirty
            self.drift = drift
            self.error = error
        }
    }

    /// `versions` are the plan's versions in order (oldest first); `latest` the latest usable one.
    package static func render(
        inventory: String, plan: String, versions: [String], latest: String?, targets: [Target], at date: Date = Date()
    ) -> String {
        let palette = colours(versions: versions, latest: latest)
        var body = "<h1>Fleet \(e(inventory))</h1>\n"
        let dirty = targets.filter(\.dirty).count
        let drifted = targets.filter { $0.drift == .drift }.count
        let unreadable = targets.filter { $0.error != nil }.count
        // Not at the desired state for a reason other than dirtiness: versions pending, or a
        // quarantined version in effect that the plan will undo or compensate.
        let behind = targets.filter { $0.error == nil && !$0.dirty && !$0.converged }.count
        var meta = [
            "plan <b>\(e(plan))</b>", "latest usable version <b>\(e(latest ?? "none"))</b>",
            "<b>\(targets.count)</b> targets",
            "<b>\(behind)</b> behind", "<b>\(dirty)</b> dirty",
        ]
        if targets.contains(where: { $0.drift != nil }) { meta.append("<b>\(drifted)</b> drifted") }
        if unreadable > 0 { meta.append("<b>\(unreadable)</b> unreadable") }
        meta.append("read <b>\(e(ISO8601Timestamp.string(from: date)))</b>")
        body += "<p class=\"meta\">\(meta.joined(separator: " · "))</p>\n"

        var seen = Set(targets.compactMap(\.version))
        seen.insert(latest ?? "")
        body += "<div class=\"chips\">"
        body += "<span class=\"chip\" style=\"background:\(noVersionColour)\">no version</span>"
        for version in versions where seen.contains(version) {
            body +=
                "<span class=\"chip\" style=\"background:\(palette[version] ?? noVersionColour)\">v\(e(version))\(version == latest ? " (latest)" : "")</span>"
        }
        if targets.contains(where: { $0.version.map { palette[$0] == nil } ?? false }) {
            body += "<span class=\"chip\" style=\"background:\(unknownVersionColour)\">not in the plan</span>"
        }
        body +=
            "<span class=\"chip dirty-key\">! dirty</span><span class=\"chip drift-key\">drift</span><span class=\"chip\" style=\"background:#98a2b3\">? unreadable</span></div>\n"

        var environments: [String] = []
        var byEnvironment: [String: [Target]] = [:]
        for target in targets {
            if byEnvironment[target.environment] == nil { environments.append(target.environment) }
            byEnvironment[target.environment, default: []].append(target)
        }
        for environment in environments {
            let members = byEnvironment[environment] ?? []
            var perVersion: [String: Int] = [:]
            for target in members {
                perVersion[
                    target.error == nil ? (target.version.map { "v\($0)" } ?? "no version") : "unreadable", default: 0] +=
                    1
            }
            // No version first, then the plan's order (v9 before v10), versions the plan lacks, unreadable.
            let order = ["no version"] + versions.map { "v\($0)" }
            let rank = { (key: String) in
                order.firstIndex(of: key) ?? (key == "unreadable" ? order.count + 1 : order.count)
            }
            let summary = perVersion.sorted { (rank($0.key), $0.key) < (rank($1.key), $1.key) }.map {
                "\($0.value) at \($0.key)"
            }.joined(separator: ", ")
            body +=
                "<h2>\(e(environment)) · \(members.count) target\(members.count == 1 ? "" : "s"): \(e(summary))</h2>\n<div class=\"grid named\">"
            for target in members {
                var classes = ["cell"]
                if target.dirty { classes.append("dirty") }
                if target.drift == .drift { classes.append("drift") }
                let colour =
                    target.error != nil
                    ? "#98a2b3" : target.version.map { palette[$0] ?? unknownVersionColour } ?? noVersionColour
                let mark = target.error != nil ? "?" : target.dirty ? "!" : ""
                let label = target.version.map { "v\($0)" } ?? "–"
                body +=
                    "<span class=\"\(classes.joined(separator: " "))\" data-target=\"\(e(target.target))\" style=\"background:\(colour)\" "
                body +=
                    "title=\"\(e(title(target)))\" data-detail=\"\(e(title(target)))\">\(e(target.target)) \(e(label))\(mark.isEmpty ? "" : " <b>\(mark)</b>")</span>"
            }
            body += "</div>\n"
        }
        body += "<div id=\"detail\"></div>\n"
        let style = """
            .cell.dirty{outline:3px solid var(--fail);outline-offset:1px}.cell.drift{background-image:repeating-linear-gradient(45deg,#0000 0 4px,#fff6 4px 7px)}
            .dirty-key{background:#fff;color:var(--fail);outline:2px solid var(--fail)}.drift-key{background:#667085;background-image:repeating-linear-gradient(45deg,#0000 0 4px,#fff6 4px 7px)}

            """
        return HTMLPage.document(
            title: "tidemark fleet \(inventory)", style: style, body: body, script: HTMLPage.script)
    }

    static let noVersionColour = "#d0d5dd"

    /// The latest usable version green; older ones blue, violet, magenta, orange, brown as they
    /// fall further behind; a version past the latest (quarantined) dark red.
    static func colours(versions: [String], latest: String?) -> [String: String] {
        let behind = ["#3b82c4", "#7b61c9", "#c06ab0", "#e0803a", "#b5542c"]
        var colours: [String: String] = [:]
        let latestIndex = latest.flatMap { versions.firstIndex(of: $0) } ?? (versions.count - 1)
        for (index, version) in versions.enumerated() {
            if index == latestIndex {
                colours[version] = "#2e9d57"
            } else if index > latestIndex {
                colours[version] = "#8b1e3f"
            } else {
                colours[version] = behind[min(latestIndex - index, behind.count) - 1]
            }
        }
        return colours
    }

    /// A version the plan does not know.
    static let unknownVersionColour = "#1d2330"

    private static func e(_ text: String) -> String { HTMLPage.escape(text) }

    private static func title(_ target: Target) -> String {
        if let error = target.error { return "\(target.target): unreadable: \(error)" }
        var parts = ["\(target.target) (\(target.environment)): version \(target.version ?? "none")"]
        if !target.pending.isEmpty { parts.append("pending \(target.pending.joined(separator: ", "))") }
        if target.dirty { parts.append("DIRTY: run tidemark repair") }
        if let drift = target.drift { parts.append("drift: \(drift.rawValue)") }
        return parts.joined(separator: "; ")
    }
}
