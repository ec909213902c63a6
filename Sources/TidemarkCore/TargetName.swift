/// A target name that is safe as one path component: `^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}$`.
/// Thread-safe value.
///
/// Target names become folder and file names (`.tidemark/backups/<target>/`), so a name such as
/// `../../x` would write outside `.tidemark/`, and `b` beside `x/../b` would share one backup.
/// Under this rule a name is exactly one path component (no `/`, never `.` or `..`, no NUL, at
/// most 128 bytes) and is its own path component, so two different names never share a file.
/// The same rule is meant for every name that becomes a path: inventory targets today,
/// discovered targets and runner names later.
package struct TargetName: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The name as written; always valid under `rule`.
    package let text: String

    /// The rule, as shown in messages and docs.
    package static let rule = "^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}$"
    /// The most bytes (and characters: the rule allows ASCII only) a name may have.
    package static let maximumLength = 128

    /// Why `text` is not a valid target name; nil when it is.
    package enum Problem: Sendable, Hashable {
        case empty
        case tooLong(bytes: Int)
        /// A character the rule does not allow, at a 1-based character position.
        case character(Unicode.Scalar, position: Int)
        /// The first character must be a letter, digit or `_` (so never `.`, `..` or `-x`).
        case firstCharacter(Unicode.Scalar)
    }

    /// A name that follows `rule`, or nil.
    package init?(_ text: String) {
        guard Self.problem(in: text) == nil else { return nil }
        self.text = text
    }

    /// A validated name, or the reason it is refused.
    package static func validated(_ text: String) -> Result<TargetName, TargetNameError> {
        if let problem = problem(in: text) { return .failure(TargetNameError(name: text, problem: problem)) }
        return .success(TargetName(unchecked: text))
    }

    private init(unchecked text: String) {
        self.text = text
    }

    /// The first thing that breaks `rule` in `text`.
    package static func problem(in text: String) -> Problem? {
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.first else { return .empty }
        if text.utf8.count > maximumLength { return .tooLong(bytes: text.utf8.count) }
        guard isLeading(first) else { return .firstCharacter(first) }
        for (index, scalar) in scalars.enumerated().dropFirst() where !isFollowing(scalar) {
            return .character(scalar, position: index + 1)
        }
        return nil
    }

    /// The name as one path component: the name itself (the rule makes it safe and injective).
    package var pathComponent: String { text }

    package var description: String { text }

    package static func < (lhs: TargetName, rhs: TargetName) -> Bool { lhs.text < rhs.text }

    private static func isLeading(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "_": return true
        default: return false
        }
    }

    private static func isFollowing(_ scalar: Unicode.Scalar) -> Bool {
        isLeading(scalar) || scalar == "." || scalar == "@" || scalar == "+" || scalar == "-"
    }
}

/// A name refused by `TargetName.rule`; the name is shown escaped. Thread-safe value.
package struct TargetNameError: Error, Sendable, Hashable, CustomStringConvertible {
    package var name: String
    package var problem: TargetName.Problem

    package init(name: String, problem: TargetName.Problem) {
        self.name = name
        self.problem = problem
    }

    /// Why the name is refused, e.g. "target name '../x' starts with '.'; …".
    package var description: String {
        let shown = "'\(PrintableText.escaped(name))'"
        let reason: String
        switch problem {
        case .empty:
            reason = "target name is empty"
        case .tooLong(let bytes):
            reason = "target name \(shown) is \(bytes) bytes long, more than \(TargetName.maximumLength)"
        case .firstCharacter(let scalar):
            reason = "target name \(shown) starts with \(Self.show(scalar)), not a letter, digit or _"
        case .character(let scalar, let position):
            reason = "target name \(shown) holds \(Self.show(scalar)) at character \(position)"
        }
        return
            "\(reason); target names become file names (backups, reports), so they must match \(TargetName.rule): a letter, digit or _, then up to 127 letters, digits or _ . @ + -"
    }

    private static func show(_ scalar: Unicode.Scalar) -> String {
        let text = PrintableText.escaped(String(scalar))
        return text == String(scalar) ? "'\(text)'" : text
    }
}
