import Foundation
import Logging
import TidemarkCore

extension PostgresBackend: BatchHistoryReading {
    /// Targets with the same connection settings (everything but the schema) read together.
    package func historyGroup(of target: Target, timeouts: Timeouts) -> String? {
        guard target.backendKind == .postgres else { return nil }
        let parameters = ConnectParameters(
            target: target, timeouts: timeouts, environment: ProcessInfo.processInfo.environment)
        guard parameters.problem == nil else { return nil }
        return parameters.pairs.map { "\($0.keyword)=\($0.value)" }.joined(separator: "\u{0}")
    }

    /// Reads the history of every target in `targets` (one group: same settings, different
    /// schemas) on one read-only session, in two round trips per `chunk` schemas.
    package func readHistories(of targets: [Target], timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> [String: Result<[HistoryEntry], BackendError>]
    {
        guard let first = targets.first else { return [:] }
        let connection = try PostgresConnection(
            target: first, access: .readOnly, timeouts: timeouts, logger: logger,
            environment: ProcessInfo.processInfo.environment,
            pool: timeouts.sessionsPerServer == nil ? nil : pool)
        defer { connection.close() }
        var results: [String: Result<[HistoryEntry], BackendError>] = [:]
        for chunk in stride(from: 0, to: targets.count, by: Self.historyChunk).map({
            targets[$0..<min($0 + Self.historyChunk, targets.count)]
        }) {
            let schemas = chunk.map { $0.schema ?? "public" }
            let bySchema = try connection.readHistories(ofSchemas: schemas, names: chunk.map(\.name))
            for target in chunk {
                results[target.name] = bySchema[target.schema ?? "public"] ?? .success([])
            }
        }
        return results
    }

    /// Schemas per `UNION ALL`: a query of a few hundred kilobytes at most.
    static let historyChunk = 250
}

extension PostgresConnection {
    /// The history of each of `schemas` on this session's database, in two round trips (which
    /// have a history table, and of which shape; then every row of them in one `UNION ALL`),
    /// instead of a session and four round trips per schema
    /// (docs/tenants.md#shared-sessions-per-server). A schema without the table reads as empty;
    /// a row that cannot be read fails only its schema. `names`: the targets, for messages.
    func readHistories(ofSchemas schemas: [String], names: [String]) throws(BackendError) -> [String: Result<
        [HistoryEntry], BackendError
    >] {
        let pg = try open()
        var results: [String: Result<[HistoryEntry], BackendError>] = [:]
        for schema in schemas { results[schema] = .success([]) }
        let shapes: [PGRow]
        do {
            shapes = try pg.query(
                """
                SELECT s.name, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'attempt' AND NOT a.attisdropped),
                    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'batch_last_key' AND NOT a.attisdropped)
                FROM unnest($1::text[]) AS s(name)
                JOIN pg_namespace n ON n.nspname = s.name
                JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'tidemark_history' AND c.relkind IN ('r', 'p')
                """, [Self.textArray(schemas)])
        } catch {
            throw failure("cannot look for the history tables of \(schemas.count) schemas", error)
        }
        guard !shapes.isEmpty else { return results }
        var schemaAt: [Int: String] = [:]
        var selects: [String] = []
        for (position, row) in shapes.enumerated() {
            guard let schema = row.first ?? nil else { continue }
            schemaAt[position] = schema
            // The table's shape: version 2 (batch columns), version 1, or before `attempt`.
            let hasAttempt = row.count > 1 && row[1] == "t"
            let hasBatch = row.count > 2 && row[2] == "t"
            var columns = hasBatch ? Self.columns : Self.columnsOfVersion1
            if !hasAttempt { columns = columns.replacingOccurrences(of: ", attempt,", with: ", 1,") }
            selects.append("SELECT \(position) AS tm_schema, \(columns) FROM \(PostgresSQL.historyTable(in: schema))")
        }
        let rows: [PGRow]
        do {
            rows = try pg.query(selects.joined(separator: "\nUNION ALL ") + "\nORDER BY 1, 2")
        } catch {
            throw failure("cannot read the history tables of \(shapes.count) schemas", error)
        }
        let nameOf = Dictionary(zip(schemas, names), uniquingKeysWith: { first, _ in first })
        var entries: [String: [HistoryEntry]] = [:]
        var broken: [String: BackendError] = [:]
        for row in rows {
            guard let position = row.first.flatMap({ $0 }).flatMap({ Int($0) }), let schema = schemaAt[position],
                broken[schema] == nil
            else { continue }
            do {
                let entry = try Self.entry(
                    from: row.dropFirst(), target: nameOf[schema] ?? schema,
                    historyTable: PostgresSQL.historyTable(in: schema))
                entries[schema, default: []].append(entry)
            } catch {
                broken[schema] = error
            }
        }
        for (schema, list) in entries { results[schema] = .success(list) }
        for (schema, error) in broken { results[schema] = .failure(error) }
        return results
    }

    /// A PostgreSQL array literal of `values` (`{"a","b"}`), each quoted, `"` and `\` escaped.
    static func textArray(_ values: [String]) -> String {
        "{"
            + values.map {
                "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            }.joined(separator: ",") + "}"
    }
}
