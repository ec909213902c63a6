import Foundation

/// Where and how to export a run's spans, from the standard `OTEL_*` variables (the
/// OpenTelemetry SDK environment specification). Thread-safe value.
///
/// Read: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as given) or `OTEL_EXPORTER_OTLP_ENDPOINT`
/// (`/v1/traces` appended); `…_HEADERS` (`key=value,…`, values percent-decoded; the traces
/// variable wins per key); `…_TIMEOUT` (milliseconds, default 10000); `…_PROTOCOL`
/// (`http/json`, `http/protobuf`; `grpc` is not supported); `OTEL_SERVICE_NAME`;
/// `OTEL_RESOURCE_ATTRIBUTES`; `OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` turn
/// export off.
package struct TraceSettings: Sendable, Hashable {
    package enum WireFormat: String, Sendable, Hashable {
        case json = "http/json"
        case protobuf = "http/protobuf"
    }

    package var endpoint: URL
    package var headers: [String: String]
    package var timeout: Duration
    package var format: WireFormat
    /// Resource attributes, `service.name` included.
    package var resource: [String: String]

    package var serviceName: String { resource["service.name"] ?? "tidemark" }

    /// Why the variables could not be used (a bad timeout, grpc, an endpoint that is not a URL).
    package struct Problem: Error, Sendable, CustomStringConvertible {
        package var description: String
    }

    /// Nil when no endpoint is set or export is turned off.
    package init?(environment: [String: String]) throws(Problem) {
        func value(_ name: String) -> String? {
            environment[name].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" { return nil }
        if let exporters = value("OTEL_TRACES_EXPORTER"), !exporters.lowercased().split(separator: ",").contains("otlp")
        {
            return nil
        }
        let endpointText: String
        if let traces = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            endpointText = traces
        } else if let base = value("OTEL_EXPORTER_OTLP_ENDPOINT") {
            endpointText = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/v1/traces"
        } else {
            return nil
        }
        guard let url = URL(string: endpointText), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", url.host != nil
        else {
            // The variable may carry credentials: name it, not its value.
            throw Problem(
                description:
                    "OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is not an http:// or https:// URL; traces are not exported.")
        }
        endpoint = url

        let protocolName =
            value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? value("OTEL_EXPORTER_OTLP_PROTOCOL")
            ?? WireFormat.protobuf.rawValue
        guard let format = WireFormat(rawValue: protocolName) else {
            throw Problem(
                description:
                    "OTEL_EXPORTER_OTLP_PROTOCOL=\(protocolName): tidemark exports over http/protobuf or http/json only; traces are not exported."
            )
        }
        self.format = format

        let timeoutText = value("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") ?? value("OTEL_EXPORTER_OTLP_TIMEOUT")
        if let timeoutText {
            guard let milliseconds = Int(timeoutText), milliseconds > 0 else {
                throw Problem(
                    description:
                        "OTEL_EXPORTER_OTLP_TIMEOUT=\(timeoutText): give milliseconds, e.g. 10000; traces are not exported."
                )
            }
            timeout = .milliseconds(milliseconds)
        } else {
            timeout = .seconds(10)
        }

        var headers = Self.pairs(value("OTEL_EXPORTER_OTLP_HEADERS") ?? "")
        for (key, value) in Self.pairs(value("OTEL_EXPORTER_OTLP_TRACES_HEADERS") ?? "") { headers[key] = value }
        self.headers = headers

        var resource = Self.pairs(value("OTEL_RESOURCE_ATTRIBUTES") ?? "")
        if let service = value("OTEL_SERVICE_NAME") { resource["service.name"] = service }
        if resource["service.name"] == nil { resource["service.name"] = "tidemark" }
        self.resource = resource
    }

    /// `a=1,b=x%20y` as `[a: 1, b: x y]`; entries without `=` are ignored.
    static func pairs(_ text: String) -> [String: String] {
        var pairs: [String: String] = [:]
        for entry in text.split(separator: ",") {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            let key = entry[..<equals].trimmingCharacters(in: .whitespaces)
            let raw = entry[entry.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { continue }
            pairs[key.removingPercentEncoding ?? key] = raw.removingPercentEncoding ?? raw
        }
        return pairs
    }
}
