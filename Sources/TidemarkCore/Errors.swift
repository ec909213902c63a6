/// A position in a text file, for `file:line:column: message` errors.
package struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    package var file: String
    /// 1-based; 0 when unknown.
    package var line: Int
    /// 1-based; 0 when unknown.
    package var column: Int

    package init(file: String, line: Int = 0, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }

    package var description: String {
        line > 0 ? "\(file):\(line):\(column == 0 ? 1 : column)" : file
    }
}

/// A problem in a plan directory. Each renders one sentence naming the file and the fix.
package enum PlanError: Error, Sendable, Hashable, CustomStringConvertible {
    case directoryNotFound(path: String)
    case noMigrations(path: String)
    case mixedFormats(path: String, first: String, firstFormat: PlanFormat, second: String, secondFormat: PlanFormat)
    case duplicateVersion(version: String, direction: String, first: String, second: String)
    case undoWithoutForward(file: String, version: String)
    case unparsableName(file: String, expected: String)
    case unknownDirective(location: SourceLocation, directive: String)
    case badDirective(location: SourceLocation, message: String)
    case unreadable(file: String, reason: String)
    case badPlanFile(location: SourceLocation, message: String)
    case badMetadata(location: SourceLocation, message: String)
    /// A script or folder that resolves (through a symlink or `..`) outside the plan directory.
    case outsidePlan(link: String, resolved: String, directory: String)
    /// A file name in the plan directory that is not UTF-8.
    case fileNameNotUTF8(directory: String, name: String, byteOffset: Int)

    /// One line: file names and quoted text cannot add lines or send escape sequences.
    package var description: String { PrintableText.escaped(text) }

    private var text: String {
        switch self {
        case .directoryNotFound(let path):
            return "\(path): plan directory not found; pass --plan DIR or fix `plan:` in the inventory."
        case .noMigrations(let path):
            return
                "\(path): no migration scripts found; expected V1__name.sql, 0001_name.up.sql or <version>_<name>/up.sql."
        case .mixedFormats(let path, let first, let firstFormat, let second, let secondFormat):
            return
                "\(path): mixed plan formats: \(first) is \(firstFormat.rawValue) but \(second) is \(secondFormat.rawValue); rename the scripts to one format."
        case .duplicateVersion(let version, let direction, let first, let second):
            return
                "\(second): version \(version) already has a \(direction) script (\(first)); give one of them another version."
        case .undoWithoutForward(let file, let version):
            return "\(file): undo script for version \(version) has no forward script; add it or remove the undo."
        case .unparsableName(let file, let expected):
            return "\(file): cannot read a version from this name; expected \(expected)."
        case .unknownDirective(let location, let directive):
            return
                "\(location): unknown directive 'tidemark:\(directive)'; known: no-transaction, compensates <version>, data-loss-ok <reason>, lock-ok <reason>, irreversible <reason>."
        case .badDirective(let location, let message):
            return "\(location): \(message)"
        case .unreadable(let file, let reason):
            return "\(file): cannot read: \(reason)."
        case .badPlanFile(let location, let message):
            return "\(location): \(message)"
        case .badMetadata(let location, let message):
            return "\(location): \(message)"
        case .outsidePlan(let link, let resolved, let directory):
            return
                "\(link): resolves to \(resolved), outside the plan directory \(directory); a plan is its folder, so scripts and folders must be inside it (a symlink is fine when it points inside the plan directory). Copy the file into the plan, or fix the link."
        case .fileNameNotUTF8(let directory, let name, let byteOffset):
            return "\(directory): the file name '\(name)' is not UTF-8 at byte \(byteOffset + 1); rename it in UTF-8."
        }
    }
}

/// A problem in an inventory file: always `file:line:column: message`.
package struct InventoryError: Error, Sendable, Hashable, CustomStringConvertible {
    package var location: SourceLocation
    package var message: String

    package init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    /// One line: control characters in quoted names or values are escaped.
    package var description: String { "\(location): \(PrintableText.escaped(message))" }
}

