import CCurl
import Dispatch
import Foundation
import TidemarkCore

/// Sends one message over SMTP through libcurl (docs/on-call.md#email). Stateless; thread-safe.
///
/// `curl_easy_perform` blocks its thread for the whole conversation, so every send runs on
/// this type's own serial `DispatchQueue` (which targets libdispatch's overcommitting root
/// queue), never on the Swift concurrency pool nor `DispatchQueue.global()`; the caller awaits
/// it through a continuation. The easy handle lives and dies inside one call on that queue.
enum SMTPMailer {
    /// One message to send. Thread-safe value.
    struct Message: Sendable {
        var url: URL
        var from: String
        var to: [String]
        var username: String?
        var password: String?
        /// The whole RFC 5322 message, CRLF line ends.
        var data: Data
        var timeout: Duration
    }

    private static let queue = DispatchQueue(label: "tidemark-smtp")

    /// Sends `message` and says how it went: delivered (the server's last reply code), refused
    /// (a permanent 5xx for the sender or recipients), or worth another try (connection,
    /// timeout, TLS, a refused login: the password may be fixed by the next run).
    static func send(_ message: Message) async -> (outcome: AttemptOutcome, answer: String?) {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: sendBlocking(message)) }
        }
    }

    /// Whether `host` is this machine: the one place SMTP `AUTH` may go without TLS.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }

    /// Carries the message to libcurl's read callback, which has no Swift context of its own.
    private final class Upload {
        let bytes: [UInt8]
        var offset = 0
        init(_ data: Data) { bytes = Array(data) }
    }

    private static func sendBlocking(_ message: Message) -> (AttemptOutcome, String?) {
        guard let handle = curl_easy_init() else {
            return (.retry(reason: "libcurl could not start a transfer", retryAfter: nil), nil)
        }
        defer { curl_easy_cleanup(handle) }
        var recipients: UnsafeMutablePointer<curl_slist>?
        for address in message.to { recipients = curl_slist_append(recipients, "<\(address)>") }
        defer { curl_slist_free_all(recipients) }
        let upload = Upload(message.data)
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let host = message.url.host ?? ""
        let secure = message.url.scheme?.lowercased() == "smtps"
        let loopback = isLoopback(host)
        let milliseconds = max(
            1,
            Int(
                message.timeout.components.seconds * 1000 + message.timeout.components.attoseconds
                    / 1_000_000_000_000_000))

        let code: CURLcode = withExtendedLifetime(upload) {
            errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
                tidemark_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
                tidemark_curl_set_string(handle, CURLOPT_URL, message.url.absoluteString)
                tidemark_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps")
                tidemark_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
                tidemark_curl_set_long(handle, CURLOPT_TIMEOUT_MS, milliseconds)
                tidemark_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds)
                tidemark_curl_set_string(handle, CURLOPT_MAIL_FROM, "<\(message.from)>")
                tidemark_curl_set_list(handle, CURLOPT_MAIL_RCPT, recipients)
                tidemark_curl_set_long(handle, CURLOPT_UPLOAD, 1)
                tidemark_curl_set_offset(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(message.data.count))
                tidemark_curl_set_read_function(handle) { buffer, size, count, context in
                    guard let buffer, let context else { return 0 }
                    let upload = Unmanaged<Upload>.fromOpaque(context).takeUnretainedValue()
                    let length = min(size * count, upload.bytes.count - upload.offset)
                    guard length > 0 else { return 0 }
                    upload.bytes.withUnsafeBufferPointer { bytes in
                        guard let base = bytes.baseAddress else { return }
                        UnsafeMutableRawPointer(buffer).copyMemory(from: base + upload.offset, byteCount: length)
                    }
                    upload.offset += length
                    return length
                }
                tidemark_curl_set_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(upload).toOpaque())
                if let username = message.username, let password = message.password {
                    tidemark_curl_set_string(handle, CURLOPT_USERNAME, username)
                    tidemark_curl_set_string(handle, CURLOPT_PASSWORD, password)
                    // A password crosses the network only inside TLS: smtps://, or STARTTLS that
                    // the server must offer. Only a server on this machine is spared.
                    if !secure && !loopback {
                        tidemark_curl_set_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
                    }
                } else if !secure && !loopback {
                    tidemark_curl_set_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
                }
                return curl_easy_perform(handle)
            }
        }
        let reply = tidemark_curl_response_code(handle)
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // The reply code is the status; libcurl keeps no reply text to quote.
        let answer: String? = nil
        switch code {
        case CURLE_OK:
            return (.delivered(status: Int(reply)), answer)
        case CURLE_LOGIN_DENIED:
            return (
                .retry(
                    reason: "the SMTP server refused the login (reply \(reply)); check username_env and password_env",
                    retryAfter: nil), answer
            )
        case CURLE_USE_SSL_FAILED:
            return (
                .retry(
                    reason:
                        "the SMTP server does not offer STARTTLS, and Tidemark sends a password only over TLS; use smtps:// or a server that offers STARTTLS",
                    retryAfter: nil), answer
            )
        case CURLE_SEND_FAIL_REWIND, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_COULDNT_CONNECT,
            CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_RESOLVE_HOST, CURLE_GOT_NOTHING:
            return (.retry(reason: Self.describe(code, detail: detail), retryAfter: nil), answer)
        default:
            // A permanent refusal (5xx for the sender or a recipient) is not retried.
            if (500..<600).contains(reply) { return (.refused(status: Int(reply)), answer) }
            return (.retry(reason: Self.describe(code, detail: detail), retryAfter: nil), answer)
        }
    }

    private static func describe(_ code: CURLcode, detail: String) -> String {
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        return "SMTP: \(text)"
    }
}
