/// Durations as written in inventories: `500ms`, `5s`, `5m`, `1h`, `1m30s`. Pure; thread-safe.
enum DurationText {
    /// An example for error messages.
    static let examples = "500ms, 5s, 5m, 1h or 1m30s"

    /// Parses one or more `<digits><unit>` parts with units `h`, `m`, `s`, `ms`, largest first,
    /// each unit at most once; nil for anything else (a bare number has no unit and is refused).
    static func parse(_ text: String) -> Duration? {
        let units: [(name: String, milliseconds: Int64)] = [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
        var rest = Substring(text)
        var total: Int64 = 0
        var nextUnit = 0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 12, let amount = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isASCII && $0.isLetter }
            guard let unit = units.indices.first(where: { units[$0].name == letters }), unit >= nextUnit else {
                return nil
            }
            total += amount * units[unit].milliseconds
            nextUnit = unit + 1
            rest = rest.dropFirst(letters.count)
        }
        return .milliseconds(total)
    }
}
