import TidemarkCore

/// `sqitch.plan` as Sqitch 1.x reads it (sqitch-plan(5), App::Sqitch::Plan): the pragma header,
/// change lines `name [deps] timestamp planner <email> # note`, tag lines
/// `@tag timestamp planner <email> # note`, blank lines and `#` comments. Pure value; thread-safe.
///
/// Where Sqitch refuses a plan this refuses it too, with `file:line:column`; what Sqitch keeps
/// but Tidemark cannot honour (pragmas other than `%syntax-version`, `%project` and `%uri`,
/// the `-` operator) is refused as well, so nothing in the plan is silently ignored.
package struct SqitchPlanFile: Sendable, Hashable {
    /// The plan's file name inside a Sqitch project.
    package static let fileName = "sqitch.plan"

    /// One entry of a change's `[…]` list: a required change (`users`, `users@v1.0`, `@v1.0`,
    /// `other:users`, a change id) or, with `!`, a conflicting one.
    package struct Dependency: Sendable, Hashable {
        package var conflicts: Bool
        package var project: String?
        package var change: String?
        package var tag: String?
        package var id: String?

        /// The dependency as Sqitch writes it in a change's `info` (no `!`; the project only
        /// when it is another project's).
        func rendered(planProject: String) -> String {
            let key: String
            if change != nil || tag != nil {
                key = (change ?? "") + (tag.map { "@" + $0 } ?? "")
            } else {
                key = id ?? ""
            }
            guard let project, project != planProject else { return key }
            return project + ":" + key
        }
    }

    /// One change line. Several changes share a name when a change is reworked.
    package struct Change: Sendable, Hashable {
        package var name: String
        /// Where its name starts (1-based).
        package var line: Int
        package var column: Int
        package var requires: [Dependency]
        package var conflicts: [Dependency]
        /// As written: `2026-11-29T19:17:19Z` (UTC).
        package var timestamp: String
        package var plannerName: String
        package var plannerEmail: String
        /// The note after `#`, trimmed and unescaped (`\n`, `\r`, `\\`).
        package var note: String
        /// Tags declared right after this change, without `@`.
        package var tags: [String]
        /// For a change reworked later: the tags whose names its old scripts may carry, in the
        /// order Sqitch tries them (`deploy/name@tag.sql`). Empty when it is not reworked.
        package var reworkTags: [String]
        /// Sqitch's change id (`sqitch plan` prints it; the registry's `changes.change_id`).
        package var id: String
    }

    /// One tag line.
    package struct Tag: Sendable, Hashable {
        package var name: String
        package var line: Int
        /// Index in `changes` of the change it tags.
        package var change: Int
    }

    package var project: String
    package var uri: String?
    package var changes: [Change]
    package var tags: [Tag]

    /// Reads `text` (the contents of `file`); every problem is collected before failing.
    package static func parse(_ text: String, file: String) throws(PlanProblems) -> SqitchPlanFile {
        var parser = SqitchPlanParser(file: file)
        let plan = parser.parse(text)
        guard parser.errors.isEmpty, let plan else {
            throw PlanProblems(
                errors: parser.errors.isEmpty
                    ? [parser.error(line: 1, column: 1, "this plan declares nothing")] : parser.errors)
        }
        return plan
    }
}

/// One pass over one sqitch.plan. Not shared; used by one call.
struct SqitchPlanParser {
    let file: String
    var errors: [PlanError] = []

    /// Like POSIX [:punct:] without `_`: what names must not begin or end with.
    static let punctuation: Set<Character> = Set("-!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~")
    static let knownPragmas = ["syntax-version", "project", "uri"]

    init(file: String) {
        self.file = file
    }

    func error(line: Int, column: Int, _ message: String) -> PlanError {
        .badPlanFile(location: SourceLocation(file: file, line: line, column: column), message: message)
    }

    mutating func report(line: Int, column: Int, _ message: String) {
        errors.append(error(line: line, column: column, message))
    }

    static func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" }

    /// A line without its inline note: the content (right-trimmed) and the note, as Sqitch splits it
    /// (at the first `#`).
    static func splitNote(_ chars: [Character]) -> (content: [Character], note: String?) {
        var end = chars.count
        var note: String?
        if let hash = chars.firstIndex(of: "#") {
            end = hash
            note = unescape(String(chars[(hash + 1)...]).trimmingSqitchSpace())
        }
        while end > 0, isBlank(chars[end - 1]) { end -= 1 }
        return (Array(chars[..<end]), note)
    }

