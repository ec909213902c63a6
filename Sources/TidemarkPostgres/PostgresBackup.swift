import Foundation
import Logging
import TidemarkCore

extension PostgresBackend: BackupCapableBackend {
    /// `pg_dump -Fc` of the target's schema (or, without `schema:`, its whole database) to
    /// `path`, mode 0600. The password reaches `pg_dump` only through its own `PGPASSWORD`
    /// (never its argument list, which other users can read in `ps`).
    public func backup(_ target: Target, to path: String, timeouts: Timeouts, logger: Logger) throws(BackendError) -> BackupRecord {
        let invocation = try PostgresTool.invocation(for: target, timeouts: timeouts)
        try BackupFile.prepare(path, target: target.name)
        var arguments = ["--format=custom", "--file=\(path)", "--dbname=\(invocation.connection)"]
        if let schema = target.schema { arguments.append("--schema=\(schema)") }
        try PostgresTool.run("pg_dump", arguments, invocation: invocation, target: target, what: "back up to \(path)")
        try BackupFile.restrict(path, target: target.name)
        logger.info("backup written", metadata: ["target": "\(target.name)", "path": "\(path)"])
        let method = target.schema.map { "pg_dump -Fc --schema=\($0)" } ?? "pg_dump -Fc"
        return BackupRecord(target: target.name, path: path, method: method, bytes: BackupFile.size(of: path))
    }

    /// `pg_restore --clean --if-exists --single-transaction` of a backup made by `backup`: every
    /// object in the file is dropped and recreated with its rows (the history table included,
    /// so the target's version is the backup's again), all or nothing. Objects created after
    /// the backup and absent from it are left alone.
    public func restore(_ target: Target, from path: String, timeouts: Timeouts, logger: Logger) throws(BackendError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .backupFailed(target: target.name, message: "cannot restore from \(path): the file does not exist.")
        }
        let invocation = try PostgresTool.invocation(for: target, timeouts: timeouts)
        var arguments = ["--clean", "--if-exists", "--single-transaction", "--no-owner", "--dbname=\(invocation.connection)"]
        if let schema = target.schema { arguments.append("--schema=\(schema)") }
        arguments.append(path)
        try PostgresTool.run("pg_restore", arguments, invocation: invocation, target: target, what: "restore from \(path)")
        logger.info("restored", metadata: ["target": "\(target.name)", "path": "\(path)"])
    }
}

/// Spawning `pg_dump` and `pg_restore`: found on PATH or in Debian's versioned folders, run with
/// an argument array (no shell), the password in the child's environment only. Thread-safe
/// (stateless).
enum PostgresTool {
    struct Invocation {
        /// What goes after `--dbname=`: the URL without its password, or `service=NAME`.
        var connection: String
        var environment: [String: String]
        var secrets: [String]
    }

    static func invocation(for target: Target, timeouts: Timeouts) throws(BackendError) -> Invocation {
        var environment = ProcessInfo.processInfo.environment
        let parameters = ConnectParameters(target: target, timeouts: timeouts, environment: environment)
        var password: String?
        let connection: String
        switch target.connection {
        case .url(let url):
            password = ConnectParameters.passwords(in: url).first.map { $0.removingPercentEncoding ?? $0 }
            connection = withoutPassword(url)
        case .service(let name):
            connection = "service=\(name)"
        }
        if let variable = target.passwordEnv, let value = environment[variable], !value.isEmpty { password = value }
        if let password { environment["PGPASSWORD"] = password }
        environment["PGCONNECT_TIMEOUT"] = String(ConnectParameters.connectTimeoutSeconds(timeouts))
        environment["PGAPPNAME"] = "tidemark"
        return Invocation(connection: connection, environment: environment, secrets: parameters.secrets + (password.map { [$0] } ?? []))
    }

    /// `url` with any password removed: `user:secret@` becomes `user@`; `password=…` goes.
    static func withoutPassword(_ url: String) -> String {
        var result = url
        if let schemeEnd = result.range(of: "://") {
            let rest = result[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                result.removeSubrange(colon..<at)
            }
        }
        let patterns = [#"(?<=[?&])password=[^&]*&?"#, #"(^|\s)password\s*=\s*('([^'\\]|\\.)*'|\S+)"#]
        for pattern in patterns {
            guard let expression = try? NSRegularExpression(pattern: pattern) else { continue }
            result = expression.stringByReplacingMatches(in: result, range: NSRange(result.startIndex..., in: result), withTemplate: "")
        }
        if result.hasSuffix("?") || result.hasSuffix("&") { result.removeLast() }
        return result
    }

    /// The newest `name` binary: Debian's /usr/lib/postgresql/<major>/bin first (pg_dump must
    /// be at least as new as the server), then PATH.
    static func executable(_ name: String) -> String? {
        let manager = FileManager.default
        let root = "/usr/lib/postgresql"
        let majors = ((try? manager.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        for major in majors where manager.isExecutableFile(atPath: "\(root)/\(major)/bin/\(name)") {
            return "\(root)/\(major)/bin/\(name)"
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") where manager.isExecutableFile(atPath: "\(folder)/\(name)") {
            return "\(folder)/\(name)"
        }
        return nil
    }

    /// Runs the tool to completion; a non-zero exit is an error carrying its (redacted) output.
    static func run(_ name: String, _ arguments: [String], invocation: Invocation, target: Target, what: String) throws(BackendError) {
        guard let executable = executable(name) else {
            throw .backupFailed(target: target.name, message: "cannot \(what): \(name) not found; install the PostgreSQL client (apt-get install postgresql-client).")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = invocation.environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw .backupFailed(target: target.name, message: "cannot \(what): cannot start \(executable): \(error.localizedDescription)")
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            var message = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            message = Redaction.redactConnectionString(message)
            for secret in invocation.secrets where !secret.isEmpty { message = message.replacingOccurrences(of: secret, with: "***") }
            throw .backupFailed(
                target: target.name, message: "cannot \(what): \(name) exited with status \(process.terminationStatus): \(message)")
        }
    }
}
