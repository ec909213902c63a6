import Foundation
import TidemarkCore

/// Writes the compensating (roll-forward) version of a bad version from its undo script:
/// what `tidemark revert V` does. Thread-safe (stateless).
package enum CompensationWriter {
    /// Why a compensating version cannot be written.
    package enum Failure: Error, Sendable, CustomStringConvertible {
        case unknownVersion(plan: String, version: String)
        case noUndo(plan: String, version: String)
        case irreversible(plan: String, version: String, reason: String)
        case alreadyCompensated(version: String, by: String)
        case isCompensation(version: String, of: String)
        case cannotWrite(path: String, reason: String)
        /// A Sqitch plan's versions are lines of sqitch.plan, which Sqitch itself writes.
        case sqitchLayout(plan: String, change: String)

        package var description: String {
            switch self {
            case .unknownVersion(let plan, let version):
                return "\(plan): no version \(version) in this plan."
            case .noUndo(let plan, let version):
                return
                    "\(plan): version \(version) has no undo script to derive the compensation from; write the next version by hand with `-- tidemark:compensates \(version)`."
            case .irreversible(let plan, let version, let reason):
                return
                    "\(plan): version \(version) is irreversible (\(reason)); no script can compensate it, only a restore from backup."
            case .alreadyCompensated(let version, let by):
                return
                    "version \(version) is already compensated by \(by); quarantine that one first if it is wrong too."
            case .isCompensation(let version, let of):
                return
                    "version \(version) is itself the compensation of \(of); revert \(of)'s compensation by writing a new version by hand."
            case .cannotWrite(let path, let reason):
                return "\(path): cannot write: \(reason)."
            case .sqitchLayout(let plan, let change):
                return
                    "\(plan): this plan is in Sqitch's layout, whose versions are lines of sqitch.plan; add the roll-forward with `sqitch add revert_\(change)` and copy revert/\(change).sql into its deploy script."
            }
        }
    }

    /// The files written and the new version.
    package struct Written: Sendable {
        package var version: String
        package var forward: String
        package var undo: String
    }

    /// Writes the next version of `plan`: forward = undo script of `version` with
    /// `-- tidemark:compensates <version>` and a header saying where it came from; undo = the
    /// bad version's forward script (undoing the compensation re-does it).
    package static func writeCompensation(of versionText: String, in plan: Plan, now: Date = Date()) throws(Failure)
        -> Written
    {
        guard let version = Version(versionText, style: plan.versionStyle), let bad = plan.migration(version) else {
            throw .unknownVersion(plan: plan.directory, version: versionText)
        }
        if let existing = plan.migrations.first(where: { $0.compensates == version }) {
            throw .alreadyCompensated(version: version.text, by: existing.forward.path)
        }
        if let reversed = bad.compensates { throw .isCompensation(version: version.text, of: reversed.text) }
        guard let undo = bad.undo else { throw .noUndo(plan: plan.directory, version: version.text) }
        if let reason = undo.irreversible {
            throw .irreversible(plan: plan.directory, version: version.text, reason: reason)
        }
        if plan.format == .sqitch { throw .sqitchLayout(plan: plan.directory, change: bad.description) }

        let next = nextVersion(after: plan, now: now)
        let name = "revert_" + slug(bad.description)
        let date = now.formatted(.iso8601.year().month().day().dateSeparator(.dash))
        var forward = "-- tidemark:compensates \(version.text)\n"
        if !undo.isTransactional { forward += "-- tidemark:no-transaction\n" }
        forward += """
            -- Roll-forward of version \(version.text) (\(bad.description)), written by `tidemark revert \(version.text)` on \(date)
            -- from \(undo.path) (sha256 \(undo.checksum.prefix(16))…). Review it before it ships: an undo
            -- script brings back structure, not the data the bad version destroyed (only a backup does).

            """
        forward += body(of: undo.sql)
        var reverse = "-- Undo of the roll-forward: re-does version \(version.text) as \(bad.forward.path) did.\n"
        if !bad.forward.isTransactional { reverse = "-- tidemark:no-transaction\n" + reverse }
        reverse += body(of: bad.forward.sql)

        let (forwardPath, undoPath) = paths(for: next, name: name, format: plan.format)
        let directory = URL(fileURLWithPath: plan.directory)
        do {
            if plan.format == .diesel {
                try FileManager.default.createDirectory(
                    at: directory.appendingPathComponent(forwardPath).deletingLastPathComponent(),
                    withIntermediateDirectories: true)
            }
            for (path, text) in [(forwardPath, forward), (undoPath, reverse)] {
                let url = directory.appendingPathComponent(path)
                guard !FileManager.default.fileExists(atPath: url.path) else {
                    throw Failure.cannotWrite(path: url.path, reason: "the file exists already")
                }
                try Data(text.utf8).write(to: url, options: .withoutOverwriting)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .cannotWrite(
                path: directory.appendingPathComponent(forwardPath).path, reason: error.localizedDescription)
        }
        return Written(version: next, forward: forwardPath, undo: undoPath)
    }

    /// The script without its tidemark directives (the new header carries the right ones).
    static func body(of sql: String) -> String {
        let lines = sql.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        let kept = lines.filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("-- tidemark:") }
        let text = kept.joined(separator: "\n")
        return text.hasSuffix("\n") ? text : text + "\n"
    }

    /// The version after the plan's last: the last number segment plus one, keeping its width
    /// (`0004` → `0005`, `1.2.9` → `1.2.10`); Diesel plans get a timestamp version.
    static func nextVersion(after plan: Plan, now: Date) -> String {
        guard let last = plan.migrations.last?.version.text else { return plan.format == .golangMigrate ? "0001" : "1" }
        if plan.format == .diesel {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: now)
            return String(
                format: "%04d-%02d-%02d-%02d%02d%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1, c.hour ?? 0,
                c.minute ?? 0, c.second ?? 0)
        }
        var segments = last.split(separator: ".").map(String.init)
        let tail = segments.removeLast()
        let incremented = String((Int(tail) ?? 0) + 1)
        let padded = String(repeating: "0", count: max(0, tail.count - incremented.count)) + incremented
        return (segments + [padded]).joined(separator: ".")
    }

    static func paths(for version: String, name: String, format: PlanFormat) -> (forward: String, undo: String) {
        switch format {
        case .flyway: return ("V\(version)__\(name).sql", "U\(version)__\(name).sql")
        case .golangMigrate: return ("\(version)_\(name).up.sql", "\(version)_\(name).down.sql")
        case .diesel: return ("\(version)_\(name)/up.sql", "\(version)_\(name)/down.sql")
        case .sqitch: return ("deploy/\(name).sql", "revert/\(name).sql")
        }
    }

    static func slug(_ description: String) -> String {
        let lowered = description.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let collapsed = String(lowered).split(separator: "_").joined(separator: "_")
        return collapsed.isEmpty ? "version" : collapsed
    }
}
