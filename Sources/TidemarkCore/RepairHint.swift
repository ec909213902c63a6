/// The `tidemark repair` command line that every message about a dirty target shows, written so
/// it works when pasted into a shell from where the inventory path was given. Thread-safe (no state).
package enum RepairHint {
    /// `tidemark repair -i INVENTORY --target T`: diagnoses the target from its schema and
    /// says which `--auto` or `--mark-failed-step` run records the way out.
    package static func command(inventoryFile: String, target: String) -> String {
        "tidemark repair -i \(shellWord(inventoryFile)) --target \(shellWord(target))"
    }

    /// The sentence that follows a dirty step's error: what to run next.
    package static func sentence(inventoryFile: String, target: String) -> String {
        "diagnose it with `\(command(inventoryFile: inventoryFile, target: target))`, then record the way out with `--auto` (where the schema proves it) or `--mark-failed-step resolved` / `--mark-failed-step rolled-back`"
    }

    /// `tidemark rehearse -i INVENTORY --record`, or with `--plan DIR` when no inventory is known:
    /// records the fingerprints that repair's diagnosis and the drift gate compare with.
    package static func rehearseRecord(inventoryFile: String?, planDirectory: String) -> String {
        let source = inventoryFile.map { "-i \(shellWord($0))" } ?? "--plan \(shellWord(planDirectory))"
        return "tidemark rehearse \(source) --record"
    }

    /// `text` as one shell word: unchanged when it holds only safe characters, else single-quoted.
    package static func shellWord(_ text: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,")
        if !text.isEmpty && text.allSatisfy({ safe.contains($0) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