    /// Sqitch's note escapes: `\n`, `\r` and `\\`.
    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var result = ""
        var escaping = false
        for c in text {
            if escaping {
                switch c {
                case "n": result.append("\n")
                case "r": result.append("\r")
                case "\\": result.append("\\")
                default:
                    result.append("\\")
                    result.append(c)
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                result.append(c)
            }
        }
        if escaping { result.append("\\") }
        return result
    }

    /// Why `name` is not a valid Sqitch change, tag or project name, or nil when it is.
    static func nameProblem(_ name: String, kind: String) -> String? {
        let rule =
            "\(kind) names must not begin with punctuation, contain \"@\", \":\", \"#\", \"\\\" or blanks, or end in punctuation or in digits following punctuation"
        guard let first = name.first, let last = name.last else { return "a \(kind) name is missing here" }
        if punctuation.contains(first) || name.contains(where: { isBlank($0) || ":@#\\".contains($0) })
            || punctuation.contains(last) || !(last.isLetter || last.isNumber || last == "_" || last.isWordMark)
        {
            return "\"\(name)\" is not a valid \(kind) name: \(rule); rename it."
        }
        let trailingDigits = name.reversed().prefix { $0.isASCII && $0.isNumber }.count
        if trailingDigits > 0, trailingDigits < name.count {
            let before = name[name.index(name.endIndex, offsetBy: -trailingDigits - 1)]
            if "~/=%^".contains(before) {
                return "\"\(name)\" is not a valid \(kind) name: \(rule); rename it."
            }
        }
        if name == "ROOT" || name == "HEAD" {
            return "\"\(kind == "tag" ? "@" : "")\(name)\" is a reserved name in Sqitch; rename it."
        }
        let hex = name.prefix(40)
        if hex.count == 40, hex.allSatisfy({ $0.isASCII && ($0.isNumber || ("a"..."f").contains($0)) }) {
            return "\"\(name)\" could be confused with a Sqitch change id (40 hex digits); rename it."
        }
        return nil
    }

    mutating func parse(_ text: String) -> SqitchPlanFile? {
        // "\r\n" is one Character in Swift, so it is a separator of its own.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map {
            line in
            line.last == "\r" ? Array(line.dropLast()) : Array(line)
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        if let first = lines.first, first.first == "\u{FEFF}" { lines[0].removeFirst() }

        var index = 0
        var pragmas: [String: (value: String, line: Int)] = [:]
        // The header: pragmas up to the first blank line (comment lines do not end it).
        while index < lines.count {
            let chars = lines[index]
            let number = index + 1
            index += 1
            let (content, note) = Self.splitNote(chars)
            if content.allSatisfy(Self.isBlank) {
                // A blank line ends the header; a comment line does not (Sqitch reads it so).
                if note?.isEmpty ?? true { break }
                continue
            }
            readPragma(content, line: number, into: &pragmas)
        }
        let project = pragmas["project"]?.value
        if project == nil {
            report(
                line: 1, column: 1,
                "this plan has no %project pragma; add `%project=NAME` at the top (sqitch init writes it).")
        }
        let projectName = project ?? ""

        var changes: [SqitchPlanFile.Change] = []
        var tags: [SqitchPlanFile.Tag] = []
        var tagLines: [String: Int] = [:]
        /// Change names declared since the last tag, with their lines.
        var sinceTag: [String: Int] = [:]
        /// The newest change of each name, by index.
        var newest: [String: Int] = [:]
        /// Names of change lines that could not be read.
        var unreadable: Set<String> = []
        while index < lines.count {
            let chars = lines[index]
            let number = index + 1
            index += 1
            let (content, note) = Self.splitNote(chars)
            if content.allSatisfy(Self.isBlank) { continue }
            guard let entry = readEntry(content, line: number) else {
                // Reported already; its name still counts as declared, so the changes that
                // require it are not reported too.
                let name = content.drop(while: { Self.isBlank($0) || $0 == "+" || $0 == "@" }).prefix {
                    !Self.isBlank($0) && $0 != "["
                }
                unreadable.insert(String(name))
                continue
            }
            if entry.isTag {
                if let earlier = tagLines[entry.name] {
                    report(
                        line: number, column: entry.column,
                        "tag @\(entry.name) is already declared on line \(earlier); give this tag another name.")
                    continue
                }
                guard let tagged = changes.indices.last else {
                    report(
                        line: number, column: entry.column,
                        "tag @\(entry.name) comes before any change; a tag names the change above it, so declare a change first."
                    )
                    continue
                }
                tagLines[entry.name] = number
                tags.append(SqitchPlanFile.Tag(name: entry.name, line: number, change: tagged))
                changes[tagged].tags.append(entry.name)
                sinceTag = [:]
            } else {
                if let earlier = sinceTag[entry.name] {
                    report(
                        line: number, column: entry.column,
                        "change \"\(entry.name)\" is already declared on line \(earlier) with no tag between; to rework it, tag the plan first (`sqitch tag`) and then `sqitch rework \(entry.name)`, otherwise give it another name."
                    )
                    continue
                }
                checkRequirements(
                    entry, line: number, project: projectName, changes: changes, tagLines: tagLines, newest: newest,
                    unreadable: unreadable)
                if let reworked = newest[entry.name] {
                    // Sqitch's rework tags: the tags after the reworked change, newest first, then its own.
                    var reworkTags: [String] = []
                    for later in changes.indices.reversed() where later > reworked {
                        reworkTags += changes[later].tags
                    }
                    reworkTags += changes[reworked].tags
                    changes[reworked].reworkTags = reworkTags + changes[reworked].reworkTags
                }
                sinceTag[entry.name] = number
                newest[entry.name] = changes.count
                changes.append(
                    SqitchPlanFile.Change(
                        name: entry.name, line: number, column: entry.column,
                        requires: entry.dependencies.filter { !$0.conflicts },
                        conflicts: entry.dependencies.filter(\.conflicts), timestamp: entry.timestamp,
                        plannerName: entry.plannerName, plannerEmail: entry.plannerEmail, note: note ?? "",
                        tags: [], reworkTags: [], id: ""))
            }
        }
        guard errors.isEmpty, let project else { return nil }
        let uri = pragmas["uri"]?.value
        var parent: String?
        for position in changes.indices {
            let id = SqitchChange.id(info: Self.info(of: changes[position], project: project, uri: uri, parent: parent))
            changes[position].id = id
            parent = id
        }
        return SqitchPlanFile(project: project, uri: uri, changes: changes, tags: tags)
    }

