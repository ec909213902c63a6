import Foundation
import Logging
import TidemarkHTTP

/// Sends a run's spans to an OTLP/HTTP collector after the run, on its own HTTP session with a
/// hard deadline per request (`OTEL_EXPORTER_OTLP_TIMEOUT`): a collector that is down, slow or
/// never answers costs at most that deadline once, and never fails the run; what could not be
/// sent is logged. Thread-safe value.
package struct TraceExporter: Sendable {
    package var settings: TraceSettings
    package var logger: Logger
    /// Spans per request: collectors commonly refuse bodies over 4 MiB.
    package var batchSize = 1000

    package init(settings: TraceSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// How the export went. Thread-safe value.
    package enum Result: Sendable, Hashable {
        case sent(spans: Int)
        /// Why it stopped, in words that never include the endpoint (it may carry credentials).
        case notSent(reason: String)
    }

    /// Posts `spans` in batches; stops at the first batch that fails (a collector that did not
    /// answer in time will not answer the next batch either).
    package func export(_ spans: [Span]) async -> Result {
        let transport = URLSessionTransport(timeout: settings.timeout)
        defer { transport.shutdown() }
        var headers = settings.headers
        headers["Content-Type"] = OTLPEncoding.contentType(settings.format)
        var sent = 0
        for start in stride(from: 0, to: spans.count, by: max(1, batchSize)) {
            let batch = Array(spans[start..<min(start + max(1, batchSize), spans.count)])
            let body = OTLPEncoding.body(batch, resource: settings.resource, format: settings.format)
            do {
                let answer = try await transport.post(settings.endpoint, headers: headers, body: body)
                guard (200..<300).contains(answer.status) else {
                    return fail("the collector answered HTTP \(answer.status)", sent: sent, of: spans.count)
                }
                sent += batch.count
            } catch {
                return fail(TransportFailure.describe(error, timeout: settings.timeout), sent: sent, of: spans.count)
            }
        }
        logger.debug("exported \(sent) spans over OTLP/HTTP (\(settings.format.rawValue))")
        return .sent(spans: sent)
    }

    private func fail(_ reason: String, sent: Int, of total: Int) -> Result {
        logger.warning("traces not exported (\(total - sent) of \(total) spans): \(reason); the run is not affected")
        return .notSent(reason: reason)
    }
}
