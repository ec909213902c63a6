import Foundation
import Synchronization
import TidemarkCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What a receiver answered: its status and the headers Tidemark reads. Thread-safe value.
package struct HTTPAnswer: Sendable {
    package var status: Int
    /// `Retry-After` in seconds (a 429's or 503's request to wait), when given as seconds.
    package var retryAfter: Duration?
    /// A 3xx's `Location`, reduced to its origin (`https://host:port`): the path of a webhook
    /// URL can be its secret (Slack's is), so nothing past the origin is kept.
    package var redirectOrigin: String?
    /// The service's own words, from the start of the body: a JSON answer's `message` or
    /// `result` (PagerDuty's `Event processed`, Opsgenie's `Request will be processed`), else
    /// its first line; printable characters only, at most 200.
    package var message: String?

    package init(status: Int, retryAfter: Duration? = nil, redirectOrigin: String? = nil, message: String? = nil) {
        self.status = status
        self.retryAfter = retryAfter
        self.redirectOrigin = redirectOrigin
        self.message = message
    }

    /// `message` from the first bytes of a body.
    static func message(from body: Data) -> String? {
        guard !body.isEmpty else { return nil }
        var text: String?
        if let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] {
            text = (object["message"] as? String) ?? (object["result"] as? String) ?? (object["status"] as? String)
        }
        if text == nil {
            text = String(decoding: body, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init)
        }
        guard let text else { return nil }
        let printable = String(
            text.unicodeScalars.filter {
                !$0.properties.isNoncharacterCodePoint && !CharacterSet.controlCharacters.contains($0)
            }
        )
        .trimmingCharacters(in: .whitespaces)
        guard !printable.isEmpty else { return nil }
        return printable.count <= 200 ? printable : String(printable.prefix(199)) + "…"
    }

    /// `scheme://host[:port]` of `location` (absolute, or relative to `base`); nil when it names none.
    static func origin(of location: String?, relativeTo base: URL?) -> String? {
        guard let location, let url = URL(string: location, relativeTo: base)?.absoluteURL,
            let scheme = url.scheme, let host = url.host, !host.isEmpty
        else { return nil }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }
}

/// Sends one POST. Implementations must be thread-safe: every sink's queue calls `post` from
/// its own task. Also used by trace export (TidemarkObserve).
package protocol HTTPTransport: Sendable {
    func post(_ url: URL, headers: [String: String], body: Data) async throws -> HTTPAnswer
    /// Cancels whatever is still in flight; no `post` is made afterwards.
    func shutdown()
}

