import Foundation

/// Writes a metrics document for node_exporter's textfile collector: atomically (a temporary
/// file in the same folder, then `rename`), readable by every user (the exporter runs as its
/// own user). Thread-safe (no state).
///
/// `apply` and `status` may share one file: families the new document does not have (a
/// status leaves the run families alone) are kept from the file as it was, for the same
/// inventory; and `tidemark_run_last_finished_timestamp_seconds` keeps the other results'
/// times, so "no successful run in 24 h" stays answerable after a failed run.
package enum MetricsFile {
    package static func write(_ document: MetricsDocument, inventory: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        var document = document
        if let previous = try? String(contentsOf: url, encoding: .utf8) {
            document = merged(document, previous: previous, inventory: inventory)
        }
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The textfile collector reads only `*.prom`: the temporary name is never read half-written.
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        try Data(document.render().utf8).write(to: temporary)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: temporary.path)
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(
                .fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot rename into \(path): \(reason)"])
        }
    }

    /// `document` plus what `previous` holds that it does not: families it lacks and, for the
    /// last-finished family, samples of other results, each only for `inventory`.
    static func merged(_ document: MetricsDocument, previous: String, inventory: String) -> MetricsDocument {
        var document = document
        let produced = Set(document.families.map(\.name))
        let mine = "inventory=\"\(MetricsDocument.escapeLabel(inventory))\""
        var family: String?
        var kept: [String: [String]] = [:]
        var order: [String] = []
        for line in previous.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let name = line.dropFirst(7).split(separator: " ").first.map(String.init)
                if let name, name != family {
                    family = name
                    if kept[name] == nil { order.append(name) }
                    kept[name, default: []].append(line)
                } else if let name {
                    kept[name, default: []].append(line)
                }
                continue
            }
            guard let family, line.contains(mine) else { continue }
            kept[family, default: []].append(line)
        }
        if let index = document.families.firstIndex(where: { $0.name == RunMetrics.lastFinishedName }),
            let earlier = kept[RunMetrics.lastFinishedName]
        {
            let now = Set(
                document.families[index].samples.flatMap { $0.labels.filter { $0.name == "result" }.map(\.value) })
            for line in earlier where !line.hasPrefix("#") {
                guard let result = label("result", in: line), !now.contains(result),
                    let value = line.split(separator: " ").last.flatMap({ Double($0) })
                else { continue }
                document.families[index].samples.append(
                    .init(labels: [.init("inventory", inventory), .init("result", result)], value: value))
            }
        }
        for name in order where !produced.contains(name) {
            let lines = kept[name] ?? []
            // A family with no sample of this inventory left is dropped whole.
            if lines.contains(where: { !$0.hasPrefix("#") }) { document.keptLines += lines }
        }
        return document
    }

    private static func label(_ name: String, in line: String) -> String? {
        guard let start = line.range(of: "\(name)=\"") else { return nil }
        let rest = line[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}
