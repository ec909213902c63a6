/// Line and column of a `JSONDecoder` error in the JSON text, for `file:line:column` messages.
/// Pure and thread-safe.
///
/// `JSONDecoder` names the key path of a bad value (`targets[2].name`) but no position, and says
/// only "not valid JSON" for a syntax error. This reads the text once, without recursion (any
/// nesting depth costs only memory), and finds the first syntax error or the value at a path.
package enum JSONTextPosition {
    /// A place in the text: 1-based line, and 1-based column counted in Unicode scalars.
    package struct Position: Sendable, Hashable {
        package var line: Int
        package var column: Int

        package init(line: Int, column: Int) {
            self.line = line
            self.column = column
        }
    }

    /// Where `error` (thrown by `JSONDecoder` decoding `bytes`) points, and the sentence for it.
    ///
    /// A syntax error points at the first byte that breaks the JSON; a missing key at the object
    /// that lacks it; a wrong value at the value. Anything else points at the start.
    package static func describe(_ error: any Error, in bytes: [UInt8]) -> (position: Position, message: String) {
        let start = Position(line: 1, column: 1)
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            let position = position(ofValueAt: context.codingPath, in: bytes) ?? start
            return (
                position,
                "missing key '\(key.stringValue)' in \(pathText(context.codingPath, orRoot: "the top-level object"))"
            )
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let position = position(ofValueAt: context.codingPath, in: bytes) ?? start
            return (
                position,
                "wrong value at \(pathText(context.codingPath, orRoot: "the top level")): \(context.debugDescription)"
            )
        case DecodingError.dataCorrupted(let context):
            if let syntax = firstSyntaxError(in: bytes) {
                return (syntax.position, "not JSON: \(syntax.problem)")
            }
            if context.codingPath.isEmpty {
                return (start, "not JSON: \(context.debugDescription)")
            }
            let position = position(ofValueAt: context.codingPath, in: bytes) ?? start
            return (
                position,
                "bad value at \(pathText(context.codingPath, orRoot: "the top level")): \(context.debugDescription)"
            )
        default:
            if let syntax = firstSyntaxError(in: bytes) { return (syntax.position, "not JSON: \(syntax.problem)") }
            return (start, "\(error)")
        }
    }

    /// `targets[2].name`, or `root` for the empty path.
    package static func pathText(_ path: [any CodingKey], orRoot root: String) -> String {
        guard !path.isEmpty else { return root }
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    /// The first place where `bytes` stop being one JSON value, with what is wrong there; nil
    /// when the text is valid JSON.
    package static func firstSyntaxError(in bytes: [UInt8]) -> (position: Position, problem: String)? {
        if let offset = firstInvalidUTF8(in: bytes) {
            return (position(ofOffset: offset, in: bytes), "the text is not UTF-8 here")
        }
        var reader = Reader(bytes: bytes, target: nil)
        guard let failure = reader.run() else { return nil }
        return (position(ofOffset: failure.offset, in: bytes), failure.problem)
    }

    /// Where the value at `path` starts; nil when the text has no such value (or breaks first).
    package static func position(ofValueAt path: [any CodingKey], in bytes: [UInt8]) -> Position? {
        let target = path.map { key -> PathKey in key.intValue.map(PathKey.index) ?? .key(key.stringValue) }
        var reader = Reader(bytes: bytes, target: target)
        _ = reader.run()
        return reader.found.map { position(ofOffset: $0, in: bytes) }
    }

    /// The byte offset of the first byte that is not part of valid UTF-8; nil when all are.
    package static func firstInvalidUTF8(in bytes: [UInt8]) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// Line and column of byte `offset`: lines end at `\n`; columns count scalars, not bytes.
    package static func position(ofOffset offset: Int, in bytes: [UInt8]) -> Position {
        var line = 1
        var column = 1
        for byte in bytes.prefix(max(0, offset)) {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return Position(line: line, column: column)
    }

    /// A key of an object, to name a path by hand (`[Key("schema")]`).
    package struct Key: CodingKey, Sendable {
        package var stringValue: String
        package var intValue: Int? { nil }

        package init(_ name: String) { stringValue = name }
        package init?(stringValue: String) { self.stringValue = stringValue }
        package init?(intValue: Int) { nil }
    }

    enum PathKey: Equatable {
        case key(String)
        case index(Int)
    }

    /// A JSON reader with an explicit stack of open containers. Not shared; used by one call.
    struct Reader {
        /// An open object or array and where the reader is in it.
        enum Frame {
            case object(expectingKey: Bool)
            /// `started` once the first element began (or the list was seen to be empty).
            case array(count: Int, started: Bool)
        }

        let bytes: [UInt8]
        let target: [PathKey]?
        var index = 0
        var stack: [Frame] = []
        /// The path of the value being read: one entry per open container.
        var path: [PathKey] = []
        /// Byte offset where the target value starts, once seen.
        var found: Int?

        init(bytes: [UInt8], target: [PathKey]?) {
            self.bytes = bytes
            self.target = target
        }

        /// Reads the whole text; the first failure, or nil when it is one valid JSON value.
        mutating func run() -> (offset: Int, problem: String)? {
            skipSpace()
            if index < bytes.count, bytes[index] == 0xEF, bytes.count - index >= 3, bytes[index + 1] == 0xBB,
                bytes[index + 2] == 0xBF
            {
                index += 3
                skipSpace()
            }
            if let failure = value() { return failure }
            while !stack.isEmpty {
                skipSpace()
                if let failure = continueContainer() { return failure }
            }
            skipSpace()
            guard index == bytes.count else { return (index, "unexpected text after the JSON value") }
            return nil
        }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// Notes where a value starts when its path is the one looked for.
        mutating func markValue() {
            if found == nil, let target, path == target { found = index }
        }

        /// Reads one value; a container only opens (its contents are read by `continueContainer`).
        mutating func value() -> (offset: Int, problem: String)? {
            skipSpace()
            guard index < bytes.count else { return (index, "the text ends where a value should be") }
            markValue()
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                stack.append(.object(expectingKey: true))
                path.append(.key(""))
                return nil
            case UInt8(ascii: "["):
                index += 1
                stack.append(.array(count: 0, started: false))
                path.append(.index(0))
                return nil
            case UInt8(ascii: "\""):
                return string().failure
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return number()
            default:
                return (index, "unexpected character where a value should be")
            }
        }

        /// After a value inside the innermost container: a comma and the next entry, or its end.
        mutating func continueContainer() -> (offset: Int, problem: String)? {
            guard let frame = stack.last else { return nil }
            switch frame {
            case .object(let expectingKey):
                if expectingKey {
                    // `JSONDecoder` accepts a trailing comma, so a `}` after one is no error here.
                    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                        index += 1
                        stack.removeLast()
                        path.removeLast()
                        return nil
                    }
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                        return (index, "expected a key in quotes")
                    }
                    let key = string()
                    if let failure = key.failure { return failure }
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                        return (index, "expected ':' after the key")
                    }
                    index += 1
                    path[path.count - 1] = .key(key.text)
                    stack[stack.count - 1] = .object(expectingKey: false)
                    return value()
                }
                guard index < bytes.count else { return (index, "the text ends inside an object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    skipSpace()
                    stack[stack.count - 1] = .object(expectingKey: true)
                    return nil
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    stack.removeLast()
                    path.removeLast()
                    return nil
                }
                return (index, "expected ',' or '}' in an object")
            case .array(let count, let started):
                guard index < bytes.count else { return (index, "the text ends inside a list") }
                if !started {
                    if bytes[index] == UInt8(ascii: "]") {
                        index += 1
                        stack.removeLast()
                        path.removeLast()
                        return nil
                    }
                    stack[stack.count - 1] = .array(count: 0, started: true)
                    return value()
                }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    stack[stack.count - 1] = .array(count: count + 1, started: true)
                    path[path.count - 1] = .index(count + 1)
                    skipSpace()
                    // A trailing comma, as `JSONDecoder` accepts it.
                    if index < bytes.count, bytes[index] == UInt8(ascii: "]") { return nil }
                    return value()
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    stack.removeLast()
                    path.removeLast()
                    return nil
                }
                return (index, "expected ',' or ']' in a list")
            }
        }

        mutating func literal(_ word: String) -> (offset: Int, problem: String)? {
            let expected = Array(word.utf8)
            guard bytes.count - index >= expected.count, Array(bytes[index..<(index + expected.count)]) == expected
            else {
                return (index, "unexpected word where a value should be")
            }
            index += expected.count
            return nil
        }

        mutating func number() -> (offset: Int, problem: String)? {
            let start = index
            func digits() -> Int {
                let first = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                return index - first
            }
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return (start, "a number needs digits") }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return (index, "a number needs digits after '.'") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard digits() > 0 else { return (index, "a number needs digits in its exponent") }
            }
            return nil
        }

        /// A quoted string starting at `index`; its text (escapes kept as written, enough to
        /// compare plain keys) or where it breaks.
        mutating func string() -> (text: String, failure: (offset: Int, problem: String)?) {
            let start = index
            index += 1
            var hasEscape = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
                    index += 1
                    return (hasEscape ? "\u{0}" + text : text, nil)
                }
                if byte == UInt8(ascii: "\\") {
                    hasEscape = true
                    index += 2
                    continue
                }
                if byte < 0x20 { return ("", (index, "a control character inside a string; write it escaped")) }
                index += 1
            }
            return ("", (start, "a string that is never closed"))
        }
    }
}

extension SourceLocation {
    /// The line and column of byte `offset` of `bytes` (lines end at `\n`, columns count scalars).
    package init(file: String, byteOffset offset: Int, in bytes: [UInt8]) {
        let position = JSONTextPosition.position(ofOffset: offset, in: bytes)
        self.init(file: file, line: position.line, column: position.column)
    }
}
