import Foundation

/// The one timestamp text of output, reports, payloads and the outbox:
/// `2026-11-24T23:05:12.345Z`, UTC, milliseconds. Thread-safe (pure functions).
package enum ISO8601Timestamp {
    package static func string(from date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Reads the text back; whole seconds (as earlier reports were written) are accepted too.
    package static func date(from text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle()))
    }
}

extension JSONEncoder.DateEncodingStrategy {
    /// Dates as `ISO8601Timestamp` text, so a report keeps its times to the millisecond.
    package static var iso8601Milliseconds: JSONEncoder.DateEncodingStrategy {
        .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ISO8601Timestamp.string(from: date))
        }
    }
}

extension JSONDecoder.DateDecodingStrategy {
    /// Dates written as `ISO8601Timestamp` text, with or without milliseconds.
    package static var iso8601Milliseconds: JSONDecoder.DateDecodingStrategy {
        .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = ISO8601Timestamp.date(from: text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "\(text) is not an ISO 8601 date")
            }
            return date
        }
    }
}