/// A backend failure, naming the target; never contains a password.
package enum BackendError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Connecting failed or timed out; `transient` errors may be retried before a step starts.
    case connectionFailed(target: String, message: String, transient: Bool)
    /// A statement failed outside a step (history table, lock, settings).
    case queryFailed(target: String, message: String, sqlState: String?)
    /// A step's script failed; `dirty` when it ran outside a transaction and may have left work behind.
    case stepFailed(target: String, version: String, kind: StepKind, message: String, sqlState: String?, dirty: Bool)
    /// The statement was cancelled (interrupt or statement_timeout).
    case cancelled(target: String, version: String?)
    /// The connection's URL or settings cannot be used by this backend.
    case unsupported(target: String, message: String)
    /// The connection was used after `close()`.
    case closed(target: String)
    /// A backup or restore did not complete; `message` says which file and why.
    case backupFailed(target: String, message: String)
    /// A read-only connection found no database at `location` (a SQLite file that does not
    /// exist, an in-memory database never created); read commands never create one.
    case databaseNotFound(target: String, location: String)
    /// A change (`operation`) was asked of a read-only connection.
    case readOnly(target: String, operation: String)
    /// A verify script (Sqitch's `verify/`) failed after its version's forward step committed.
    case verifyFailed(target: String, version: String, script: String, message: String, sqlState: String?)

    /// One line: a server's message (or a name) cannot add lines or send escape sequences.
    package var description: String { PrintableText.escaped(text) }

    private var text: String {
        switch self {
        case .connectionFailed(let target, let message, _):
            return "\(target): cannot connect: \(message)"
        case .queryFailed(let target, let message, let sqlState):
            return "\(target): \(message)\(sqlState.map { " (SQLSTATE \($0))" } ?? "")"
        case .stepFailed(let target, let version, let kind, let message, let sqlState, let dirty):
            let state = sqlState.map { " (SQLSTATE \($0))" } ?? ""
            let tail =
                dirty
                ? " It ran outside a transaction, so part of it may have been applied: the target is dirty until it is repaired."
                : " The transaction was rolled back; nothing of it remains."
            return "\(target): \(kind.rawValue) step of version \(version) failed: \(message)\(state).\(tail)"
        case .cancelled(let target, let version):
            return "\(target): statement cancelled\(version.map { " while running version \($0)" } ?? "")."
        case .unsupported(let target, let message):
            return "\(target): \(message)"
        case .closed(let target):
            return "\(target): connection already closed."
        case .backupFailed(let target, let message):
            return "\(target): \(message)"
        case .databaseNotFound(let target, let location):
            return
                "\(target): no database at \(location); check the path in the inventory (`tidemark apply` creates a new database there)."
        case .readOnly(let target, let operation):
            return
                "\(target): cannot \(operation) on a read-only connection; only `apply` and `repair` change a target."
        case .verifyFailed(let target, let version, let script, let message, let sqlState):
            let state = sqlState.map { " (SQLSTATE \($0))" } ?? ""
            return
                "\(target): verify script \(script) of version \(version) failed: \(message)\(state). The forward step committed and stays recorded: fix the verify script, or the schema with a new version, or roll the version back."
        }
    }
}

extension BackendError {
    /// The target the error is about.
    package var target: String {
        switch self {
        case .connectionFailed(let target, _, _), .queryFailed(let target, _, _),
            .stepFailed(let target, _, _, _, _, _),
            .cancelled(let target, _), .unsupported(let target, _), .closed(let target), .backupFailed(let target, _),
            .databaseNotFound(let target, _), .readOnly(let target, _), .verifyFailed(let target, _, _, _, _):
            return target
        }
    }

    /// The sentence without the target's name in front, for where the name is said already (the
    /// target's row of `tidemark status`).
    package var detail: String {
        let named = "\(target): "
        return description.hasPrefix(named) ? String(description.dropFirst(named.count)) : description
    }

    /// The SQLSTATEs of a statement that gave up waiting for a lock: PostgreSQL's
    /// `lock_not_available` (55P03, raised by `lock_timeout`), the SQLite backend's busy database,
    /// and MySQL's lock wait timeout (1205, metadata locks included) and deadlock (1213), after
    /// which the MySQL backend has rolled the whole transaction back.
    package static let lockTimeoutStates: Set<String> = ["55P03", "SQLITE_BUSY", "MYSQL_1205", "MYSQL_1213"]

    /// A transactional step that failed only because it could not get a lock in time: it rolled
    /// back completely, so trying it again is safe (`lock_retries`,
    /// docs/live-production.md#lock-timeout-retries).
    package var isLockTimeout: Bool {
        guard case .stepFailed(_, _, _, _, let sqlState?, let dirty) = self else { return false }
        return !dirty && Self.lockTimeoutStates.contains(sqlState)
    }
}
