import Foundation
import TidemarkCore
import Yams

/// `windows:` and `freeze:` (docs/windows.md): lists of mappings, each problem at its line.
extension InventoryParser {
    static let windowExample = "windows: [ { days: mon-thu, from: \"02:00\", to: \"05:00\", tz: Europe/Berlin } ]"
    static let freezeExample = "freeze: [ { from: 2026-12-20, to: 2027-01-04, reason: year-end, tz: Europe/Berlin } ]"

    mutating func windows(_ node: Node) -> [ChangeWindow] {
        entries(node, "windows", example: Self.windowExample).compactMap { window($0) }
    }

    mutating func freezes(_ node: Node) -> [ChangeFreeze] {
        entries(node, "freeze", example: Self.freezeExample).compactMap { freeze($0) }
    }

    private mutating func entries(_ node: Node, _ what: String, example: String) -> [Node] {
        if node.isNull { return [] }
        guard case .sequence(let sequence) = node else {
            fail(node, "\(what) must be a list of mappings, e.g. \(example).")
            return []
        }
        return Array(sequence)
    }

    private mutating func window(_ node: Node) -> ChangeWindow? {
        guard case .mapping(let mapping) = node else {
            fail(node, "each window is a mapping with days, from, to and tz, e.g. \(Self.windowExample).")
            return nil
        }
        let fields = fields(of: mapping, in: "a window", known: Self.windowKeys)
        let days = fields["days"].map { weekdays($0) } ?? Array(1...7)
        guard let fromNode = fields["from"], let toNode = fields["to"], let zoneNode = fields["tz"] else {
            let missing = ["from", "to", "tz"].filter { fields[$0] == nil }.joined(separator: ", ")
            fail(node, "a window needs from, to and tz (missing: \(missing)), e.g. \(Self.windowExample).")
            return nil
        }
        let from = timeOfDay(fromNode, "from")
        let to = timeOfDay(toNode, "to")
        let zone = timeZone(zoneNode)
        guard let days, let from, let to, let zone else { return nil }
        if from == to {
            fail(
                toNode,
                "a window from \(from.text) to \(to.text) never opens; give a later to (an earlier one crosses midnight, e.g. from: \"22:00\", to: \"02:00\"), or leave windows out for no restriction."
            )
            return nil
        }
        return ChangeWindow(days: days, from: from, to: to, timeZone: zone)
    }

    private mutating func freeze(_ node: Node) -> ChangeFreeze? {
        guard case .mapping(let mapping) = node else {
            fail(node, "each freeze is a mapping with from, to, reason and tz, e.g. \(Self.freezeExample).")
            return nil
        }
        let fields = fields(of: mapping, in: "a freeze", known: Self.freezeKeys)
        guard let fromNode = fields["from"], let toNode = fields["to"] else {
            fail(node, "a freeze needs from and to (its first and last frozen days), e.g. \(Self.freezeExample).")
            return nil
        }
        let from = calendarDay(fromNode, "from")
        let to = calendarDay(toNode, "to")
        let zone = fields["tz"].flatMap { timeZone($0) } ?? (fields["tz"] == nil ? "UTC" : nil)
        let reason = fields["reason"].flatMap { text($0, "reason", example: "reason: year-end") }
        guard let from, let to, let zone else { return nil }
        if to < from {
            fail(
                toNode,
                "a freeze from \(from.text) to \(to.text) ends before it starts; to is its last frozen day, on or after from."
            )
            return nil
        }
        return ChangeFreeze(from: from, to: to, reason: reason, timeZone: zone)
    }

    /// `mon-thu`, `mon,wed,fri`, `daily`, or a list of those.
    private mutating func weekdays(_ node: Node) -> [Int]? {
        let words: [String]
        if case .sequence(let sequence) = node {
            words = sequence.compactMap(\.text)
        } else if let text = node.text {
            words = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        } else {
            fail(node, "days must be weekdays such as mon-thu, mon,wed,fri or daily\(Self.got(node)).")
            return nil
        }
        var days = Set<Int>()
        for word in words {
            let lower = word.lowercased()
            if lower == "daily" {
                days.formUnion(1...7)
                continue
            }
            let ends = lower.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            let numbers = ends.map { end in ChangeWindow.dayNames.firstIndex(of: String(end.prefix(3))).map { $0 + 1 } }
            guard (1...2).contains(ends.count), numbers.allSatisfy({ $0 != nil }), ends.allSatisfy({ $0.count >= 3 })
            else {
                fail(
                    node,
                    "days: '\(PrintableText.escaped(word))' is not a weekday or a range of them; write mon, tue, wed, thu, fri, sat, sun, a range such as mon-thu, or daily."
                )
                return nil
            }
            let numbered = numbers.compactMap { $0 }
            guard let first = numbered.first, let last = numbered.last else { continue }
            // A range goes forward through the week and may wrap (fri-mon).
            var day = first
            while true {
                days.insert(day)
                if day == last { break }
                day = day % 7 + 1
            }
        }
        if days.isEmpty {
            fail(node, "days is empty; give weekdays such as mon-thu, or leave days out for every day.")
            return nil
        }
        return days.sorted()
    }

    private mutating func timeOfDay(_ node: Node, _ what: String) -> TimeOfDay? {
        guard let text = node.text, let time = TimeOfDay(parsing: text.trimmingCharacters(in: .whitespaces)) else {
            fail(node, "\(what) must be a time of day as HH:MM in quotes\(Self.got(node)), e.g. \(what): \"02:00\".")
            return nil
        }
        return time
    }

    private mutating func calendarDay(_ node: Node, _ what: String) -> CalendarDay? {
        guard let text = node.text, let day = CalendarDay(parsing: text.trimmingCharacters(in: .whitespaces)) else {
            fail(node, "\(what) must be a day as YYYY-MM-DD\(Self.got(node)), e.g. \(what): 2026-12-20.")
            return nil
        }
        return day
    }

    /// An IANA time zone name the system's zone data knows.
    private mutating func timeZone(_ node: Node) -> String? {
        guard let name = node.text, !name.isEmpty else {
            fail(node, "tz must name a time zone, e.g. tz: Europe/Berlin.")
            return nil
        }
        guard TimeZone(identifier: name) != nil else {
            let known = TimeZone.knownTimeZoneIdentifiers
            let close = Suggestion.closest(to: name, among: known).map { "did you mean '\($0)'? " } ?? ""
            fail(
                node,
                "unknown time zone '\(PrintableText.escaped(name))'; \(close)tz takes an IANA name such as Europe/Berlin, America/New_York or UTC."
            )
            return nil
        }
        return name
    }
}
