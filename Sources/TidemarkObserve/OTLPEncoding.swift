import Foundation

/// Encodes spans as an OTLP `ExportTraceServiceRequest` (opentelemetry-proto
/// `collector/trace/v1`), in both wire formats OTLP/HTTP accepts: protobuf and JSON (the
/// OTLP JSON mapping: ids as hex, 64-bit integers as strings, enums as numbers).
/// Pure; thread-safe (no state).
package enum OTLPEncoding {
    /// `SPAN_KIND_INTERNAL`: every Tidemark span is work inside the process.
    static let internalKind = 1
    static let scopeName = "tidemark"
    static let scopeVersion = "0.1.0"

    package static func body(_ spans: [Span], resource: [String: String], format: TraceSettings.WireFormat) -> Data {
        switch format {
        case .json: return json(spans, resource: resource)
        case .protobuf: return protobuf(spans, resource: resource)
        }
    }

    package static func contentType(_ format: TraceSettings.WireFormat) -> String {
        format == .json ? "application/json" : "application/x-protobuf"
    }

    // MARK: JSON

    static func json(_ spans: [Span], resource: [String: String]) -> Data {
        let resourceAttributes = resource.sorted { $0.key < $1.key }.map { attribute($0.key, .string($0.value)) }
        let document: [String: Any] = [
            "resourceSpans": [
                [
                    "resource": ["attributes": resourceAttributes],
                    "scopeSpans": [
                        ["scope": ["name": scopeName, "version": scopeVersion], "spans": spans.map(jsonSpan)]
                    ],
                ] as [String: Any]
            ]
        ]
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
    }

    private static func jsonSpan(_ span: Span) -> [String: Any] {
        var object: [String: Any] = [
            "traceId": span.traceID, "spanId": span.spanID, "name": span.name, "kind": internalKind,
            "startTimeUnixNano": String(Span.nanoseconds(span.start)),
            "endTimeUnixNano": String(Span.nanoseconds(span.end)),
            "attributes": span.attributes.map { attribute($0.key, $0.value) },
        ]
        if let parent = span.parentSpanID { object["parentSpanId"] = parent }
        switch span.status {
        case .unset: break
        case .ok: object["status"] = ["code": 1]
        case .error(let message): object["status"] = ["code": 2, "message": message] as [String: Any]
        }
        return object
    }

    private static func attribute(_ key: String, _ value: Span.Value) -> [String: Any] {
        let any: [String: Any]
        switch value {
        case .string(let text): any = ["stringValue": text]
        case .int(let number): any = ["intValue": String(number)]
        case .bool(let flag): any = ["boolValue": flag]
        }
        return ["key": key, "value": any]
    }

    // MARK: Protobuf

    static func protobuf(_ spans: [Span], resource: [String: String]) -> Data {
        var resourceMessage = ProtobufWriter()
        for (key, value) in resource.sorted(by: { $0.key < $1.key }) {
            resourceMessage.message(1, keyValue(key, .string(value)))
        }
        var scope = ProtobufWriter()
        scope.string(1, scopeName)
        scope.string(2, scopeVersion)
        var scopeSpans = ProtobufWriter()
        scopeSpans.message(1, scope)
        for span in spans { scopeSpans.message(2, protobufSpan(span)) }
        var resourceSpans = ProtobufWriter()
        resourceSpans.message(1, resourceMessage)
        resourceSpans.message(2, scopeSpans)
        var request = ProtobufWriter()
        request.message(1, resourceSpans)
        return request.data
    }

    private static func protobufSpan(_ span: Span) -> ProtobufWriter {
        var message = ProtobufWriter()
        message.bytes(1, hexBytes(span.traceID))
        message.bytes(2, hexBytes(span.spanID))
        if let parent = span.parentSpanID { message.bytes(4, hexBytes(parent)) }
        message.string(5, span.name)
        message.varint(6, UInt64(internalKind))
        message.fixed64(7, Span.nanoseconds(span.start))
        message.fixed64(8, Span.nanoseconds(span.end))
        for attribute in span.attributes { message.message(9, keyValue(attribute.key, attribute.value)) }
        var status = ProtobufWriter()
        switch span.status {
        case .unset: break
        case .ok: status.varint(3, 1)
        case .error(let text):
            status.string(2, text)
            status.varint(3, 2)
        }
        if !status.data.isEmpty { message.message(15, status) }
        return message
    }

    private static func keyValue(_ key: String, _ value: Span.Value) -> ProtobufWriter {
        var any = ProtobufWriter()
        switch value {
        case .string(let text): any.string(1, text)
        case .bool(let flag): any.varint(2, flag ? 1 : 0)
        case .int(let number): any.varint(3, UInt64(bitPattern: number))
        }
        var pair = ProtobufWriter()
        pair.string(1, key)
        pair.message(2, any)
        return pair
    }

    static func hexBytes(_ hex: String) -> Data {
        var data = Data()
        var high: UInt8?
        for character in hex {
            guard let nibble = character.hexDigitValue.map(UInt8.init) else { continue }
            if let first = high {
                data.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return data
    }
}

/// The protobuf wire format, as much of it as OTLP traces need: varints, fixed64 and
/// length-delimited fields. Thread-safe value.
struct ProtobufWriter {
    private(set) var data = Data()

    mutating func varint(_ field: Int, _ value: UInt64) {
        tag(field, wireType: 0)
        raw(value)
    }

    mutating func fixed64(_ field: Int, _ value: UInt64) {
        tag(field, wireType: 1)
        for shift in stride(from: 0, to: 64, by: 8) { data.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func bytes(_ field: Int, _ value: Data) {
        tag(field, wireType: 2)
        raw(UInt64(value.count))
        data.append(value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Data(value.utf8)) }

    mutating func message(_ field: Int, _ value: ProtobufWriter) { bytes(field, value.data) }

    private mutating func tag(_ field: Int, wireType: UInt64) { raw(UInt64(field) << 3 | wireType) }

    private mutating func raw(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            data.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        data.append(UInt8(value))
    }
}
