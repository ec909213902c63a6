/// The lines of a text file, for the readers that go through one line at a time (script
/// directives, Diesel's `metadata.toml`). Pure value; thread-safe.
///
/// A line ends at `\n`, and a `\r` just before it belongs to the line break, so a file saved
/// with Windows line endings reads as the same lines. Splitting with
/// `String.split(separator: "\n")` does not do that: Swift reads `\r\n` as one `Character`,
/// which is not `"\n"`, so a CRLF file was a single line. The lines are found lazily, in the
/// UTF-8 bytes: a reader that stops at the first line it does not want (the directive reader
/// stops at the first SQL line) never walks the rest of a long script.
struct TextLines: Sequence {
    let text: String

    init(_ text: String) {
        self.text = text
    }

    func makeIterator() -> Iterator {
        Iterator(text: text, position: text.utf8.startIndex)
    }

    /// Yields each line without its line break; a text ending in a line break ends with an
    /// empty line, as `split(separator:omittingEmptySubsequences: false)` does.
    struct Iterator: IteratorProtocol {
        let text: String
        /// Where the next line starts; nil after the last line.
        var position: String.Index?

        mutating func next() -> Substring? {
            guard let start = position else { return nil }
            let bytes = text.utf8
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                position = nil
                return text[start..<bytes.endIndex]
            }
            position = bytes.index(after: newline)
            var end = newline
            if end > start, bytes[bytes.index(before: end)] == 0x0D { end = bytes.index(before: end) }
            return text[start..<end]
        }
    }
}
