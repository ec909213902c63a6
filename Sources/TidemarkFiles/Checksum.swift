import Foundation
import TidemarkCore

/// Script checksums as recorded in `tidemark_history`. Pure and thread-safe.
package enum Checksum {
    /// SHA-256 of `data` as lowercase hex, after normalising CRLF line endings to LF.
    ///
    /// A script checked out on Windows (CRLF) and on Linux (LF) is the same script, so both
    /// hash the same. A lone CR (not followed by LF) is kept.
    package static func sha256(of data: Data) -> String {
        sha256(of: data, leavingOutLines: [])
    }

    /// The checksum recorded for a script: `sha256(of:)` of its bytes without the lines in
    /// `acknowledgements` (1-based, each with its line break), the `-- tidemark:lock-ok` and
    /// `-- tidemark:data-loss-ok` lines. Acknowledging a risk in a script that some targets
    /// already ran therefore changes nothing for them; every other directive changes how the
    /// script runs and stays in. `wholeFile` is the older form (every byte), which history rows
    /// written before this rule hold; nil when it is the same.
    package static func script(_ data: Data, acknowledgements: Set<Int>) -> (checksum: String, wholeFile: String?) {
        let whole = sha256(of: data)
        guard !acknowledgements.isEmpty else { return (whole, nil) }
        return (sha256(of: data, leavingOutLines: acknowledgements), whole)
    }

    /// Lines end at LF (a CR before it belongs to the line break, as `TextLines` reads them).
    static func sha256(of data: Data, leavingOutLines skipped: Set<Int>) -> String {
        var hasher = SHA256Hex.Hasher()
        var chunk: [UInt8] = []
        chunk.reserveCapacity(min(data.count, 64 * 1024))
        var pendingCR = false
        var line = 1
        for byte in data {
            if !skipped.isEmpty {
                let skipping = skipped.contains(line)
                if byte == 0x0A { line += 1 }
                if skipping { continue }
            }
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
