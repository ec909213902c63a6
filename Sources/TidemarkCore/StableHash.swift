/// A 64-bit FNV-1a hash of text: the same value in every process, on every machine and in
/// every release, unlike Swift's per-process seeded `Hasher`. For keys other runs must compute
/// identically (PostgreSQL advisory lock keys, run lock file names); not for security.
/// Pure and thread-safe.
package enum StableHash {
    /// FNV-1a (64-bit) of `text`'s UTF-8 bytes.
    package static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
