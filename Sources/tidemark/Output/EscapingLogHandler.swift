import Logging
import TidemarkCore

/// Standard error's log handler with every message and metadata value escaped
/// (`PrintableText`): logs carry server messages, names and paths, and a line break in one of
/// them must not forge a log line. Thread-safe value, like the handler it wraps.
struct EscapingLogHandler: LogHandler {
    var inner: StreamLogHandler

    init(label: String) {
        inner = StreamLogHandler.standardError(label: label)
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: PrintableText.escaped(event.message.description))
        event.metadata = event.metadata?.mapValues(Self.escaped)
        // Metadata set on the logger itself (the target's name) is escaped the same way.
        var inner = inner
        inner.metadata = inner.metadata.mapValues(Self.escaped)
        inner.log(event: event)
    }

    static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): return .string(PrintableText.escaped(text))
        case .stringConvertible(let convertible): return .string(PrintableText.escaped(convertible.description))
        case .array(let values): return .array(values.map(escaped))
        case .dictionary(let values): return .dictionary(values.mapValues(escaped))
        }
    }
}
