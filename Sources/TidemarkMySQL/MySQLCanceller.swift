import Foundation
import Logging
import TidemarkCore

/// Cancels the statement running on one session with `KILL QUERY`, sent over a connection of
/// its own (Connector/C has no out-of-band cancel). Thread-safe: immutable; each `cancel()`
/// opens and closes its own handle.
final class MySQLCanceller: StatementCanceller, Sendable {
    private let options: MySQLConnectOptions
    private let threadID: UInt
    private let logger: Logger

    init(options: MySQLConnectOptions, threadID: UInt, logger: Logger) {
        self.options = options
        self.threadID = threadID
        self.logger = logger
    }

    func cancel() {
        do {
            let handle = try MySQLHandle.connect(options)
            try handle.query("KILL QUERY \(threadID)")
        } catch {
            logger.debug(
                "could not cancel the running statement: \(MySQLConnection.redact(error.fullMessage, password: options.password))"
            )
        }
    }
}
