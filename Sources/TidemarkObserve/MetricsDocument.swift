import Foundation

/// Metric families in the Prometheus text exposition format (version 0.0.4), the format
/// node_exporter's textfile collector reads. Thread-safe value.
///
/// Written here rather than with a client library: the format is a documented handful of
/// lines, and Tidemark writes a file once at the end of a run (no registry, no server).
package struct MetricsDocument: Sendable, Hashable {
    /// One family: `# HELP`, `# TYPE`, then its samples.
    package struct Family: Sendable, Hashable {
        package enum Kind: String, Sendable { case gauge, counter, histogram }
        package var name: String
        package var help: String
        package var kind: Kind
        package var samples: [Sample]

        package init(name: String, help: String, kind: Kind, samples: [Sample] = []) {
            self.name = name
            self.help = help
            self.kind = kind
            self.samples = samples
        }
    }

    /// One line: the family's name plus `suffix` (`_bucket`, `_sum`, `_count` for a histogram).
    package struct Sample: Sendable, Hashable {
        package var suffix: String
        /// In the order written.
        package var labels: [Label]
        package var value: Double

        package init(suffix: String = "", labels: [Label], value: Double) {
            self.suffix = suffix
            self.labels = labels
            self.value = value
        }
    }

    package struct Label: Sendable, Hashable {
        package var name: String
        package var value: String

        package init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    package var families: [Family]
    /// Lines kept verbatim from an earlier file (see `MetricsFile`), written after the families.
    package var keptLines: [String] = []

    package init(families: [Family]) {
        self.families = families
    }

    /// The exposition text, ending in a newline.
    package func render() -> String {
        var lines: [String] = []
        for family in families {
            lines.append("# HELP \(family.name) \(Self.escapeHelp(family.help))")
            lines.append("# TYPE \(family.name) \(family.kind.rawValue)")
            for sample in family.samples { lines.append(Self.line(family.name, sample)) }
        }
        lines += keptLines
        return lines.joined(separator: "\n") + "\n"
    }

    static func line(_ name: String, _ sample: Sample) -> String {
        let labels = sample.labels.map { "\($0.name)=\"\(escapeLabel($0.value))\"" }.joined(separator: ",")
        return "\(name)\(sample.suffix)\(labels.isEmpty ? "" : "{\(labels)}") \(number(sample.value))"
    }

    /// Label values escape backslash, double quote and line feed.
    package static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// HELP text escapes backslash and line feed.
    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// `3`, `0.25`, `1764454512.123`, `+Inf`.
    package static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.6f", value).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }
}
