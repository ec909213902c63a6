import Foundation
import TidemarkCore

/// One message for one sink: the exact body and the headers to send, except the signature,
/// which is computed at each send from the secret in the environment (so no secret-derived
/// value is ever stored, and a rotated secret signs re-sent outbox entries). Thread-safe value.
struct Delivery: Sendable {
    /// `X-Tidemark-Delivery`: the same on every retry and every outbox re-send, so a receiver
    /// that remembers the ids it has seen can drop duplicates.
    var id: String
    var sink: String
    var inventory: String
    /// `X-Tidemark-Event`.
    var event: String
    var body: Data
    var headers: [String: String]
    /// Added to the sink's URL for this message (Opsgenie's `/v2/alerts/<alias>/close?…`); nil:
    /// the sink's URL as it is.
    var path: String?
    var createdAt: Date
    /// Orders deliveries created in the same millisecond, in the outbox's file names.
    var sequence: Int
    /// Attempts so far, across runs.
    var attempts: Int = 0
    /// The outbox file this delivery was read from; deleted once it is delivered or refused.
    var outboxFile: URL?

    static let signatureHeader = "X-Tidemark-Signature"

    init(
        id: String = UUID().uuidString.lowercased(), sink: String, inventory: String, event: String, body: Data,
        path: String? = nil, createdAt: Date,
        sequence: Int
    ) {
        self.id = id
        self.path = path
        self.sink = sink
        self.inventory = inventory
        self.event = event
        self.body = body
        self.headers = [
            "Content-Type": "application/json",
            "User-Agent": "tidemark",
            "X-Tidemark-Event": event,
            "X-Tidemark-Delivery": id,
        ]
        self.createdAt = createdAt
        self.sequence = sequence
    }

    init(entry: OutboxEntry, file: URL) {
        self.id = entry.deliveryID
        self.sink = entry.sink
        self.inventory = entry.inventory
        self.event = entry.event
        self.body = Data(entry.body.utf8)
        self.path = entry.path
        // Whatever an older or edited file says, a stored signature is never trusted.
        self.headers = entry.headers.filter { $0.key.lowercased() != Self.signatureHeader.lowercased() }
        self.headers["X-Tidemark-Delivery"] = entry.deliveryID
        self.createdAt = entry.createdAt
        self.sequence = entry.sequence
        self.attempts = entry.attempts
        self.outboxFile = file
    }

    /// The headers for one send: the stored ones, plus `X-Tidemark-Signature: sha256=<hex>`
    /// (HMAC-SHA256 of the exact body bytes) when the sink has a secret.
    func headers(signedWith secret: Data?) -> [String: String] {
        var headers = headers
        if let secret { headers[Self.signatureHeader] = "sha256=" + Self.signature(of: body, secret: secret) }
        return headers
    }

    /// Lower-case hex HMAC-SHA256 of `body` under `secret`. Pure; thread-safe.
    static func signature(of body: Data, secret: Data) -> String {
        SHA256Hex.authenticationCode(for: body, key: secret)
    }
}
