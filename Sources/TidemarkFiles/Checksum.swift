import Foundation
import TidemarkCore

/// Script checksums as recorded in `tidemark_history`. Pure and thread-safe.
public enum Checksum {
    /// SHA-256 of `data` as lowercase hex, after normalising CRLF line endings to LF.
    ///
    /// A script checked out on Windows (CRLF) and on Linux (LF) is the same script, so both
    /// hash the same. A lone CR (not followed by LF) is kept.
    public static func sha256(of data: Data) -> String {
        var hasher = SHA256Hex.Hasher()
        var chunk: [UInt8] = []
        chunk.reserveCapacity(min(data.count, 64 * 1024))
        var pendingCR = false
        for byte in data {
            if pendingCR {
                if byte != 0x0A { chunk.append(0x0D) }
                pendingCR = false
            }
            if byte == 0x0D {
                pendingCR = true
            } else {
                chunk.append(byte)
            }
            if chunk.count >= 64 * 1024 {
                hasher.update(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if pendingCR { chunk.append(0x0D) }
        hasher.update(chunk)
        return hasher.finalize()
    }
}