    /// App::Sqitch::Plan::Change `info`: the text Sqitch hashes into the change id.
    static func info(of change: SqitchPlanFile.Change, project: String, uri: String?, parent: String?) -> String {
        var lines = ["project " + project]
        if let uri { lines.append("uri " + uri) }
        lines.append("change " + change.name)
        if let parent { lines.append("parent " + parent) }
        lines.append("planner \(change.plannerName) <\(change.plannerEmail)>")
        lines.append("date " + change.timestamp)
        if !change.requires.isEmpty {
            lines.append(
                "requires\n  + " + change.requires.map { $0.rendered(planProject: project) }.joined(separator: "\n  + ")
            )
        }
        if !change.conflicts.isEmpty {
            lines.append(
                "conflicts\n  - "
                    + change.conflicts.map { $0.rendered(planProject: project) }.joined(separator: "\n  - "))
        }
        // Perl treats the note "0" as false, so Sqitch leaves it out.
        if !change.note.isEmpty, change.note != "0" { lines += ["", change.note] }
        return lines.joined(separator: "\n")
    }

    /// `%name=value` in the header.
    mutating func readPragma(
        _ content: [Character], line: Int, into pragmas: inout [String: (value: String, line: Int)]
    ) {
        var i = 0
        while i < content.count, Self.isBlank(content[i]) { i += 1 }
        guard i < content.count, content[i] == "%" else {
            report(
                line: line, column: i + 1,
                "expected a pragma (%name=value) in the plan's header; a blank line must come between the pragmas and the first change."
            )
            return
        }
        let nameStart = i + 1
        let text = String(content[nameStart...])
        let name: String
        let value: String?
        if let equals = text.firstIndex(of: "=") {
            name = String(text[..<equals]).trimmingSqitchSpace()
            value = String(text[text.index(after: equals)...]).trimmingSqitchSpace()
        } else {
            name = text.trimmingSqitchSpace()
            value = nil
        }
        guard Self.knownPragmas.contains(name) else {
            report(
                line: line, column: nameStart + 1,
                "unknown pragma %\(name); Tidemark reads %syntax-version, %project and %uri, so remove it or move the setting to sqitch.conf."
            )
            return
        }
        if let earlier = pragmas[name] {
            report(line: line, column: nameStart + 1, "%\(name) is already set on line \(earlier.line); keep one.")
            return
        }
        guard let value, !value.isEmpty else {
            report(line: line, column: nameStart + 1, "%\(name) needs a value: %\(name)=VALUE.")
            return
        }
        let valueColumn =
            nameStart + (text.firstIndex(of: "=").map { text.distance(from: text.startIndex, to: $0) } ?? 0) + 2
        switch name {
        case "syntax-version":
            guard value.hasPrefix("1.") || value == "1" else {
                report(
                    line: line, column: valueColumn,
                    "syntax version \(value) is not one Tidemark reads; it reads Sqitch 1.x plans (%syntax-version=1.0.0)."
                )
                return
            }
        case "project":
            if let problem = Self.nameProblem(value, kind: "project") {
                report(line: line, column: valueColumn, problem)
                return
            }
        default:
            break
        }
        pragmas[name] = (value, line)
    }

