import Foundation

/// One finished span, as OTLP carries it. Thread-safe value.
package struct Span: Sendable, Hashable {
    package enum Status: Sendable, Hashable {
        case unset, ok
        case error(String)
    }

    package enum Value: Sendable, Hashable {
        case string(String)
        case int(Int64)
        case bool(Bool)
    }

    /// 16 bytes, as 32 lower-case hex digits.
    package var traceID: String
    /// 8 bytes, as 16 hex digits.
    package var spanID: String
    package var parentSpanID: String?
    package var name: String
    package var start: Date
    package var end: Date
    /// In the order given.
    package var attributes: [(key: String, value: Value)]
    package var status: Status

    package init(
        traceID: String, spanID: String, parentSpanID: String?, name: String, start: Date, end: Date,
        attributes: [(key: String, value: Value)], status: Status = .unset
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.start = start
        self.end = max(end, start)
        self.attributes = attributes
        self.status = status
    }

    package static func == (lhs: Span, rhs: Span) -> Bool {
        lhs.spanID == rhs.spanID && lhs.traceID == rhs.traceID
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(traceID)
        hasher.combine(spanID)
    }

    /// The value of attribute `key`, if set.
    package func attribute(_ key: String) -> Value? { attributes.first { $0.key == key }?.value }

    /// A fresh trace id: 16 random bytes, never all zero.
    package static func newTraceID() -> String { randomHex(bytes: 16) }
    /// A fresh span id: 8 random bytes, never all zero.
    package static func newSpanID() -> String { randomHex(bytes: 8) }

    private static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let values = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if values.contains(where: { $0 != 0 }) { return values.map { String(format: "%02x", $0) }.joined() }
        }
    }

    /// Nanoseconds since the Unix epoch, as OTLP counts time.
    static func nanoseconds(_ date: Date) -> UInt64 {
        UInt64(max(0, date.timeIntervalSince1970 * 1_000_000_000).rounded())
    }
}
