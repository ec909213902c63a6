import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles

/// A run's report as it was saved (`.tidemark/runs/<run-id>.json`): the `tidemark report`
/// use case reads it back. Thread-safe (no state).
public enum SavedRun {
    /// The report of `runID` in `state`, or of the report file `runID` names (`out.json`).
    public static func read(_ runID: String, in state: StateDirectory = StateDirectory()) throws(FleetError) -> RunReport {
        let isFile = runID.hasSuffix(".json") && FileManager.default.fileExists(atPath: runID)
        let url = isFile ? URL(fileURLWithPath: runID) : state.report(runID: runID)
        let data: Data
        do {
            data = try FileContents.data(at: url)
        } catch {
            throw .runReport(runID: runID, path: url.path, reason: FileManager.default.fileExists(atPath: url.path) ? "not readable" : "no such file")
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
