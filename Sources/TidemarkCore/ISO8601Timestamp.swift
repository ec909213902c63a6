import Foundation

/// The one timestamp text of output and reports: `2026-11-24T23:05:12.345Z`, UTC, milliseconds.
public enum ISO8601Timestamp {
    public static func string(from date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }
}
