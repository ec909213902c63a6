/// Says many target names in a few characters: `prod-shard-{001..064}` for the 64 shards that
/// the inventory's brace range made. Pure; thread-safe (no state).
package enum TargetNames {
    /// The names as brace ranges where they share a prefix and suffix around numbers
    /// (`shard-{01..40}`, `shard-{01..06,08..40}` with a gap), one per shape of name
    /// (`prod-eu-1, prod-shard-{1..3}`); past `maximumParts` parts, a count of the rest
    /// (`alpha, beta, gamma and 3 more`). One name is itself.
    package static func compressed(_ names: [String]) -> String {
        guard names.count > 1 else { return names.first ?? "" }
        // Names alike but for their numbers (`shard-7`, `shard-12`) share a shape.
        var shapes: [String] = []
        var byShape: [String: [String]] = [:]
        for name in names {
            let shape = Self.shape(of: name)
            if byShape[shape] == nil { shapes.append(shape) }
            byShape[shape, default: []].append(name)
        }
        var parts: [(text: String, names: Int)] = []
        for shape in shapes {
            let members = byShape[shape] ?? []
            if members.count > 1, let range = braceRange(members) {
                parts.append((range, members.count))
            } else {
                parts += members.map { ($0, 1) }
            }
        }
        guard parts.count > maximumParts else { return parts.map(\.text).joined(separator: ", ") }
        let shown = parts.prefix(maximumParts - 1)
        let rest = names.count - shown.reduce(0) { $0 + $1.names }
        return "\(shown.map(\.text).joined(separator: ", ")) and \(rest) more"
    }

    /// At most this many names or ranges are listed before the rest is counted.
    static let maximumParts = 4

    /// The name with each run of digits replaced by `#`.
    static func shape(of name: String) -> String {
        var shape = ""
        for character in name {
            if character.isASCII && character.isNumber {
                if shape.last != "#" { shape.append("#") }
            } else {
                shape.append(character)
            }
        }
        return shape
    }

    /// `compressed(names)` followed by `(N targets)` when there is more than one.
    package static func counted(_ names: [String]) -> String {
        names.count == 1 ? compressed(names) : "\(compressed(names)) (\(names.count) targets)"
    }

    /// At most this many runs make one brace range; more and the names are listed.
    static let maximumRuns = 4

    private static func braceRange(_ names: [String]) -> String? {
        let characters = names.map(Array.init)
        guard let shortest = characters.map(\.count).min() else { return nil }
        var prefix = 0
        while prefix < shortest, characters.allSatisfy({ $0[prefix] == characters[0][prefix] }) { prefix += 1 }
        var suffix = 0
        while suffix < shortest - prefix,
            characters.allSatisfy({ $0[$0.count - 1 - suffix] == characters[0][characters[0].count - 1 - suffix] })
        {
            suffix += 1
        }
        // Digits shared at the edges belong to the numbers (`shard-0{01..64}` reads wrong).
        while prefix > 0, characters[0][prefix - 1].isNumber { prefix -= 1 }
        while suffix > 0, characters[0][characters[0].count - suffix].isNumber { suffix -= 1 }
        let middles = characters.map { String($0[prefix..<($0.count - suffix)]) }
        guard middles.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        // Zero-padded numbers keep their width; mixed widths are only read as plain numbers.
        guard let width = middles.first?.count else { return nil }
        let padded = middles.contains { $0.count > 1 && $0.hasPrefix("0") }
        if padded && !middles.allSatisfy({ $0.count == width }) { return nil }
        let numbers = middles.compactMap { Int($0) }.sorted()
        guard numbers.count == middles.count, Set(numbers).count == numbers.count else { return nil }

        var runs: [(low: Int, high: Int)] = []
        for number in numbers {
            if let last = runs.last, last.high + 1 == number {
                runs[runs.count - 1].high = number
            } else {
                runs.append((number, number))
            }
        }
        guard runs.count <= maximumRuns else { return nil }
        func text(_ number: Int) -> String {
            let plain = String(number)
            return padded ? String(repeating: "0", count: max(0, width - plain.count)) + plain : plain
        }
        let body = runs.map { $0.low == $0.high ? text($0.low) : "\(text($0.low))..\(text($0.high))" }.joined(
            separator: ",")
        let head = String(characters[0][0..<prefix])
        let tail = String(characters[0][(characters[0].count - suffix)...])
        return "\(head){\(body)}\(tail)"
    }
}
