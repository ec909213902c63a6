import Logging
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles

/// `tidemark rehearse` as a use case: forward, undo and forward again for every version of a
/// plan on a scratch database, checking the schema each time, and the fingerprints recorded
/// when every version passes (or when asked). Thread-safe value.
package struct RehearseRun: Sendable {
    package var plan: Plan
    /// Where the scratch databases come from (a temporary SQLite file, a PostgreSQL server…).
    package var scratch: any ScratchDatabaseProvider
    /// `--from` and `--to`, as written; checked against the plan's versions.
    package var from: String?
    package var to: String?
    package var keepGoing: Bool
    /// Write `fingerprints.json` even when some versions fail.
    package var record: Bool
    package var logger: Logger

    package init(
        plan: Plan, scratch: any ScratchDatabaseProvider, from: String? = nil, to: String? = nil,
        keepGoing: Bool = false,
        record: Bool = false, logger: Logger
    ) {
        self.plan = plan
        self.scratch = scratch
        self.from = from
        self.to = to
        self.keepGoing = keepGoing
        self.record = record
        self.logger = logger
    }

    /// What a rehearsal found, and where its fingerprints were written (nil: not written).
    package struct Result: Sendable {
        package var report: RehearsalReport
        package var recordedPath: String?
    }

    /// Runs the rehearsal on one dedicated thread; `onResult` sees each version's verdict as it comes.
    package func run(onResult: @escaping @Sendable (RehearsalResult) -> Void) async throws(FleetError) -> Result {
        let rehearsal = Rehearsal(
            plan: plan, scratch: scratch, logger: logger, from: try version(from, "--from"),
            to: try version(to, "--to"),
            keepGoing: keepGoing)
        let pool = DispatchWorkers(count: 1, label: "tidemark-rehearse")
        let report: RehearsalReport
        do {
            report = try await pool.run { try rehearsal.run(progress: onResult) }
        } catch let failure as Rehearsal.ScratchFailure {
            throw .scratchDatabase(failure.message)
        } catch {
            throw .scratchDatabase("\(error)")
        }
        guard report.passed || record else { return Result(report: report, recordedPath: nil) }
        do {
            let path = try FingerprintFile.record(
                report.fingerprints, backend: report.backend, plan: plan.name, inPlan: plan.directory)
            return Result(report: report, recordedPath: path)
        } catch {
            throw .recordFingerprints("\(error)")
        }
    }

    private func version(_ text: String?, _ option: String) throws(FleetError) -> Version? {
        guard let text else { return nil }
        guard let version = Version(text, style: plan.versionStyle), plan.migration(version) != nil else {
            throw .rehearsalRange(option: option, text: text, plan: plan.name)
        }
        return version
    }
}
