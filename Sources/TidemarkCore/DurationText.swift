/// The one duration grammar, for inventories (`lock_timeout: 5s`) and environment variables
/// (`TIDEMARK_NOTIFY_FLUSH_TIMEOUT=2s`) and options (`runs --prune 90d`): one or more
/// `<whole number><unit>` parts, units `d`, `h`, `m`, `s`, `ms`, largest first, each at most
/// once (`500ms`, `5s`, `1h`, `1m30s`, `90d`).
///
/// A bare number is refused: `lock_timeout = 5` means 5 ms to PostgreSQL but libpq's
/// `connect_timeout=5` means 5 s, so a number without a unit is a guess either way.
/// Pure and thread-safe.
package enum DurationText {
    /// Examples for error messages.
    package static let examples = "500ms, 5s, 5m, 1h or 1m30s"

    /// The duration `text` spells (surrounding spaces ignored); nil for anything else.
    package static func parse(_ text: String) -> Duration? {
        let units: [(name: Substring, milliseconds: Int64)] = [
            ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
        ]
        var rest = Substring(text).drop { $0 == " " || $0 == "\t" }
        while let last = rest.last, last == " " || last == "\t" { rest.removeLast() }
        guard !rest.isEmpty else { return nil }
        var total: Int64 = 0
        var nextUnit = 0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 12, let amount = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isASCII && $0.isLetter }
            guard let unit = units.indices.first(where: { units[$0].name == letters }), unit >= nextUnit else {
                return nil
            }
            let (part, partOverflow) = amount.multipliedReportingOverflow(by: units[unit].milliseconds)
            let (sum, sumOverflow) = total.addingReportingOverflow(part)
            guard !partOverflow, !sumOverflow else { return nil }
            total = sum
            nextUnit = unit + 1
            rest = rest.dropFirst(letters.count)
        }
        return .milliseconds(total)
    }

    /// `duration` in the same grammar, largest units first (`5s`, `1m30s`, `1s500ms`, `0ms`):
    /// how messages name an inventory's timeouts. Whole milliseconds; negative counts as 0.
    package static func text(_ duration: Duration) -> String {
        var rest = max(0, duration.milliseconds)
        guard rest > 0 else { return "0ms" }
        var parts = ""
        for (name, milliseconds) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
        where rest >= milliseconds {
            parts += "\(rest / milliseconds)\(name)"
            rest %= milliseconds
        }
        return parts
    }

    /// Elapsed seconds as people read them: `1.42 s` under ten seconds, `12.3 s` above.
    package static func seconds(_ interval: Double) -> String {
        String(format: interval < 10 ? "%.2f s" : "%.1f s", interval)
    }
}

extension Duration {
    /// Seconds as a `Double`, for URLSession's `TimeInterval`s and for printing.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
