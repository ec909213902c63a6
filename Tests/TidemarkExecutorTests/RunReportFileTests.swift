import Foundation
import Testing
import TidemarkCore
import TidemarkExecutor

/// `RunReport.write` encodes targets one at a time: the file must hold exactly what one
/// `JSONEncoder` pass over the whole report writes, and read back equal.
@Suite struct RunReportFileTests {
    static func report(targets: [TargetOutcome]) -> RunReport {
        var report = RunReport(
            runID: "r1", inventory: "fleet \"eu\"/1", plan: "app", desiredVersion: "2", strategy: .auto,
            appliedBy: "ops@host", dryRun: false,
            startedAt: Date(timeIntervalSince1970: 9), finishedAt: Date(timeIntervalSince1970: 12.25), targets: targets)
        report.traceID = "0af7651916cd43dd8448eb211c80319c"
        return report
    }

    static var outcomes: [TargetOutcome] {
        var failed = TargetOutcome(
            target: "prod-1", environment: "prod", action: .forward, outcome: .failed,
            reason: "applies 1…2 (2).\nsecond line", fromVersion: nil,
            toVersion: nil,
            steps: [
                StepResult(
                    version: "1", kind: .forward, script: "V1__a.sql", success: true, executionMS: 3,
                    startedAt: Date(timeIntervalSince1970: 10)),
                StepResult(
                    version: "2", kind: .forward, script: "V2__b.sql", success: false, executionMS: 40,
                    error: "boom: \"quoted\" \\ slash/",
                    attempts: 2, lockTimeouts: ["lock timeout"]),
            ],
            error: "boom", startedAt: Date(timeIntervalSince1970: 10), finishedAt: Date(timeIntervalSince1970: 11.5))
        failed.restoreOnlySteps = []
        let unchanged = TargetOutcome(
            target: "dev-1", environment: "dev", action: .none, outcome: .unchanged, reason: "already at 2.",
            fromVersion: "2", toVersion: "2")
        return [unchanged, failed, unchanged]
    }

    func written(_ report: RunReport) throws -> (file: Data, expected: Data) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tidemark-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("runs/r1.json")
        try report.write(to: url)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601Milliseconds
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path) == ["r1.json"])
        return (try Data(contentsOf: url), try encoder.encode(report))
    }

    @Test func writesWhatOneEncoderPassWrites() throws {
        let (file, expected) = try written(Self.report(targets: Self.outcomes))
        #expect(String(decoding: file, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601Milliseconds
        #expect(try decoder.decode(RunReport.self, from: file).targets == Self.outcomes)
    }

    @Test func writesAReportWithoutTargets() throws {
        let (file, expected) = try written(Self.report(targets: []))
        #expect(file == expected)
    }
}
