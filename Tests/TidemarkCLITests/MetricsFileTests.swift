import Foundation
import Testing
import TidemarkTestSupport

/// `--metrics-file` read back by a real Prometheus text parser (PyPI `prometheus_client`,
/// installed by scripts/install-deps), every value checked against the run.
@Suite struct MetricsFileTests {
    /// One parsed sample: the metric line's name, labels and value.
    struct Sample: Decodable, Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Parses `path` with prometheus_client's parser and prints the samples as JSON.
    static let parser = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        families = list(text_string_to_metric_families(open(sys.argv[1]).read()))
        print(json.dumps({"types": {f.name: f.type for f in families},
                          "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for f in families for s in f.samples]}))
        """

    struct Parsed: Decodable {
        var types: [String: String]
        var samples: [Sample]

        func value(_ name: String, _ labels: [String: String]) -> Double? {
            samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?
                .value
        }
    }

    static func parse(_ path: URL) async throws -> Parsed {
        let result = try await ExternalTool.run("python3", ["-c", parser, path.path])
        try #require(
            result.status == 0,
            "prometheus_client could not parse \(path.path) (is it installed? scripts/install-deps --peers):\n\(result)"
        )
        return try JSONDecoder().decode(Parsed.self, from: Data(result.standardOutput.utf8))
    }

    @Test func applyMetricsParseAndMatchTheRunThenStatusKeepsThem() async throws {
        let root = try await GroupedOutputTests.fleet()
        defer { try? FileManager.default.removeItem(at: root) }
        let metrics = root.appendingPathComponent("textfile/tidemark.prom")
        let started = Date().timeIntervalSince1970
        let apply = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--yes", "--metrics-file", metrics.path], in: root)
        #expect(apply.status == 3, "\(apply)")
        #expect(apply.standardOutput.contains("metrics: \(metrics.path)"))

        let parsed = try await Self.parse(metrics)
        #expect(parsed.types["tidemark_step_duration_seconds"] == "histogram")
        #expect(parsed.types["tidemark_run_targets"] == "gauge")
        let fleet = ["inventory": "fleet"]
        #expect(parsed.value("tidemark_run_targets", ["environment": "dev", "outcome": "succeeded"]) == 2)
        #expect(parsed.value("tidemark_run_targets", ["environment": "prod", "outcome": "succeeded"]) == 39)
        #expect(parsed.value("tidemark_run_targets", ["environment": "prod", "outcome": "blocked"]) == 1)
        #expect(parsed.value("tidemark_run_targets", ["environment": "prod", "outcome": "failed"]) == 0)
        #expect(parsed.value("tidemark_targets_blocked", fleet) == 1)
        #expect(parsed.value("tidemark_targets_dirty", fleet) == 0)
        #expect(parsed.value("tidemark_targets_not_converged", fleet) == 1)
        #expect(parsed.value("tidemark_target_version", ["target": "shard-11"]) == 4)
        #expect(parsed.value("tidemark_target_version", ["target": "dev-2"]) == 4)
        #expect(parsed.value("tidemark_target_version", ["target": "shard-40"]) == 9)
        let finished = try #require(parsed.value("tidemark_run_last_finished_timestamp_seconds", ["result": "blocked"]))
        #expect(finished >= started && finished <= Date().timeIntervalSince1970)
        let duration = try #require(parsed.value("tidemark_run_duration_seconds", fleet))
        #expect(duration > 0 && duration < 120)
        // 2 dev and 29 prod targets ran versions 1-4, shard-{11..20} ran 3-4: 144 forward steps.
        #expect(parsed.value("tidemark_step_duration_seconds_count", ["kind": "forward"]) == 144)
        #expect(parsed.value("tidemark_step_duration_seconds_bucket", ["kind": "forward", "le": "+Inf"]) == 144)

        // Status rewrites the version gauges and keeps the run's families in the same file.
        let status = try await CommandRunner.run(
            ["status", "-i", "inventories/fleet.yaml", "--metrics-file", metrics.path], in: root)
        #expect(status.status == 0, "\(status)")
        let after = try await Self.parse(metrics)
        #expect(after.value("tidemark_target_version", ["target": "shard-27"]) == 4)
        #expect(after.value("tidemark_run_targets", ["environment": "prod", "outcome": "succeeded"]) == 39)
        #expect(after.value("tidemark_run_last_finished_timestamp_seconds", ["result": "blocked"]) == finished)
        #expect(after.value("tidemark_targets_not_converged", fleet) == 1)

        // The next run that succeeds adds its own result; the blocked run's time stays for alerts.
        let again = try await CommandRunner.run(
            ["apply", "-i", "inventories/fleet.yaml", "--yes", "--env", "dev", "--metrics-file", metrics.path], in: root
        )
        #expect(again.status == 0, "\(again)")
        let third = try await Self.parse(metrics)
        #expect(third.value("tidemark_run_last_finished_timestamp_seconds", ["result": "blocked"]) == finished)
        #expect(
            try #require(third.value("tidemark_run_last_finished_timestamp_seconds", ["result": "succeeded"]))
                >= finished)
        #expect(third.value("tidemark_run_targets", ["environment": "dev", "outcome": "unchanged"]) == 2)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: metrics.deletingLastPathComponent().path)
        #expect(leftovers == ["tidemark.prom"], "no temporary file is left beside the metrics")
    }
}
