import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small HTTP/1.1 server on 127.0.0.1 for notification tests: it records every request and
/// answers as scripted (500 then 200, 429 with `Retry-After`, never, or by hanging up), and
/// `stop()` takes it down so the port refuses connections.
///
/// Plain POSIX sockets, so the tests exercise the real client (URLSession over libcurl) with no
/// extra package. Thread-safe: state sits behind a `Mutex`; one thread accepts, one thread
/// serves each connection (keep-alive included).
package final class HTTPTestReceiver: Sendable {
    /// How to answer one request.
    package enum Reply: Sendable, Hashable {
        /// Answer with this status and headers (and a two-byte body).
        case status(Int, headers: [String: String] = [:])
        /// Answer with this status and a JSON body, as a service's API does.
        case json(Int, body: String)
        /// Read the request and never answer; the connection stays open until `stop()`.
        case stall
        /// Read the request and close the connection without answering.
        case hangUp
        /// Answer 200 with a body of `seconds` bytes sent one a second: a receiver that keeps
        /// a connection busy without ever going idle.
        case trickle(seconds: Int)
    }

    /// One request as received. Thread-safe value.
    package struct Request: Sendable {
        package var method: String
        package var path: String
        /// Header names lower-cased.
        package var headers: [String: String]
        package var body: Data
        package var receivedAt: Date
        /// How this request was answered.
        package var reply: Reply

        package func header(_ name: String) -> String? { headers[name.lowercased()] }
        package var bodyText: String { String(decoding: body, as: UTF8.self) }
        /// The body as a JSON object (nil when it is not one).
        package func jsonObject() -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        }
    }

    private struct State {
        var replies: [Reply]
        var otherwise: Reply
        var requests: [Request] = []
        var clients: Set<Int32> = []
        var stopped = false
    }

    package let port: Int
    private let listener: Int32
    private let state: Mutex<State>
    private let acceptorDone = DispatchSemaphore(value: 0)

    /// Listens on 127.0.0.1:`port` (0: any free port); answers with `replies` in order, then
    /// `otherwise` for every later request.
    package convenience init(port: Int = 0, replies: [Reply] = [], otherwise: Reply = .status(200)) throws {
        let bound = try Self.boundSocket(port: port)
        try self.init(listeningOn: bound, replies: replies, otherwise: otherwise)
    }

    /// Listens on the port `closed` has held since it was made (the same socket, so nothing
    /// else can have taken the port in between): the receiver that was down comes back up.
    package convenience init(reopening closed: ClosedPort, replies: [Reply] = [], otherwise: Reply = .status(200))
        throws
    {
        let socket = try closed.take()
        try self.init(listeningOn: (socket, closed.port), replies: replies, otherwise: otherwise)
    }

    private init(listeningOn bound: (socket: Int32, port: Int), replies: [Reply], otherwise: Reply) throws {
        guard listen(bound.socket, 64) == 0 else {
            let message = String(cString: strerror(errno))
            close(bound.socket)
            throw ReceiverError(description: "listen on 127.0.0.1:\(bound.port): \(message)")
        }
        self.listener = bound.socket
        self.port = bound.port
        self.state = Mutex(State(replies: replies, otherwise: otherwise))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "HTTPTestReceiver-accept"
        thread.start()
    }

    deinit {
        stop()
    }

    /// `http://127.0.0.1:PORT/PATH`.
    package func url(path: String = "/hook") -> String {
        "http://127.0.0.1:\(port)\(path.hasPrefix("/") ? path : "/" + path)"
    }

    /// Queues more scripted replies after those not yet used.
    package func script(_ replies: [Reply], otherwise: Reply? = nil) {
        state.withLock { state in
            state.replies += replies
            if let otherwise { state.otherwise = otherwise }
        }
    }

    /// Every request so far, in arrival order.
    package var requests: [Request] { state.withLock { $0.requests } }

    /// Waits (polling, generously bounded) until at least `count` requests have arrived.
    package func waitForRequests(_ count: Int, timeout: Duration = .seconds(30)) async -> [Request] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            let requests = self.requests
            if requests.count >= count { return requests }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return requests
    }

    /// Closes the port (new connections are refused) and every open connection. Idempotent.
    package func stop() {
        let clients: Set<Int32>? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.stopped = true
            return state.clients
        }
        guard let clients else { return }
        // shutdown() wakes a thread blocked in accept()/recv(); the owning thread closes the descriptor.
        _ = shutdown(listener, Int32(SHUT_RDWR))
        for client in clients { _ = shutdown(client, Int32(SHUT_RDWR)) }
        _ = acceptorDone.wait(timeout: .now() + 5)
    }

    /// A loopback port that refuses connections: a receiver that is down. The port stays bound
    /// (not listening) while the value lives, so no other socket takes it, neither another
    /// test's listener nor an outgoing connection's source port; `HTTPTestReceiver(reopening:)`
    /// brings a receiver up on it. (A port closed and reused later could be taken in between:
    /// that made a test fail with "Address already in use" under a loaded CI.)
    package final class ClosedPort: Sendable {
        package let port: Int
        private let socket: Mutex<Int32?>

        package init() throws {
            let bound = try HTTPTestReceiver.boundSocket(port: 0)
            self.port = bound.port
            self.socket = Mutex(bound.socket)
        }

        deinit {
            if let descriptor = socket.withLock({ $0 }) { close(descriptor) }
        }

        /// `http://127.0.0.1:PORT/PATH`.
        package func url(path: String = "/hook") -> String {
            "http://127.0.0.1:\(port)\(path.hasPrefix("/") ? path : "/" + path)"
        }

        fileprivate func take() throws -> Int32 {
            guard
                let descriptor = socket.withLock({ held -> Int32? in
                    defer { held = nil }
                    return held
                })
            else { throw ReceiverError(description: "port \(port) was already reopened") }
            return descriptor
        }
    }

    // MARK: - Sockets

    fileprivate struct ReceiverError: Error, CustomStringConvertible {
        var description: String
    }

    /// A TCP socket bound to 127.0.0.1:`port` (0: any free port), not yet listening.
    private static func boundSocket(port: Int) throws -> (socket: Int32, port: Int) {
        #if os(Linux)
            let socketType = Int32(SOCK_STREAM.rawValue)
        #else
            let socketType = SOCK_STREAM
        #endif
        let descriptor = socket(AF_INET, socketType, 0)
        guard descriptor >= 0 else { throw ReceiverError(description: "socket: \(String(cString: strerror(errno)))") }
        if port != 0 {
            // A port named again (a receiver restarted on it) may still hold TIME_WAIT connections.
            var yes: Int32 = 1
            _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let message = String(cString: strerror(errno))
            close(descriptor)
            throw ReceiverError(description: "bind 127.0.0.1:\(port): \(message)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return (descriptor, Int(UInt16(bigEndian: actual.sin_port)))
    }

    private func acceptLoop() {
        defer {
            close(listener)
            acceptorDone.signal()
        }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.clients.insert(client)
                return true
            }
            guard accepted else {
                close(client)
                return
            }
            let thread = Thread { [self] in serve(client) }
            thread.name = "HTTPTestReceiver-connection"
            thread.start()
        }
    }

    private func serve(_ client: Int32) {
        defer {
            state.withLock { _ = $0.clients.remove(client) }
            close(client)
        }
        var buffer = Data()
        while true {
            guard let request = readRequest(client, buffer: &buffer) else { return }
            let reply = state.withLock { state -> Reply in
                let reply = state.replies.isEmpty ? state.otherwise : state.replies.removeFirst()
                state.requests.append(
                    Request(
                        method: request.method, path: request.path, headers: request.headers, body: request.body,
                        receivedAt: Date(), reply: reply))
                return reply
            }
            switch reply {
            case .status, .json:
                var status = 200
                var headers: [String: String] = [:]
                var body = "ok"
                var contentType = "text/plain"
                if case .status(let code, let extra) = reply {
                    status = code
                    headers = extra
                    // 204 and 304 carry no body; everything else says "ok".
                    body = status == 204 || status == 304 ? "" : "ok"
                } else if case .json(let code, let text) = reply {
                    (status, body, contentType) = (code, text, "application/json")
                }
                var head =
                    "HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n"
                for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
                head += "\r\n" + body
                guard sendAll(client, Data(head.utf8)) else { return }
                if request.headers["connection"]?.lowercased() == "close" { return }
            case .stall:
                // Hold the connection without answering until the client gives up or stop() shuts it.
                var scratch = [UInt8](repeating: 0, count: 4096)
                while recv(client, &scratch, scratch.count, 0) > 0 {}
                return
            case .hangUp:
                return
            case .trickle(let seconds):
                guard
                    sendAll(
                        client,
                        Data("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(seconds)\r\n\r\n".utf8))
                else { return }
                for _ in 0..<seconds {
                    Thread.sleep(forTimeInterval: 1)
                    guard sendAll(client, Data("x".utf8)), !state.withLock({ $0.stopped }) else { return }
                }
            }
        }
    }

    private struct RawRequest {
        var method: String
        var path: String
        var headers: [String: String]
        var body: Data
    }

    /// Reads one request (headers, then a Content-Length or chunked body); nil when the peer
    /// closed or sent something that is not HTTP.
    private func readRequest(_ client: Int32, buffer: inout Data) -> RawRequest? {
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd = buffer.range(of: separator)
        while headerEnd == nil {
            guard receive(client, into: &buffer) else { return nil }
            headerEnd = buffer.range(of: separator)
        }
        guard let headerEnd else { return nil }
        let headText = String(decoding: buffer[buffer.startIndex..<headerEnd.lowerBound], as: UTF8.self)
        buffer = Data(buffer[headerEnd.upperBound...])
        var lines = headText.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        if headers["expect"]?.lowercased() == "100-continue" {
            guard sendAll(client, Data("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return nil }
        }
        var body = Data()
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let lineEnd = Data("\r\n".utf8)
                var sizeEnd = buffer.range(of: lineEnd)
                while sizeEnd == nil {
                    guard receive(client, into: &buffer) else { return nil }
                    sizeEnd = buffer.range(of: lineEnd)
                }
                guard let sizeEnd else { return nil }
                let sizeText = String(decoding: buffer[buffer.startIndex..<sizeEnd.lowerBound], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";").first.map(String.init) ?? "", radix: 16) else {
                    return nil
                }
                buffer = Data(buffer[sizeEnd.upperBound...])
                while buffer.count < size + 2 {
                    guard receive(client, into: &buffer) else { return nil }
                }
                body += buffer.prefix(size)
                buffer = Data(buffer.dropFirst(size + 2))
                if size == 0 { break }
            }
        } else {
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while buffer.count < length {
                guard receive(client, into: &buffer) else { return nil }
            }
            body = Data(buffer.prefix(length))
            buffer = Data(buffer.dropFirst(length))
        }
        return RawRequest(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
    }

    private func receive(_ client: Int32, into buffer: inout Data) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(client, &chunk, chunk.count, 0)
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
                return true
            }
            if count < 0 && errno == EINTR { continue }
            return false
        }
    }

    private func sendAll(_ client: Int32, _ data: Data) -> Bool {
        #if os(Linux)
            let flags = Int32(MSG_NOSIGNAL) // A client that hung up must not kill the test process with SIGPIPE.
        #else
            let flags: Int32 = 0
        #endif
        return data.withUnsafeBytes { buffer -> Bool in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let sent = send(client, base + offset, buffer.count - offset, flags)
                if sent < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += sent
            }
            return true
        }
    }

    private static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}
