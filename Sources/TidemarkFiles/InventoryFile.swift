import Foundation
import TidemarkCore

/// Reads inventory files (`inventories/<name>.yaml`). Stateless; thread-safe.
///
/// The YAML is composed into a node tree with positions and walked key by key, so unknown keys
/// and bad values are reported as `file:line:column: message`, all of them in one pass.
package enum InventoryFile {
    /// The most targets one inventory may hold, brace ranges expanded.
    package static let targetLimit = InputLimits.targets

    /// Reads and parses the inventory at `path`; a missing file is reported at line 0.
    package static func load(at path: String) throws(InventoryProblems) -> Inventory {
        func problem(_ message: String) -> InventoryProblems {
            InventoryProblems(errors: [InventoryError(location: SourceLocation(file: path), message: message)])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw problem("inventory not found")
        }
        guard !isDirectory.boolValue else {
            throw problem("this is a directory; pass the inventory file, e.g. inventories/demo.yaml")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= InputLimits.inventoryBytes else {
            throw problem(
                "the inventory is \(InputLimits.size(size)); Tidemark reads inventories up to \(InputLimits.size(InputLimits.inventoryBytes)): write many targets as one brace range, e.g. shard-{001..064}, or split the fleet"
            )
        }
        let data: Data
        do {
            data = try FileContents.data(atPath: path)
        } catch {
            throw problem("cannot read the inventory: \(FileReading.reason(for: error))")
        }
        let bytes = Array(data)
        if let offset = JSONTextPosition.firstInvalidUTF8(in: bytes) {
            throw InventoryProblems(errors: [
                InventoryError(
                    location: SourceLocation(file: path, byteOffset: offset, in: bytes),
                    message: "the inventory is not UTF-8 text here; save it as UTF-8.")
            ])
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw problem("the inventory is not UTF-8 text; save it as UTF-8")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return try parse(yaml: text, file: path)
    }

    /// Parses inventory YAML; `file` is the path used in messages and to resolve relative paths.
    ///
    /// `plan:` resolves against the file's directory and stays relative when `file` is relative;
    /// a relative `sqlite:PATH` becomes `sqlite:/absolute/path` (against the working directory
    /// when `file` itself is relative), so a backend opens the same file from anywhere.
    package static func parse(yaml: String, file: String) throws(InventoryProblems) -> Inventory {
        var parser = InventoryParser(file: file)
        let inventory = parser.inventory(from: yaml)
        guard let inventory, parser.errors.isEmpty else {
            throw InventoryProblems(errors: parser.sortedErrors)
        }
        return inventory
    }

    /// Why `schema` cannot name a PostgreSQL schema (a sentence ending a message), or nil: the
    /// rule listed targets follow, for discovered ones too.
    package static func schemaProblem(_ schema: String) -> String? {
        InventoryParser.schemaProblem(schema)
    }
}
