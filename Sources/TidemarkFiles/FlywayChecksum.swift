import Foundation
import TidemarkCore

/// Flyway's checksum of a SQL migration, computed as Flyway computes it, so `tidemark adopt` can
/// tell whether the script in the plan is the one Flyway ran. Thread-safe (stateless).
///
/// Flyway's `ChecksumCalculator.calculateChecksumForResource`: read the script as lines
/// (`BufferedReader.readLine`, which ends a line at `\n`, `\r` or `\r\n` and drops the ending),
/// remove a byte order mark (U+FEFF) from the start of the first line (`BomFilter`), feed each
/// line's UTF-8 bytes to one CRC-32, with nothing between lines, and keep the value as a signed
/// 32-bit integer (`(int) crc32.getValue()`). Line endings therefore never change a checksum;
/// an empty line still separates nothing, so `a\n\nb` and `ab` share one.
package enum FlywayChecksum {
    /// The checksum Flyway records in `flyway_schema_history.checksum` for a script with these bytes.
    package static func of(_ bytes: Data) -> Int32 {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var crc = CRC32()
        var line: [UInt8] = []
        var previousWasCR = false
        for byte in text.utf8 {
            switch byte {
            case 0x0A where previousWasCR:
                previousWasCR = false
            case 0x0A, 0x0D:
                crc.update(line)
                line.removeAll(keepingCapacity: true)
                previousWasCR = byte == 0x0D
            default:
                line.append(byte)
                previousWasCR = false
            }
        }
        crc.update(line)
        return Int32(bitPattern: crc.value)
    }

    /// The checksum of the script file at `path`.
    package static func ofFile(atPath path: String) throws -> Int32 {
        of(try FileContents.data(atPath: path))
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as `java.util.zip.CRC32` and zlib
/// compute it. Not thread-safe (a local value).
struct CRC32 {
    private(set) var value: UInt32 = 0

    private static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var c = UInt32(index)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    mutating func update(_ bytes: [UInt8]) {
        var c = ~value
        for byte in bytes { c = Self.table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        value = ~c
    }
}
