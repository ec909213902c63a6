/// A numeric brace range such as `{001..064}` inside a target's name, url, service or schema.
/// Pure value; thread-safe.
///
/// Ranges follow the shell: `{1..3}` gives 1, 2, 3; an endpoint written with a leading zero
/// pads every value to the width of the wider endpoint (`{001..64}` gives 001 … 064). Braces
/// holding anything else are literal text.
struct BraceRange: Sendable, Hashable {
    /// The most values one range may expand to.
    static let limit = InputLimits.targets

    /// Where the range sits in the text, `{` to `}` inclusive.
    var bounds: Range<String.Index>
    /// The range as written (`{001..064}`).
    var written: String
    var start: Int
    var end: Int
    /// Zero-padding width; 0 for none.
    var width: Int

    var count: Int { end - start + 1 }

    /// The `index`-th value, zero-padded as written.
    func value(at index: Int) -> String {
        let number = String(start + index)
        return number.count < width ? String(repeating: "0", count: width - number.count) + number : number
    }

    /// Why a range cannot be used.
    enum Problem: Error, Sendable, Hashable {
        /// `{5..1}`, `{..}`, `{3..}`.
        case expandsToNothing(String)
        /// More than `limit` values.
        case tooLarge(String)
    }

    /// Every `{A..B}` range in `text` in order, or the first that cannot be used.
    static func ranges(in text: String) -> Result<[BraceRange], Problem> {
        var found: [BraceRange] = []
        var index = text.startIndex
        while let open = text[index...].firstIndex(of: "{") {
            guard let close = text[open...].firstIndex(of: "}") else { break }
            let inner = text[text.index(after: open)..<close]
            index = text.index(after: open)
            guard let dots = inner.range(of: "..") else { continue }
            let low = inner[..<dots.lowerBound]
            let high = inner[dots.upperBound...]
            let isDigits = { (part: Substring) in part.allSatisfy { $0.isASCII && $0.isNumber } }
            guard isDigits(low), isDigits(high) else { continue }
            let written = String(text[open...close])
            guard let start = Int(low), let end = Int(high), start <= end else {
                if low.count > 18 || high.count > 18 { return .failure(.tooLarge(written)) }
                return .failure(.expandsToNothing(written))
            }
            guard end - start < limit else { return .failure(.tooLarge(written)) }
            let padded = (low.count > 1 && low.first == "0") || (high.count > 1 && high.first == "0")
            found.append(
                BraceRange(
                    bounds: open..<text.index(after: close), written: written, start: start, end: end,
                    width: padded ? max(low.count, high.count) : 0))
            index = text.index(after: close)
        }
        return .success(found)
    }

    /// `text` with each of its `ranges` replaced by that range's `index`-th value.
    static func expand(_ text: String, ranges: [BraceRange], at index: Int) -> String {
        guard !ranges.isEmpty else { return text }
        var result = ""
        var position = text.startIndex
        for range in ranges {
            result += text[position..<range.bounds.lowerBound]
            result += range.value(at: index)
            position = range.bounds.upperBound
        }
        result += text[position...]
        return result
    }
}
