import Foundation

/// Metric families in the Prometheus text exposition format (version 0.0.4), the format
/// node_exporter's textfile collector reads. Thread-safe value.
///
/// Written here rather than with a client library: the format is a documented handful of
/// lines, and Tidemark writes a file once at the end of a run (no registry, no server).
public struct MetricsDocument: Sendable, Hashable {
    /// One family: `# HELP`, `# TYPE`, then its samples.
    public struct Family: Sendable, Hashable {
        public enum Kind: String, Sendable { case gauge, counter, histogram }
        public var name: String
        public var help: String
        public var kind: Kind
        public var samples: [Sample]

        public init(name: String, help: String, kind: Kind, samples: [Sample] = []) {
            self.name = name
            self.help = help
            self.kind = kind
            self.samples = samples
        }
    }

    /// One line: the family's name plus `suffix` (`_bucket`, `_sum`, `_count` for a histogram).
    public struct Sample: Sendable, Hashable {
        public var suffix: String
        /// In the order written.
        public var labels: [Label]
        public var value: Double

        public init(suffix: String = "", labels: [Label], value: Double) {
            self.suffix = suffix
            self.labels = labels
            self.value = value
        }
    }

    public struct Label: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var families: [Family]
    /// Lines kept verbatim from an earlier file (see `MetricsFile`), written after the families.
    public var keptLines: [String] = []

    public init(families: [Family]) {
        self.families = families
    }

    /// The exposition text, ending in a newline.
    public func render() -> String {
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
    public static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// HELP text escapes backslash and line feed.
    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// `3`, `0.25`, `1764454512.123`, `+Inf`.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.6f", value).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }
}
