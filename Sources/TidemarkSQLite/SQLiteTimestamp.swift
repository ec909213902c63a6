import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A point in time with millisecond precision, as `tidemark_history` stores it:
/// ISO 8601 UTC text such as `2025-03-01T09:30:00.125Z`. Thread-safe value.
///
/// The `Date` handed out is built from the whole milliseconds, so the entry that `run` returns
/// equals the one `readHistory` reads back later, bit for bit.
struct SQLiteTimestamp: Sendable, Hashable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    var milliseconds: Int64

    init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// Rounds to the nearest millisecond, so `SQLiteTimestamp(t.date) == t` despite `Double`.
    init(_ date: Date) {
        milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func now() -> SQLiteTimestamp { SQLiteTimestamp(Date()) }

    /// Half a microsecond past the millisecond: `Double` cannot hold most milliseconds exactly,
    /// and formatters that truncate (Foundation's ISO 8601 style does) would otherwise print
    /// `.451` for a stored `.452`. Rounding back (`init(_:)`) still gives the same millisecond.
    var date: Date { Date(timeIntervalSince1970: (Double(milliseconds) + 0.0005) / 1000) }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`; sorts as text in time order.
    var text: String {
        var seconds = time_t(milliseconds.floorDivided(by: 1000))
        let millis = milliseconds - Int64(seconds) * 1000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(Int(millis), 3))Z"
    }

    /// Parses the form `text` writes; also accepts no fraction, fewer digits, and a space for `T`.
    init?(text: String) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, !range.isEmpty else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var millis = 0
        var index = 19
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                // Digits past the third are below a millisecond: read and dropped.
                if digits < 3 { millis = millis * 10 + Int(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 3) { millis *= 10 }
        }
        guard index == bytes.count || (index == bytes.count - 1 && bytes[index] == UInt8(ascii: "Z")) else {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        milliseconds = Int64(seconds) * 1000 + Int64(millis)
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (dates before 1970 stay correct).
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
