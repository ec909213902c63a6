import Foundation

/// A time of day, `02:00`. Thread-safe value.
package struct TimeOfDay: Sendable, Hashable, Codable, Comparable {
    package var hour: Int
    package var minute: Int

    package init(hour: Int, minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    /// `HH:MM` (00:00 to 23:59); nil for anything else.
    package init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hour = Int(parts[0]),
            let minute = Int(parts[1]),
            (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    package var text: String { String(format: "%02d:%02d", hour, minute) }

    package static func < (left: TimeOfDay, right: TimeOfDay) -> Bool {
        (left.hour, left.minute) < (right.hour, right.minute)
    }
}

/// A calendar day, `2026-12-20`. Thread-safe value.
package struct CalendarDay: Sendable, Hashable, Codable, Comparable {
    package var year: Int
    package var month: Int
    package var day: Int

    package init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// `YYYY-MM-DD`, a real day of the Gregorian calendar; nil for anything else.
    package init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2, let year = Int(parts[0]),
            let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    package var text: String { String(format: "%04d-%02d-%02d", year, month, day) }

    package static func < (left: CalendarDay, right: CalendarDay) -> Bool {
        (left.year, left.month, left.day) < (right.year, right.month, right.day)
    }
}

/// `windows:` (docs/windows.md): when writes may start, on some days of the week, in a named
/// time zone. A `to` earlier than `from` crosses midnight, and the window belongs to the day it
/// opens. Thread-safe value.
package struct ChangeWindow: Sendable, Hashable, Codable {
    /// Weekdays the window opens on, as `Calendar` numbers them (1 Sunday … 7 Saturday), sorted.
    package var days: [Int]
    package var from: TimeOfDay
    package var to: TimeOfDay
    /// An IANA time zone name (`Europe/Berlin`), checked when the inventory is read.
    package var timeZone: String

    package init(days: [Int] = Array(1...7), from: TimeOfDay, to: TimeOfDay, timeZone: String) {
        self.days = days.sorted()
        self.from = from
        self.to = to
        self.timeZone = timeZone
    }

    /// The weekday names, `sun` first, as the inventory writes them.
    package static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// `mon-thu 02:00-05:00 Europe/Berlin`.
    package var description: String {
        "\(Self.daysText(days)) \(from.text)-\(to.text) \(timeZone)"
    }

    /// `daily`, `mon-thu`, `mon,wed,fri`.
    static func daysText(_ days: [Int]) -> String {
        if days == Array(1...7) { return "daily" }
        // Runs of consecutive days, Monday first (a run may wrap from sat to sun only as written).
        let mondayFirst = days.map { ($0 + 5) % 7 }.sorted()
        var parts: [String] = []
        var index = 0
        while index < mondayFirst.count {
            var end = index
            while end + 1 < mondayFirst.count && mondayFirst[end + 1] == mondayFirst[end] + 1 { end += 1 }
            let first = dayNames[(mondayFirst[index] + 1) % 7]
            let last = dayNames[(mondayFirst[end] + 1) % 7]
            parts.append(
                end - index >= 2
                    ? "\(first)-\(last)"
                    : (index...end).map { dayNames[(mondayFirst[$0] + 1) % 7] }.joined(separator: ","))
            index = end + 1
        }
        return parts.joined(separator: ",")
    }
}

/// `freeze:` (docs/windows.md): whole days, `from` through `to`, in a named time zone, when no
/// writes start whatever the windows say. Thread-safe value.
package struct ChangeFreeze: Sendable, Hashable, Codable {
    package var from: CalendarDay
    /// The last frozen day (inclusive).
    package var to: CalendarDay
    package var reason: String?
    package var timeZone: String

    package init(from: CalendarDay, to: CalendarDay, reason: String? = nil, timeZone: String = "UTC") {
        self.from = from
        self.to = to
        self.reason = reason
        self.timeZone = timeZone
    }

    /// `2026-12-20..2027-01-04 (year-end)`.
    package var description: String {
        "\(from.text)..\(to.text)\(reason.map { " (\($0))" } ?? "")"
    }
}

/// Why an environment's targets wait, and until when. Thread-safe value.
package struct Deferral: Sendable, Hashable, Codable {
    package enum Cause: Sendable, Hashable, Codable {
        /// Outside every window of the environment (their descriptions).
        case outsideWindow(windows: [String])
        /// Inside a freeze.
        case frozen(freeze: String)
        /// An earlier wave was deferred: waves go in order.
        case earlierWave(environment: String)
        /// The environment has `approval: required` and nobody approved its wave: no terminal
        /// to ask and no `--approve ENV` (docs/on-call.md#approvals).
        case awaitingApproval(environment: String)
    }

    package var cause: Cause
    /// When writes may start again (nil: not within a year, or unknown for a wave that waits on another).
    package var until: Date?
    /// The zone `until` is told in (the environment's first window's).
    package var timeZone: String?

    package init(cause: Cause, until: Date?, timeZone: String? = nil) {
        self.cause = cause
        self.until = until
        self.timeZone = timeZone
    }
}

/// An environment's `windows` and `freeze` (docs/windows.md): whether writes may start at a given
/// instant, and when they may next. Pure: the instant is an input; daylight-saving changes come
/// from the system's zone data through `Calendar`. Thread-safe value.
package struct ChangeSchedule: Sendable, Hashable, Codable {
    /// Empty: writes may start at any time (freezes aside).
    package var windows: [ChangeWindow]
    package var freezes: [ChangeFreeze]

    package init(windows: [ChangeWindow] = [], freezes: [ChangeFreeze] = []) {
        self.windows = windows
        self.freezes = freezes
    }

    /// No windows and no freezes: never defers.
    package var isUnrestricted: Bool { windows.isEmpty && freezes.isEmpty }

    /// Nil when writes may start at `now`; otherwise why not and until when.
    package func deferral(at now: Date) -> Deferral? {
        if isUnrestricted { return nil }
        if let freeze = freezes.first(where: { Self.isFrozen($0, at: now) }) {
            return Deferral(
                cause: .frozen(freeze: freeze.description), until: nextStart(after: now), timeZone: displayTimeZone)
        }
        if windows.isEmpty || windows.contains(where: { Self.isOpen($0, at: now) }) { return nil }
        return Deferral(
            cause: .outsideWindow(windows: windows.map(\.description)), until: nextStart(after: now),
            timeZone: displayTimeZone)
    }

    /// The first instant at or after `now` when writes may start (nil: none within 400 days).
    package func nextStart(after now: Date) -> Date? {
        let horizon = now.addingTimeInterval(400 * 86_400)
        var candidates = [now]
        candidates += freezes.compactMap { Self.interval(of: $0)?.end }.filter { $0 > now && $0 < horizon }
        for window in windows {
            candidates += Self.openings(of: window, from: now, days: 400)
        }
        return candidates.sorted().first { candidate in
            !freezes.contains(where: { Self.isFrozen($0, at: candidate) })
                && (windows.isEmpty || windows.contains(where: { Self.isOpen($0, at: candidate) }))
        }
    }

    // MARK: - Calendar arithmetic

    static func calendar(_ timeZone: String) -> Calendar? {
        guard let zone = TimeZone(identifier: timeZone) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    /// The instant `time` on the local day holding `day` (a time the clocks skip, as 02:30 on a
    /// spring-forward night, is the first instant after the gap).
    static func instant(_ time: TimeOfDay, onDayOf day: Date, in calendar: Calendar) -> Date? {
        var components = calendar.dateComponents([.year, .month, .day], from: day)
        components.hour = time.hour
        components.minute = time.minute
        components.second = 0
        return calendar.nextDate(
            after: calendar.startOfDay(for: day).addingTimeInterval(-1), matching: components,
            matchingPolicy: .nextTime,
            repeatedTimePolicy: .first, direction: .forward)
    }

    /// The window's interval that opens on the local day holding `day`, if the window opens that weekday.
    static func interval(of window: ChangeWindow, openingOnDayOf day: Date, in calendar: Calendar) -> DateInterval? {
        guard window.days.contains(calendar.component(.weekday, from: day)),
            let start = instant(window.from, onDayOf: day, in: calendar)
        else { return nil }
        let closingDay =
            window.to <= window.from ? calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: day)) : day
        guard let closingDay, let end = instant(window.to, onDayOf: closingDay, in: calendar), end > start else {
            return nil
        }
        return DateInterval(start: start, end: end)
    }

    /// Whether `window` is open at `now`: an interval opened today or yesterday (local) holds it.
    static func isOpen(_ window: ChangeWindow, at now: Date) -> Bool {
        guard let calendar = calendar(window.timeZone) else { return false }
        let today = calendar.startOfDay(for: now)
        for offset in [-1, 0] {
            guard let day = calendar.date(byAdding: .day, value: offset, to: today) else { continue }
            if let interval = interval(of: window, openingOnDayOf: day, in: calendar),
                interval.start <= now && now < interval.end
            {
                return true
            }
        }
        return false
    }

    /// The window's openings after `now`, over the next `days` local days.
    static func openings(of window: ChangeWindow, from now: Date, days: Int) -> [Date] {
        guard let calendar = calendar(window.timeZone) else { return [] }
        let today = calendar.startOfDay(for: now)
        return (0...days).compactMap { offset in
            guard let day = calendar.date(byAdding: .day, value: offset, to: today),
                let interval = interval(of: window, openingOnDayOf: day, in: calendar), interval.start > now
            else { return nil }
            return interval.start
        }
    }

    /// Whether `now` falls in the freeze (its end, the next day's start, is not frozen:
    /// `DateInterval.contains` would count it).
    static func isFrozen(_ freeze: ChangeFreeze, at now: Date) -> Bool {
        guard let interval = interval(of: freeze) else { return false }
        return interval.start <= now && now < interval.end
    }

    /// From the first frozen day's start to the start of the day after the last, in its zone.
    static func interval(of freeze: ChangeFreeze) -> DateInterval? {
        guard let calendar = calendar(freeze.timeZone),
            let start = calendar.date(
                from: DateComponents(year: freeze.from.year, month: freeze.from.month, day: freeze.from.day)),
            let last = calendar.date(
                from: DateComponents(year: freeze.to.year, month: freeze.to.month, day: freeze.to.day)),
            let end = calendar.date(byAdding: .day, value: 1, to: last), end > start
        else { return nil }
        return DateInterval(start: start, end: end)
    }
}

/// `apply --override-window REASON`: who wrote outside the windows, and why. Thread-safe value.
package struct WindowOverride: Sendable, Hashable, Codable {
    package var reason: String
    /// The run's `applied_by`.
    package var by: String
    /// The environments that were outside a window or in a freeze when the run started.
    package var environments: [String]

    package init(reason: String, by: String, environments: [String]) {
        self.reason = reason
        self.by = by
        self.environments = environments
    }

    /// What the history rows of those environments add to their description.
    package var historyNote: String { "window override: \(reason) (by \(by))" }
}

extension Deferral {
    /// `outside its change window (mon-thu 02:00-05:00 Europe/Berlin); writes may start at
    /// 2026-12-08 02:00 Europe/Berlin (2026-12-08T01:00:00Z)`.
    package var sentence: String {
        let why: String
        switch cause {
        case .outsideWindow(let windows):
            why = "outside its change window\(windows.count == 1 ? "" : "s") (\(windows.joined(separator: "; ")))"
        case .frozen(let freeze): why = "in a freeze (\(freeze))"
        case .earlierWave(let environment): why = "wave \(environment) before it is deferred, and waves go in order"
        case .awaitingApproval(let environment):
            return
                "awaits approval (approval: required) and no terminal asked; run on a terminal to answer, or give --approve \(environment)"
        }
        guard let until else { return cause.isEarlierWave ? why : "\(why); no window opens within 400 days" }
        return "\(why); writes may start at \(Self.local(until, timeZone: timeZone))"
    }

    /// `2026-12-08 02:00 Europe/Berlin (2026-12-08T01:00:00Z)`.
    static func local(_ date: Date, timeZone: String?) -> String {
        let utc = ISO8601DateFormatter().string(from: date)
        guard let timeZone, let calendar = ChangeSchedule.calendar(timeZone) else { return utc }
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        let local = String(
            format: "%04d-%02d-%02d %02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0,
            parts.minute ?? 0)
        return "\(local) \(timeZone) (\(utc))"
    }
}

extension Deferral.Cause {
    var isEarlierWave: Bool {
        if case .earlierWave = self { return true }
        return false
    }
}

extension ChangeSchedule {
    /// The zone in which to tell an environment's times: its first window's, else its first freeze's.
    package var displayTimeZone: String? { windows.first?.timeZone ?? freezes.first?.timeZone }
}
