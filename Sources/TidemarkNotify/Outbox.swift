import Foundation
import TidemarkCore
import TidemarkFiles

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One undelivered message as stored in `.tidemark/outbox/`: everything needed to send it
/// again except the URL and the signature, which come from the environment at send time.
/// Thread-safe value.
struct OutboxEntry: Codable, Sendable {
    var schema = OutboxEntry.schemaName
    var deliveryID: String
    var sink: String
    var inventory: String
    var event: String
    var createdAt: Date
    var sequence: Int
    var attempts: Int
    /// Why the last attempt failed (never holds the URL).
    var lastError: String?
    var headers: [String: String]
    /// The exact JSON body, as text, so the file is readable and the bytes are re-sent as signed.
    /// A PagerDuty body is kept without its `routing_key`, added again at send time.
    var body: String
    /// The path added to the sink's URL (Opsgenie's close request); nil: none.
    var path: String?

    static let schemaName = "tidemark.outbox/v1"

    enum CodingKeys: String, CodingKey {
        case schema
        case deliveryID = "delivery_id"
        case sink, inventory, event
        case createdAt = "created_at"
        case sequence, attempts
        case lastError = "last_error"
        case headers, body, path
    }
}

/// The folder of undelivered messages, one JSON file per delivery (mode 0600, in a 0700
/// folder: bodies may name targets and errors). Thread-safe: each call works on its own files;
/// two runs reading one outbox at once may both send an entry, which the delivery id lets a
/// receiver drop.
struct Outbox: Sendable {
    var directory: URL

    /// The deliveries waiting for `inventory`, oldest first, and a sentence for each file that
    /// could not be read (left in place for a human to look at).
    func load(inventory: String) -> (deliveries: [Delivery], problems: [String]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            return ([], []) // No outbox yet: nothing is waiting.
        }
        var deliveries: [Delivery] = []
        var problems: [String] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            let file = directory.appendingPathComponent(name)
            let data: Data
            do {
                data = try FileContents.data(at: file)
            } catch {
                problems.append("\(file.path): cannot read: \(error.localizedDescription); left in place.")
                continue
            }
            do {
                let entry = try OutboxFile.entry(from: data, file: file.path)
                if entry.inventory == inventory { deliveries.append(Delivery(entry: entry, file: file)) }
            } catch {
                problems.append("\(error); left in place.")
            }
        }
        return (deliveries, problems)
    }

    /// Writes `delivery` as one file, created 0600 (never briefly readable by others), moved
    /// into place whole so a reader never sees half a file. Returns the file.
    @discardableResult
    func write(_ delivery: Delivery, lastError: String?) throws -> URL {
        try createDirectory()
        let entry = OutboxEntry(
            deliveryID: delivery.id, sink: delivery.sink, inventory: delivery.inventory, event: delivery.event,
            createdAt: delivery.createdAt, sequence: delivery.sequence, attempts: delivery.attempts,
            lastError: lastError,
            headers: delivery.headers.filter { $0.key.lowercased() != Delivery.signatureHeader.lowercased() },
            body: String(decoding: delivery.body, as: UTF8.self), path: delivery.path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601Milliseconds
        let data = try encoder.encode(entry)
        let file = delivery.outboxFile ?? directory.appendingPathComponent(Self.fileName(for: delivery))
        let temporary = directory.appendingPathComponent(".\(delivery.id).tmp")
        try Self.writePrivately(data, to: temporary)
        guard rename(temporary.path, file.path) == 0 else {
            let code = errno
            unlink(temporary.path)
            throw OutboxWriteError(path: file.path, reason: String(cString: strerror(code)))
        }
        return file
    }

    func remove(_ file: URL) {
        try? FileManager.default.removeItem(at: file)
    }

    /// `20261124T230512345Z-000003-<delivery id>.json`: names sort oldest first.
    static func fileName(for delivery: Delivery) -> String {
        let stamp = ISO8601Timestamp.string(from: delivery.createdAt).filter { $0.isNumber || $0 == "T" || $0 == "Z" }
        let sequence = String(delivery.sequence)
        return "\(stamp)-\(String(repeating: "0", count: max(0, 6 - sequence.count)))\(sequence)-\(delivery.id).json"
    }

    private func createDirectory() throws {
        try OwnerOnlyFile.makeFolders(directory)
    }

    private static func writePrivately(_ data: Data, to url: URL) throws {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw OutboxWriteError(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        do {
            try FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).write(contentsOf: data)
        } catch {
            throw OutboxWriteError(path: url.path, reason: error.localizedDescription)
        }
    }
}

/// Reads one outbox file's bytes, as the next run does before sending them again. Stateless;
/// thread-safe.
package enum OutboxFile {
    /// The schema of the entries this version reads and writes.
    package static let schema = OutboxEntry.schemaName

    /// What one outbox file holds, without its headers and body. Thread-safe value.
    package struct Summary: Sendable, Hashable {
        package var schema: String
        package var deliveryID: String
        package var sink: String
        package var inventory: String
        package var event: String
    }

    /// The entry in `data`, or why it is not one (at a position in `file`).
    package static func read(_ data: Data, file: String) throws(OutboxFileError) -> Summary {
        let entry = try entry(from: data, file: file)
        return Summary(
            schema: entry.schema, deliveryID: entry.deliveryID, sink: entry.sink, inventory: entry.inventory,
            event: entry.event)
    }

    static func entry(from data: Data, file: String) throws(OutboxFileError) -> OutboxEntry {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601Milliseconds
        let entry: OutboxEntry
        do {
            entry = try decoder.decode(OutboxEntry.self, from: data)
        } catch {
            let (position, message) = JSONTextPosition.describe(error, in: Array(data))
            throw OutboxFileError(
                location: SourceLocation(file: file, line: position.line, column: position.column),
                message: "not a Tidemark outbox entry: \(message)")
        }
        guard entry.schema == OutboxEntry.schemaName else {
            let position = JSONTextPosition.position(ofValueAt: [JSONTextPosition.Key("schema")], in: Array(data))
            throw OutboxFileError(
                location: SourceLocation(file: file, line: position?.line ?? 1, column: position?.column ?? 1),
                message: "schema \(entry.schema) is not \(OutboxEntry.schemaName)")
        }
        return entry
    }
}

/// An outbox file that is not an entry this version reads: where, and what is wrong there.
/// Thread-safe value.
package struct OutboxFileError: Error, Sendable, Hashable, CustomStringConvertible {
    package var location: SourceLocation
    package var message: String

    package var description: String { "\(location): \(message)" }
}

/// An outbox file could not be written. Thread-safe value.
struct OutboxWriteError: Error, CustomStringConvertible {
    var path: String
    var reason: String
    var description: String { "cannot write \(path): \(reason)" }
}