    /// A change or tag line, read up to its note.
    struct Entry {
        var isTag: Bool
        var name: String
        var column: Int
        var dependencies: [SqitchPlanFile.Dependency]
        var timestamp: String
        var plannerName: String
        var plannerEmail: String
    }

    mutating func readEntry(_ content: [Character], line: Int) -> Entry? {
        var i = 0
        func skipBlanks() { while i < content.count, Self.isBlank(content[i]) { i += 1 } }
        skipBlanks()
        if content[i] == "%" {
            report(
                line: line, column: i + 1,
                "a pragma after the first blank line; pragmas belong in the header at the top of the plan.")
            return nil
        }
        let isTag = content[i] == "@"
        if isTag {
            i += 1
        } else if content[i] == "+" || content[i] == "-" {
            if content[i] == "-" {
                report(
                    line: line, column: i + 1,
                    "a change marked `-` (to be reverted) is not supported; Tidemark reads plans whose changes are all deployed, so remove the line or the `-`."
                )
                return nil
            }
            i += 1
            skipBlanks()
        }
        let kind = isTag ? "tag" : "change"
        let nameStart = i
        while i < content.count, !Self.isBlank(content[i]), content[i] != "[" { i += 1 }
        let name = String(content[nameStart..<i])
        if let problem = Self.nameProblem(name, kind: kind) {
            report(line: line, column: nameStart + 1, problem)
            return nil
        }
        if isTag, name.contains("/") {
            report(
                line: line, column: nameStart + 1,
                "tag @\(name) contains \"/\", which Sqitch does not allow in tags; rename it.")
            return nil
        }
        skipBlanks()
        var dependencies: [SqitchPlanFile.Dependency] = []
        if i < content.count, content[i] == "[" {
            let open = i
            guard let close = content[open...].firstIndex(of: "]") else {
                report(line: line, column: open + 1, "this dependency list has no closing \"]\"; close it.")
                return nil
            }
            if isTag {
                report(line: line, column: open + 1, "a tag cannot have dependencies; remove the [...] list.")
                return nil
            }
            var j = open + 1
            var seen: Set<String> = []
            while j < close {
                while j < close, Self.isBlank(content[j]) { j += 1 }
                let start = j
                while j < close, !Self.isBlank(content[j]) { j += 1 }
                guard j > start else { break }
                let text = String(content[start..<j])
                guard let dependency = Self.dependency(text) else {
                    report(
                        line: line, column: start + 1,
                        "\"\(text)\" is not a valid dependency; write change, change@tag, @tag, project:change or !change for a conflict."
                    )
                    return nil
                }
                guard seen.insert(text).inserted else {
                    report(line: line, column: start + 1, "dependency \"\(text)\" is listed twice; keep one.")
                    return nil
                }
                dependencies.append(dependency)
            }
            if dependencies.isEmpty {
                report(
                    line: line, column: open + 1,
                    "this dependency list is empty; remove the [] or name the changes required.")
                return nil
            }
            i = close + 1
            skipBlanks()
        }
        let stampStart = i
        while i < content.count, !Self.isBlank(content[i]) { i += 1 }
        let stamp = String(content[stampStart..<i])
        if let problem = Self.timestampProblem(stamp) {
            report(line: line, column: stampStart + 1, problem)
            return nil
        }
        skipBlanks()
        let planner = content[i...]
        guard let open = planner.firstIndex(of: "<"), open > i, Self.isBlank(content[open - 1]),
            let close = content[(open + 1)...].firstIndex(of: ">"), close > open + 1, close == content.count - 1
        else {
            report(
                line: line, column: i + 1,
                "expected the planner's name and email here (Name <email>), as sqitch writes them; add them.")
            return nil
        }
        var nameEnd = open
        while nameEnd > i, Self.isBlank(content[nameEnd - 1]) { nameEnd -= 1 }
        let email = String(content[(open + 1)..<close])
        return Entry(
            isTag: isTag, name: name, column: nameStart + 1, dependencies: dependencies, timestamp: stamp,
            plannerName: String(content[i..<nameEnd]), plannerEmail: email)
    }

