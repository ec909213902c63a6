import Crypto
import Foundation

/// SHA-256 digests and HMAC-SHA256 codes as lowercase hex, computed by swift-crypto: the one
/// hashing helper behind script checksums, schema fingerprints and webhook signatures.
/// Pure and thread-safe.
package enum SHA256Hex {
    /// The digest of `text`'s UTF-8 bytes.
    package static func digest(_ text: String) -> String {
        digest(Data(text.utf8))
    }

    /// The digest of `bytes`.
    package static func digest(_ bytes: some DataProtocol) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// HMAC-SHA256 of `message` under `key`: what `X-Tidemark-Signature: sha256=<hex>` carries.
    package static func authenticationCode(for message: some DataProtocol, key: some ContiguousBytes) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// A digest fed in parts, for input read in chunks. Not thread-safe (a local value).
    package struct Hasher {
        private var state = SHA256()

        package init() {}

        package mutating func update(_ bytes: some DataProtocol) {
            state.update(data: bytes)
        }

        /// The digest of everything fed so far.
        package func finalize() -> String {
            hex(state.finalize())
        }
    }

    /// Lowercase hex, two digits per byte.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
