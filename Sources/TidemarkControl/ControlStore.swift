import Foundation
import Logging
import Synchronization
import TidemarkCore
import TidemarkPostgres

/// One runner's session with the control database
/// (docs/many-runners.md#one-run-across-runners-a-control-database): runs, claims under leases,
/// outcomes, events. Every method is one short statement or transaction and blocks: call it from an
/// executor-owned thread (a `DispatchWorkers` queue), never from the Swift concurrency pool.
///
/// Thread-safe: the libpq session is confined by a `Mutex`, so one statement runs at a time.
/// The database's clock (`now()`) decides every lease, never a runner's.
package final class ControlStore: Sendable {
    private let session: Mutex<PostgresSession>
    /// The shared plans of the run this session last read (`storedPlan`).
    let planCache = Mutex(PlanCache())
    /// Who the control database is in messages.
    package let name: String
    /// Its URL with any password redacted, for the commands Tidemark suggests (`tidemark approve … --control URL`).
    package let redactedURL: String

    /// Connects to `database` and creates or migrates `tidemark_control`. An unreachable
    /// database or a schema newer than this binary is an input problem: nothing has run yet.
    package init(
        database: ControlDatabase, appliedBy: String, logger: Logger,
        timeouts: Timeouts = Timeouts(connectTimeout: .seconds(10)),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ControlError) {
        let opened: PostgresSession
        do {
            opened = try PostgresSession(
                target: database.target, timeouts: timeouts, logger: logger, environment: environment)
        } catch {
            throw .unreachable(error)
        }
        try ControlSchema.migrate(opened, appliedBy: appliedBy)
        name = opened.name
        redactedURL = Redaction.redactConnectionString(database.url)
        session = Mutex(opened)
    }

    /// Runs `body` on the session; a failure is the control database lost (exit 1).
    @discardableResult
    func with<T: Sendable>(_ body: (PostgresSession) throws(BackendError) -> T) throws(ControlError) -> T {
        let result: Result<T, BackendError> = session.withLock { session in
            do throws(BackendError) { return .success(try body(session)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw .lost(error)
        }
    }

    /// Closes the session (a heartbeat or a test ends it early).
    package func close() {
        session.withLock { $0.close() }
    }

    /// Everything it encodes goes into `jsonb` columns, which keep keys in their own order: no
    /// `.sortedKeys` (sorting every object's keys was a tenth of the JSON a runner writes per target).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601Milliseconds
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601Milliseconds
        return decoder
    }()

    static func json(_ value: some Encodable) -> String {
        (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text else { return nil }
        return try? decoder.decode(type, from: Data(text.utf8))
    }

    /// `{"a","b"}`: a PostgreSQL text array literal, every element quoted.
    static func textArray(_ values: [String]) -> String { arrayLiteral(values.map(Optional.some)) }

    /// A PostgreSQL text array literal whose nil elements are `NULL`.
    static func optionalTextArray(_ values: [String?]) -> String { arrayLiteral(values) }

    /// Escapes byte by byte: a run stores 100,000 plans of a few kilobytes each through these
    /// literals, and Foundation's `replacingOccurrences` (twice per element) was most of the time
    /// a runner spent creating a run (docs/tenants.md#batched-claims).
    private static func arrayLiteral(_ values: [String?]) -> String {
        let quote = UInt8(ascii: "\"")
        let backslash = UInt8(ascii: "\\")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        bytes.append(UInt8(ascii: "{"))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let value else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(quote)
            for byte in value.utf8 {
                if byte == quote || byte == backslash { bytes.append(backslash) }
                bytes.append(byte)
            }
            bytes.append(quote)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `30000 milliseconds`: an interval parameter.
    static func interval(_ duration: Duration) -> String { "\(max(0, duration.milliseconds)) milliseconds" }
}