    /// Nil when `stamp` is a valid Sqitch timestamp (`YYYY-MM-DDTHH:MM:SSZ`, UTC).
    static func timestampProblem(_ stamp: String) -> String? {
        let form = "expected the timestamp here as YYYY-MM-DDTHH:MM:SSZ (UTC), as sqitch writes it"
        guard !stamp.isEmpty else { return form + "; add it." }
        let chars = Array(stamp)
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        guard chars.count == 20, digits.allSatisfy({ chars[$0].isASCII && chars[$0].isNumber }),
            chars[4] == "-", chars[7] == "-", chars[10] == "T", chars[13] == ":", chars[16] == ":", chars[19] == "Z"
        else { return form + ", not \"\(stamp)\"; fix it." }
        func number(_ from: Int, _ count: Int) -> Int { Int(String(chars[from..<(from + count)])) ?? -1 }
        let (year, month, day) = (number(0, 4), number(5, 2), number(8, 2))
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), day >= 1, day <= days[month - 1], number(11, 2) < 24, number(14, 2) < 60,
            number(17, 2) < 60
        else { return "\"\(stamp)\" is not a real date and time; fix the timestamp." }
        return nil
    }

    /// App::Sqitch::Plan::Depend `parse`: `!`? (`project:`)? then a change id, `change(@tag)?` or `@tag`.
    static func dependency(_ text: String) -> SqitchPlanFile.Dependency? {
        var rest = Substring(text)
        let conflicts = rest.first == "!"
        if conflicts { rest = rest.dropFirst() }
        var project: String?
        if let colon = rest.firstIndex(of: ":") {
            let candidate = String(rest[..<colon])
            guard nameProblem(candidate, kind: "project") == nil else { return nil }
            project = candidate
            rest = rest[rest.index(after: colon)...]
        }
        if rest.count == 40, rest.allSatisfy({ $0.isASCII && ($0.isNumber || ("a"..."f").contains($0)) }) {
            return .init(conflicts: conflicts, project: project, change: nil, tag: nil, id: String(rest))
        }
        var change: String?
        var tag: String?
        if let at = rest.firstIndex(of: "@") {
            let before = String(rest[..<at])
            if !before.isEmpty {
                guard nameProblem(before, kind: "change") == nil else { return nil }
                change = before
            }
            let after = String(rest[rest.index(after: at)...])
            guard nameProblem(after, kind: "tag") == nil else { return nil }
            tag = after
        } else {
            let name = String(rest)
            guard nameProblem(name, kind: "change") == nil else { return nil }
            change = name
        }
        return .init(conflicts: conflicts, project: project, change: change, tag: tag, id: nil)
    }

    /// Sqitch's check: a change requires only changes (and tags) of this project declared above it;
    /// `change@tag` needs the change declared before that tag. Other projects and ids are not checked.
    mutating func checkRequirements(
        _ entry: Entry, line: Int, project: String, changes: [SqitchPlanFile.Change], tagLines: [String: Int],
        newest: [String: Int], unreadable: Set<String>
    ) {
        for dependency in entry.dependencies where !dependency.conflicts {
            if let other = dependency.project, other != project { continue }
            if dependency.project == nil, dependency.id != nil { continue }
            let text = dependency.rendered(planProject: project)
            if let change = dependency.change, unreadable.contains(change) { continue }
            switch (dependency.change, dependency.tag) {
            case (let change?, let tag?):
                if let tagLine = tagLines[tag], let declared = newest[change], changes[declared].line < tagLine {
                    continue
                }
                if change == entry.name {
                    report(
                        line: line, column: entry.column,
                        "change \"\(entry.name)\" reworks \(text), but no tag @\(tag) follows an earlier \"\(change)\"; tag the plan first (`sqitch tag`), then `sqitch rework`."
                    )
                    return
                }
            case (nil, let tag?):
                if tagLines[tag] != nil { continue }
            case (let change?, nil):
                if change == entry.name {
                    report(
                        line: line, column: entry.column,
                        "change \"\(change)\" cannot require itself; remove it from its dependencies.")
                    return
                }
                if newest[change] != nil { continue }
            default:
                continue
            }
            report(
                line: line, column: entry.column,
                "change \"\(entry.name)\" requires \(text), which is not declared above it in this plan; declare it first or fix the name."
            )
        }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs, newlines and carriage returns.
    func trimmingSqitchSpace() -> String {
        let isSpace: (Character) -> Bool = {
            $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}"
        }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}

extension Character {
    /// A combining mark: Perl's `\w` counts these as word characters.
    fileprivate var isWordMark: Bool {
        unicodeScalars.first.map {
            $0.properties.generalCategory == .nonspacingMark || $0.properties.generalCategory == .spacingMark
        } ?? false
    }
}
