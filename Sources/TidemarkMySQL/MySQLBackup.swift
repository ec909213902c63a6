import Foundation
import Logging
import TidemarkCore
import TidemarkFiles

extension MySQLBackend: BackupCapableBackend {
    /// `mariadb-dump` (or `mysqldump`) of the target's database with
    /// `--single-transaction --routines --triggers --events` to `path`, mode 0600. The
    /// password reaches the tool only through an option file of mode 0600 that is removed
    /// afterwards (never its argument list, which other users can read in `ps`).
    package func backup(_ target: Target, to path: String, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> BackupRecord
    {
        let invocation = try MySQLTool.invocation(for: target, timeouts: timeouts)
        defer { invocation.removeOptionFile() }
        let tool = try MySQLTool.executable(["mariadb-dump", "mysqldump"], target: target, what: "back up to \(path)")
        // Written beside its place and kept only when complete: a failed or empty dump is
        // removed, and a file already at `path` is left as it was.
        let partial = try BackupFile.prepare(path, target: target.name)
        do throws(BackendError) {
            try MySQLTool.run(
                tool,
                [
                    "--defaults-extra-file=\(invocation.optionFile)", "--single-transaction", "--routines",
                    "--triggers", "--events",
                    "--hex-blob", "--result-file=\(partial)", "--", invocation.database,
                ],
                input: nil, invocation: invocation, target: target, what: "back up to \(path)")
            try BackupFile.commit(partial, to: path, target: target.name)
        } catch {
            BackupFile.discard(partial)
            throw error
        }
        logger.info("backup written", metadata: ["target": "\(target.name)", "path": "\(path)"])
        let name = URL(fileURLWithPath: tool).lastPathComponent
        return BackupRecord(
            target: target.name, path: path,
            method: "\(name) --single-transaction --routines --triggers --events \(invocation.database)",
            bytes: BackupFile.size(of: path))
    }

    /// The backup's statements sent to the database by the `mariadb` (or `mysql`) client: every
    /// table, view and routine in the file is dropped and recreated with its rows (the history
    /// table included, so the target's version is the backup's again). Not all or nothing: DDL
    /// commits implicitly, so a restore that fails midway says so. Objects created after the
    /// backup and absent from it are left alone.
    package func restore(_ target: Target, from path: String, timeouts: Timeouts, logger: Logger) throws(BackendError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .backupFailed(target: target.name, message: "cannot restore from \(path): the file does not exist.")
        }
        let invocation = try MySQLTool.invocation(for: target, timeouts: timeouts)
        defer { invocation.removeOptionFile() }
        let tool = try MySQLTool.executable(["mariadb", "mysql"], target: target, what: "restore from \(path)")
        try MySQLTool.run(
            tool, ["--defaults-extra-file=\(invocation.optionFile)", "--batch", "--database=\(invocation.database)"],
            input: path, invocation: invocation, target: target,
            what: "restore from \(path) (DDL commits as it goes, so a failure leaves the restore partial)")
        logger.info("restored", metadata: ["target": "\(target.name)", "path": "\(path)"])
    }
}

/// Spawning `mariadb-dump`/`mysqldump` and `mariadb`/`mysql`: found on PATH, run with an
/// argument array (no shell), connection settings and the password in an option file of mode
/// 0600. Thread-safe (stateless).
enum MySQLTool {
    struct Invocation {
        var optionFile: String
        var folder: URL
        var database: String
        var secrets: [String]

        func removeOptionFile() {
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// Writes `[client]` settings from the target's URL (what it names wins over the target's
    /// own option file, which is included first) into a private temporary folder.
    static func invocation(for target: Target, timeouts: Timeouts) throws(BackendError) -> Invocation {
        let url = try MySQLURL(of: target)
        guard let database = target.schema ?? url.database else {
            throw .unsupported(
                target: target.name,
                message: "\(target.redactedLocation) names no database; add one to the URL or set schema.")
        }
        var password = url.password
        if let variable = target.passwordEnv, let value = ProcessInfo.processInfo.environment[variable] {
            password = value
        }

        var lines: [String] = []
        if let file = target.optionFile { lines.append("!include \(file)") }
        lines.append("[client]")
        func add(_ key: String, _ value: String?) {
            guard let value else { return }
            // Option-file values are read up to the line's end; quotes keep spaces and '#'.
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
                of: "\"", with: "\\\"")
            lines.append("\(key)=\"\(escaped)\"")
        }
        add("user", url.user)
        add("password", password)
        add("host", url.host)
        add("port", url.port.map(String.init))
        add("socket", url.socket)
        add("default-character-set", url.charset)
        if url.socket != nil { lines.append("protocol=SOCKET") }
        // connect-timeout is left out: mariadb-dump refuses it as an unknown variable in [client].
        switch url.effectiveSSLMode {
        case .disabled: lines.append("skip-ssl")
        case .preferred: break
        case .required: lines.append("ssl")
        case .verifyCA, .verifyIdentity: lines += ["ssl", "ssl-verify-server-cert"]
        }

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tidemark-mysql-\(UUID().uuidString)")
        let file = folder.appendingPathComponent("client.cnf")
        do {
            try OwnerOnlyFile.makeFolders(folder)
            try OwnerOnlyFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: file)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw .backupFailed(
                target: target.name,
                message: "cannot write the client option file in \(folder.path): \(error.localizedDescription)")
        }
        return Invocation(
            optionFile: file.path, folder: folder, database: database, secrets: password.map { [$0] } ?? [])
    }

    /// The first of `names` on PATH.
    static func executable(_ names: [String], target: Target, what: String) throws(BackendError) -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in names {
            for folder in path.split(separator: ":")
            where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
                return "\(folder)/\(name)"
            }
        }
        throw .backupFailed(
            target: target.name,
            message:
                "cannot \(what): none of \(names.joined(separator: ", ")) found; install the MariaDB client (apt-get install mariadb-client)."
        )
    }

    /// Runs the tool to completion, `input` (a file) as its standard input; a non-zero exit is
    /// an error carrying its (redacted) output.
    static func run(
        _ executable: String, _ arguments: [String], input: String?, invocation: Invocation, target: Target,
        what: String
    ) throws(BackendError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let input {
            guard let handle = FileHandle(forReadingAtPath: input) else {
                throw .backupFailed(target: target.name, message: "cannot \(what): cannot read \(input).")
            }
            process.standardInput = handle
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw .backupFailed(
                target: target.name,
                message: "cannot \(what): cannot start \(executable): \(error.localizedDescription)")
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            var message = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            message = Redaction.redactConnectionString(message)
            for secret in invocation.secrets where !secret.isEmpty {
                message = message.replacingOccurrences(of: secret, with: "***")
            }
            let name = URL(fileURLWithPath: executable).lastPathComponent
            throw .backupFailed(
                target: target.name,
                message: "cannot \(what): \(name) exited with status \(process.terminationStatus): \(message)")
        }
    }
}
