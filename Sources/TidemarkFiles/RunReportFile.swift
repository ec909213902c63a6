import Foundation
import TidemarkCore

extension RunReport {
    /// Writes the report as JSON, creating folders; the file is readable by its owner only and
    /// appears whole (written beside it, then renamed).
    ///
    /// The targets are encoded one at a time into the file, the bytes `JSONEncoder` would write
    /// for the whole report: encoding 20,000 targets at once held 107 MB of the encoder's tree
    /// (5 KB a target), a runner's peak memory.
    package func write(to url: URL) throws {
        let encoder = Self.encoder
        var head = self
        head.targets = []
        let headText = String(decoding: try encoder.encode(head), as: UTF8.self)
        let emptyTargets = "\n  \"targets\" : [\n\n  ]"
        try OwnerOnlyFile.write(to: url) { file in
            guard let marker = headText.range(of: emptyTargets), !targets.isEmpty else {
                try file.write(contentsOf: try encoder.encode(self))
                return
            }
            var chunk = String(headText[..<marker.lowerBound]) + "\n  \"targets\" : [\n"
            for (index, target) in targets.enumerated() {
                // Each target as the whole report's encoder writes it, two levels in.
                let element = String(decoding: try encoder.encode(target), as: UTF8.self)
                for (number, line) in element.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    if number > 0 { chunk += "\n" }
                    if !line.isEmpty { chunk += "    " + line }
                }
                chunk += index == targets.count - 1 ? "\n  ]" : ",\n"
                if chunk.utf8.count > 1 << 16 {
                    try file.write(contentsOf: Data(chunk.utf8))
                    chunk = ""
                }
            }
            try file.write(contentsOf: Data((chunk + headText[marker.upperBound...]).utf8))
        }
    }

    /// The report's JSON form: pretty, keys sorted, dates to the millisecond.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601Milliseconds
        return encoder
    }
}
