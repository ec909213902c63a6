import Foundation
import Testing
import TidemarkCore

/// Change windows and freezes (docs/windows.md), weighed at fixed instants: crossing midnight,
/// the daylight-saving changes of Europe/Berlin, freezes, and when writes may start next.
@Suite struct ChangeScheduleTests {
    static func instant(_ text: String) throws -> Date {
        try #require(ISO8601DateFormatter().date(from: text), "\(text)")
    }

    static func window(_ days: [Int] = Array(1...7), _ from: String, _ to: String, _ zone: String = "Europe/Berlin")
        throws -> ChangeWindow
    {
        ChangeWindow(
            days: days, from: try #require(TimeOfDay(parsing: from)), to: try #require(TimeOfDay(parsing: to)),
            timeZone: zone)
    }

    @Test func aWindowInsideOneDayIsOpenBetweenItsTimesInItsZone() throws {
        // mon-thu 02:00-05:00 Berlin; 2026-12-08 is a Tuesday (CET, UTC+1).
        let schedule = ChangeSchedule(windows: [try Self.window([2, 3, 4, 5], "02:00", "05:00")])
        #expect(schedule.deferral(at: try Self.instant("2026-12-08T01:30:00Z")) == nil)
        #expect(schedule.deferral(at: try Self.instant("2026-12-08T00:59:59Z")) != nil)
        #expect(schedule.deferral(at: try Self.instant("2026-12-08T04:00:00Z")) != nil, "05:00 Berlin closes it")
        let outside = try #require(schedule.deferral(at: try Self.instant("2026-12-08T04:00:00Z")))
        #expect(outside.until == (try Self.instant("2026-12-09T01:00:00Z")))
        #expect(outside.cause == .outsideWindow(windows: ["mon-thu 02:00-05:00 Europe/Berlin"]))
        // Thursday night's window is the last of the week: Friday waits for Monday 02:00.
        let friday = try #require(schedule.deferral(at: try Self.instant("2026-12-11T02:00:00Z")))
        #expect(friday.until == (try Self.instant("2026-12-14T01:00:00Z")))
    }

    @Test func aWindowEndingBeforeItStartsCrossesMidnightAndBelongsToTheDayItOpens() throws {
        // fri 22:00-02:00 UTC: open Friday 22:00 to Saturday 02:00, not Friday 00:00-02:00.
        let schedule = ChangeSchedule(windows: [try Self.window([6], "22:00", "02:00", "UTC")])
        #expect(schedule.deferral(at: try Self.instant("2026-12-11T23:00:00Z")) == nil, "Friday 23:00")
        #expect(
            schedule.deferral(at: try Self.instant("2026-12-12T01:30:00Z")) == nil, "Saturday 01:30, in Friday's window"
        )
        #expect(
            schedule.deferral(at: try Self.instant("2026-12-11T01:30:00Z")) != nil,
            "Friday 01:30 belongs to Thursday, which has none")
        #expect(schedule.deferral(at: try Self.instant("2026-12-12T02:00:00Z")) != nil)
    }

    @Test func daylightSavingChangesComeFromTheZoneData() throws {
        // Berlin springs forward on 2026-03-29 (02:00 CET → 03:00 CEST): 02:30 does not exist that
        // night, so the window opens at the first instant after the gap, 03:00 CEST (01:00Z).
        let schedule = ChangeSchedule(windows: [try Self.window(Array(1...7), "02:30", "03:30")])
        let before = try #require(schedule.deferral(at: try Self.instant("2026-03-29T00:45:00Z")))
        #expect(before.until == (try Self.instant("2026-03-29T01:00:00Z")))
        #expect(schedule.deferral(at: try Self.instant("2026-03-29T01:10:00Z")) == nil, "03:10 CEST")
        #expect(schedule.deferral(at: try Self.instant("2026-03-29T01:30:00Z")) != nil, "03:30 CEST closes it")
        // The day before, CET: 02:30-03:30 is 01:30Z-02:30Z; the day after, CEST: 00:30Z-01:30Z.
        #expect(schedule.deferral(at: try Self.instant("2026-03-28T01:45:00Z")) == nil)
        #expect(schedule.deferral(at: try Self.instant("2026-03-30T00:45:00Z")) == nil)
        #expect(schedule.deferral(at: try Self.instant("2026-03-30T01:45:00Z")) != nil)
        // Falling back on 2026-10-25 (03:00 CEST → 02:00 CET): 02:30 comes twice; the window
        // opens at the first (00:30Z) and closes at 03:30 CET (02:30Z).
        #expect(schedule.deferral(at: try Self.instant("2026-10-25T00:20:00Z")) != nil)
        #expect(schedule.deferral(at: try Self.instant("2026-10-25T00:35:00Z")) == nil)
        #expect(schedule.deferral(at: try Self.instant("2026-10-25T02:20:00Z")) == nil)
        #expect(schedule.deferral(at: try Self.instant("2026-10-25T02:30:00Z")) != nil)
    }

    @Test func aFreezeDefersInsideAnOpenWindowUntilTheFirstWindowAfterIt() throws {
        let freeze = ChangeFreeze(
            from: try #require(CalendarDay(parsing: "2026-12-20")),
            to: try #require(CalendarDay(parsing: "2027-01-04")), reason: "year-end",
            timeZone: "Europe/Berlin")
        let schedule = ChangeSchedule(windows: [try Self.window([2, 3, 4, 5], "02:00", "05:00")], freezes: [freeze])
        let frozen = try #require(
            schedule.deferral(at: try Self.instant("2026-12-22T02:00:00Z")), "a Tuesday inside the window")
        #expect(frozen.cause == .frozen(freeze: "2026-12-20..2027-01-04 (year-end)"))
        // The freeze ends at Tuesday 2027-01-05 00:00 Berlin; the window opens at 02:00.
        #expect(frozen.until == (try Self.instant("2027-01-05T01:00:00Z")))
        #expect(schedule.deferral(at: try Self.instant("2026-12-15T02:00:00Z")) == nil)
        // Freezes alone (no windows): writes start when the freeze ends.
        let onlyFrozen = ChangeSchedule(freezes: [freeze])
        #expect(
            onlyFrozen.deferral(at: try Self.instant("2026-12-25T12:00:00Z"))?.until
                == (try Self.instant("2027-01-04T23:00:00Z")))
        #expect(onlyFrozen.deferral(at: try Self.instant("2027-01-04T23:00:00Z")) == nil)
    }
}
