import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What a receiver answered: its status and the one header Tidemark reads. Thread-safe value.
struct HTTPAnswer: Sendable {
    var status: Int
    /// `Retry-After` in seconds (a 429's or 503's request to wait), when given as seconds.
    var retryAfter: Duration?
}

/// Sends one POST. Implementations must be thread-safe: every sink's queue calls `post` from
/// its own task.
protocol HTTPTransport: Sendable {
    func post(_ url: URL, headers: [String: String], body: Data) async throws -> HTTPAnswer
    /// Cancels whatever is still in flight; no `post` is made afterwards.
    func shutdown()
}

/// HTTP through FoundationNetworking (libcurl on Linux) on a session of its own.
///
/// A dedicated session, not `URLSession.shared`: measured on Linux, a per-request
/// `timeoutInterval` on the shared session did not end a request to a receiver that stalled
/// (it hung for the receiver's full 10 s), while `timeoutIntervalForRequest` on a dedicated
/// configuration ended it on time. Thread-safe: URLSession is.
final class URLSessionTransport: HTTPTransport {
    private let session: URLSession

    init(timeout: Duration) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout.seconds
        // Also bound the whole exchange: a receiver that trickles bytes would reset the idle timeout.
        configuration.timeoutIntervalForResource = timeout.seconds
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        session = URLSession(configuration: configuration)
    }

    func post(_ url: URL, headers: [String: String], body: Data) async throws -> HTTPAnswer {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (_, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        return HTTPAnswer(status: http.statusCode, retryAfter: Self.retryAfter(http.value(forHTTPHeaderField: "Retry-After")))
    }

    func shutdown() {
        session.invalidateAndCancel()
    }

    /// `Retry-After: 120` as two minutes; an HTTP date is read too, relative to now.
    static func retryAfter(_ value: String?) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Int(value), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }
}

/// Why an attempt failed, in words that never include the URL (URLSession's own messages and
/// error user-info can carry it). Pure; thread-safe.
enum TransportFailure {
    static func describe(_ error: any Error, timeout: Duration) -> String {
        guard let urlError = error as? URLError else {
            if error is CancellationError { return "cancelled" }
            return "network error"
        }
        switch urlError.code {
        case .timedOut: return "no answer within \(SlackFormatter.seconds(timeout.seconds))"
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        case .networkConnectionLost: return "connection closed before an answer"
        case .notConnectedToInternet: return "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
            .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return "TLS handshake failed"
        case .badServerResponse: return "not an HTTP answer"
        case .cancelled: return "cancelled"
        default: return "network error \(urlError.code.rawValue)"
        }
    }
}
