import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles

/// A run's report as it was saved (`.tidemark/runs/<run-id>.json`, or a runner's own
/// `<run-id>-<runner>.json`): the `tidemark report` use case reads it back. Thread-safe (no state).
package enum SavedRun {
    /// The report of `runID` in `state`, or of the report file `runID` names (`out.json`). Without
    /// a report of its own, the run's runner reports kept here (`<run-id>-<runner>.json`, each
    /// runner's part of a shared run): the one there is, or the one of `runner` (a name or a
    /// runner id); several without `runner` is an input error listing them.
    package static func read(_ runID: String, runner: String? = nil, in state: StateDirectory = StateDirectory())
        throws(FleetError) -> RunReport
    {
        let isFile = runID.hasSuffix(".json") && FileManager.default.fileExists(atPath: runID)
        let own = isFile ? URL(fileURLWithPath: runID) : state.report(runID: runID)
        if isFile || (runner == nil && FileManager.default.fileExists(atPath: own.path)) {
            return try decode(own, runID: runID)
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.runs.path)) ?? []
        let found = names.filter { $0.hasPrefix("\(runID)-") && $0.hasSuffix(".json") }.sorted().compactMap {
            name -> (runner: String, url: URL, report: RunReport)? in
            let url = state.runs.appendingPathComponent(name)
            guard let report = try? decode(url, runID: runID), let id = report.runner, report.runID == runID else {
                return nil
            }
            return (id, url, report)
        }
        let chosen =
            runner.map { wanted in found.filter { $0.runner == wanted || $0.runner.hasPrefix(wanted + "/") } } ?? found
        if chosen.count == 1, let only = chosen.first { return only.report }
        if chosen.isEmpty && found.isEmpty { return try decode(own, runID: runID) }
        throw .runnerReports(runID: runID, asked: runner, found: found.map { ($0.runner, $0.url.path) })
    }

    private static func decode(_ url: URL, runID: String) throws(FleetError) -> RunReport {
        let data: Data
        do {
            data = try FileContents.data(at: url)
        } catch {
            throw .runReport(
                runID: runID, path: url.path,
                reason: FileManager.default.fileExists(atPath: url.path) ? "not readable" : "no such file")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601Milliseconds
        do {
            return try decoder.decode(RunReport.self, from: data)
        } catch {
            throw .runReport(runID: runID, path: url.path, reason: "not a tidemark.report/v1 document")
        }
    }
}
