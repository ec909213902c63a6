/// What one input may cost: the bounds every file Tidemark reads is held to, so a file nobody
/// meant (or somebody meant badly) ends in a clean error instead of hours or gigabytes.
/// docs/reference.md#limits explains each one and what it costs at the bound.
package enum InputLimits {
    /// Bytes of one migration script. Scanning costs up to ~160 bytes of memory per token, so a
    /// script of this size costs at most ~1.3 GB (one token per byte), ~0.5 GB for real SQL.
    package static let scriptBytes = 8 * 1024 * 1024
    /// Top-level statements in one script.
    package static let statementsPerScript = 100_000
    /// Bytes of an inventory.
    package static let inventoryBytes = 8 * 1024 * 1024
    /// Bytes of a plan's `plan.yaml` or a Diesel `metadata.toml`.
    package static let planSettingsBytes = 1024 * 1024
    /// Targets in one inventory (and values in one brace range), ranges expanded.
    package static let targets = 100_000
    /// Mappings and keys one inventory may bring in through YAML `<<` merges: an alias repeats
    /// its whole mapping, so merges of merges multiply.
    package static let mergedKeys = 10_000
    /// YAML nesting depth: libyaml's own limit, which Yams keeps.
    package static let yamlNesting = 1_000

    /// "8 MiB", "512 KiB", "100 bytes".
    static func size(_ bytes: Int) -> String {
        if bytes >= 1024 * 1024, bytes % (1024 * 1024) == 0 { return "\(bytes / (1024 * 1024)) MiB" }
        if bytes >= 1024, bytes % 1024 == 0 { return "\(bytes / 1024) KiB" }
        return "\(bytes) bytes"
    }
}