/// HTTP through FoundationNetworking (libcurl on Linux) on a session of its own, with a hard
/// deadline per request, never following a redirect.
///
/// Redirects: a receiver that answers 3xx could send the event, and its signature, to another
/// host, and FoundationNetworking follows redirects for tasks made with a completion handler
/// without asking any delegate (seen here: a 307 was re-sent with an empty body and the
/// `X-Tidemark-Signature` header, and reported delivered). So every task is driven by the
/// session's delegate, which refuses each redirect: the 3xx itself is the answer.
///
/// A dedicated session, not `URLSession.shared`, with `timeoutIntervalForRequest` set: the
/// issue measured a per-request `timeoutInterval` on the shared session not ending a stalled
/// request. Measured here (Swift 6.3.1, Linux): both end a receiver that never answers at the
/// timeout, but neither that nor `timeoutIntervalForResource` ends a receiver that trickles one
/// byte a second (10 s for a 2 s timeout), so each request also has its own deadline that
/// cancels the task. Thread-safe: URLSession is, and each request's state sits behind a `Mutex`.
package final class URLSessionTransport: HTTPTransport {
    private let session: URLSession
    private let delegate = NoRedirects()
    private let timeout: Duration

    package init(timeout: Duration) {
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        // Rounded up to whole seconds: measured here, FoundationNetworking drops the fraction,
        // so 0.7 s timed out at once and 1.5 s after one second. The request's own deadline
        // below keeps the exact value.
        configuration.timeoutIntervalForRequest = max(1, timeout.seconds.rounded(.up))
        configuration.timeoutIntervalForResource = max(1, timeout.seconds.rounded(.up))
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
    }

    package func post(_ url: URL, headers: [String: String], body: Data) async throws -> HTTPAnswer {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let state = RequestState()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPAnswer, any Error>) in
                let task = session.dataTask(with: request)
                delegate.register(task) { response, body, error in
                    // The delegate calls this exactly once, also after cancel().
                    if let error {
                        let timedOut = state.timedOut && (error as? URLError)?.code == .cancelled
                        continuation.resume(throwing: timedOut ? URLError(.timedOut) : error)
                    } else if let http = response as? HTTPURLResponse {
                        let redirect =
                            (300..<400).contains(http.statusCode) ? http.value(forHTTPHeaderField: "Location") : nil
                        continuation.resume(
                            returning: HTTPAnswer(
                                status: http.statusCode,
                                retryAfter: Self.retryAfter(http.value(forHTTPHeaderField: "Retry-After")),
                                redirectOrigin: HTTPAnswer.origin(of: redirect, relativeTo: url),
                                message: HTTPAnswer.message(from: body)))
                    } else {
                        continuation.resume(throwing: URLError(.badServerResponse))
                    }
                }
                state.start(task)
                let deadline = DispatchTime.now() + .milliseconds(Int(timeout.milliseconds))
                DispatchQueue.global().asyncAfter(deadline: deadline) { state.expire() }
            }
        } onCancel: {
            state.cancel()
        }
    }

    package func shutdown() {
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

/// The session's delegate: refuses every redirect and hands each task's end to the closure its
/// `post` registered. Thread-safe: the closures sit behind a `Mutex`.
private final class NoRedirects: NSObject, URLSessionDataDelegate, Sendable {
    typealias Completion = @Sendable (URLResponse?, Data, (any Error)?) -> Void
    private let completions = Mutex<[Int: Completion]>([:])
    /// The first bytes of each task's answer (enough for the service's message; the rest is dropped).
    private let bodies = Mutex<[Int: Data]>([:])
    private static let bodyLimit = 4096

    func register(_ task: URLSessionTask, completion: @escaping Completion) {
        completions.withLock { $0[task.taskIdentifier] = completion }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest,
        completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        bodies.withLock { bodies in
            let kept = bodies[dataTask.taskIdentifier] ?? Data()
            guard kept.count < Self.bodyLimit else { return }
            bodies[dataTask.taskIdentifier] = kept + data.prefix(Self.bodyLimit - kept.count)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let completion = completions.withLock { $0.removeValue(forKey: task.taskIdentifier) }
        let body = bodies.withLock { $0.removeValue(forKey: task.taskIdentifier) } ?? Data()
        completion?(task.response, body, error)
    }
}

/// One request's task and whether its deadline passed. Thread-safe: a `Mutex`.
private final class RequestState: Sendable {
    private struct Fields {
        var task: URLSessionDataTask?
        var timedOut = false
        var cancelled = false
    }
    private let fields = Mutex(Fields())

    var timedOut: Bool { fields.withLock { $0.timedOut } }

    /// Starts `task`, unless the Swift task was cancelled before it existed.
    func start(_ task: URLSessionDataTask) {
        let cancelled = fields.withLock { fields in
            fields.task = task
            return fields.cancelled
        }
        task.resume()
        if cancelled { task.cancel() }
    }

    /// The deadline passed: cancel the request if it is still running, and say it timed out.
    func expire() {
        let task = fields.withLock { fields -> URLSessionDataTask? in
            guard let task = fields.task, task.state == .running else { return nil }
            fields.timedOut = true
            return task
        }
        task?.cancel()
    }

    func cancel() {
        let task = fields.withLock { fields -> URLSessionDataTask? in
            fields.cancelled = true
            return fields.task
        }
        task?.cancel()
    }
}

/// Why an attempt failed, in words that never include the URL (URLSession's own messages and
/// error user-info can carry it). Pure; thread-safe.
package enum TransportFailure {
    package static func describe(_ error: any Error, timeout: Duration) -> String {
        guard let urlError = error as? URLError else {
            if error is CancellationError { return "cancelled" }
            return "network error"
        }
        switch urlError.code {
        case .timedOut: return "no answer within \(DurationText.seconds(timeout.seconds))"
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        case .networkConnectionLost: return "connection closed before an answer"
        case .notConnectedToInternet: return "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid,
            .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return "TLS handshake failed"
        case .badServerResponse: return "not an HTTP answer"
        case .cancelled: return "cancelled"
        default: return "network error \(urlError.code.rawValue)"
        }
    }
}
