import Foundation
import TidemarkCore

/// The JSON body a `webhook` sink receives (schema `tidemark.event/v1`,
/// docs/reference.md#tidemarkeventv1). Thread-safe value.
///
/// The specified keys (`schema, event, run_id, inventory, environment, target, from, to,
/// action, error, at`) are always present, `null` when they do not apply, so a receiver can
/// read them without checking; `reason`, `started_at`, `finished_at`, `counts` and
/// `environments` and `trace_id` (the run's OpenTelemetry trace) follow the same rule.
struct WebhookPayload: Encodable {
    static let schema = "tidemark.event/v1"

    var event: Event

    enum CodingKeys: String, CodingKey {
        case schema, event
        case runID = "run_id"
        case inventory, environment, target, from, to, action, error, at, reason
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case counts, environments
        case traceID = "trace_id"
        case progress
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schema, forKey: .schema)
        try container.encode(event.kind.rawValue, forKey: .event)
        try container.encode(event.runID, forKey: .runID)
        try container.encode(event.inventory, forKey: .inventory)
        // Explicit nulls: Encodable's default would leave absent keys out.
        try container.encode(event.environment, forKey: .environment)
        try container.encode(event.target, forKey: .target)
        try container.encode(event.fromVersion, forKey: .from)
        try container.encode(event.toVersion, forKey: .to)
        try container.encode(event.action?.rawValue, forKey: .action)
        try container.encode(event.error, forKey: .error)
        try container.encode(ISO8601Timestamp.string(from: event.at), forKey: .at)
        try container.encode(event.reason, forKey: .reason)
        try container.encode(event.startedAt.map(ISO8601Timestamp.string(from:)), forKey: .startedAt)
        try container.encode(event.finishedAt.map(ISO8601Timestamp.string(from:)), forKey: .finishedAt)
        try container.encode(event.counts, forKey: .counts)
        try container.encode(event.environmentCounts, forKey: .environments)
        try container.encode(event.traceID, forKey: .traceID)
        // Only `step.progress` carries it; other events keep their documented shape.
        try container.encodeIfPresent(event.progress.map(ProgressPayload.init), forKey: .progress)
    }

    /// The exact bytes sent and signed: compact JSON, sorted keys.
    func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// `progress` of a `step.progress` payload (docs/backfills.md#watching-a-backfill).
struct ProgressPayload: Encodable {
    var version: String
    var kind: String
    var table: String
    var rows: Int64
    var batches: Int
    var lastKey: Int64?
    var maxKey: Int64?
    var percent: Double?
    var rowsPerSecond: Double
    var etaSeconds: Double?

    init(_ progress: BackfillProgress) {
        version = progress.version
        kind = progress.kind.rawValue
        table = progress.table
        rows = progress.rows
        batches = progress.batches
        lastKey = progress.lastKey
        maxKey = progress.maxKey
        percent = progress.fraction.map { ($0 * 1000).rounded() / 10 }
        rowsPerSecond = progress.rowsPerSecond.rounded()
        etaSeconds = progress.remainingSeconds.map { $0.rounded(.up) }
    }

    enum CodingKeys: String, CodingKey {
        case version, kind, table, rows, batches
        case lastKey = "last_key"
        case maxKey = "max_key"
        case percent
        case rowsPerSecond = "rows_per_second"
        case etaSeconds = "eta_seconds"
    }
}
