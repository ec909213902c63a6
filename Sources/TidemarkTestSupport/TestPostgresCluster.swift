import Foundation

/// A PostgreSQL cluster of a test's own, in a temporary folder on a free loopback port: a
/// primary (`wal_level=replica`, a `replicator` role allowed to replicate in `pg_hba.conf`), and
/// streaming standbys made from it with `pg_basebackup -R`. For what one shared server cannot
/// show: a real replica and its lag (docs/backfills.md#the-directive).
///
/// The server binaries are found as `scripts/with-postgres` finds them
/// (`TIDEMARK_TEST_POSTGRES_BIN`, the newest `/usr/lib/postgresql/*/bin`, `initdb` on the
/// `PATH`). Without them the tests skip, unless `TIDEMARK_REQUIRE_POSTGRES=1` (set by
/// `scripts/test`), where they fail. As root the servers run as the `postgres` user (PostgreSQL
/// refuses to run as root). Not thread-safe: one test drives it; `stop()` before the folder goes.
package final class TestPostgresCluster {
    /// The variable that turns missing PostgreSQL binaries into a failure.
    package static let requireVariable = "TIDEMARK_REQUIRE_POSTGRES"

    /// The folder of `initdb`, `pg_ctl`, `pg_basebackup` and `postgres`; nil when not found.
    package static let binDirectory: URL? = findBinaries(in: ProcessInfo.processInfo.environment)

    /// Whether missing binaries fail the test rather than skip it.
    package static let isRequired = ProcessInfo.processInfo.environment[requireVariable] == "1"

    /// Whether the tests that start their own clusters run: the binaries are there, or they are
    /// required (and `requireBinaries()` fails).
    package static var isEnabled: Bool { binDirectory != nil || isRequired }

    /// Why they are skipped.
    package static let skipReason =
        "no PostgreSQL server binaries (initdb, pg_basebackup): own-cluster tests skipped; apt-get install -y postgresql"

    /// The binaries' folder, or an error naming the fix (a failure under `TIDEMARK_REQUIRE_POSTGRES=1`).
    package static func requireBinaries() throws -> URL {
        guard let binDirectory else {
            throw TestPostgresClusterError(
                description: isRequired
                    ? "\(requireVariable)=1 but \(skipReason); install them or unset \(requireVariable)"
                    : skipReason)
        }
        return binDirectory
    }

    /// The port the server listens on (127.0.0.1).
    package let port: Int
    /// The cluster's data folder.
    package let dataDirectory: URL
    private let folder: URL
    private let bin: URL
    /// The server process while it runs.
    private var server: Process?

    private init(port: Int, dataDirectory: URL, folder: URL, bin: URL) {
        self.port = port
        self.dataDirectory = dataDirectory
        self.folder = folder
        self.bin = bin
    }

    deinit { stop() }

    /// A URL for `user` (the superuser `tidemark` unless named) and `database`.
    package func url(user: String = "tidemark", database: String = "postgres") -> String {
        "postgres://\(user)@127.0.0.1:\(port)/\(database)"
    }

    /// Creates and starts a primary in `folder/name` (created; owned by `postgres` as root).
    package static func primary(in folder: URL, name: String = "primary") throws -> TestPostgresCluster {
        let bin = try requireBinaries()
        let cluster = TestPostgresCluster(
            port: try freePort(), dataDirectory: folder.appendingPathComponent(name), folder: folder, bin: bin)
        try cluster.prepareFolder()
        try cluster.tool(
            "initdb", "-D", cluster.dataDirectory.path, "-U", "tidemark", "--auth=trust", "--encoding=UTF8", "-N")
        // First match wins: the replication role is named before initdb's own lines.
        let hba = cluster.dataDirectory.appendingPathComponent("pg_hba.conf")
        let lines = try String(contentsOf: hba, encoding: .utf8)
        try ("host replication replicator 127.0.0.1/32 trust\n" + lines).write(
            to: hba, atomically: true, encoding: .utf8)
        try cluster.start(["wal_level=replica", "max_wal_senders=4"])
        try cluster.psql("CREATE ROLE replicator REPLICATION LOGIN")
        return cluster
    }

    /// Makes a streaming standby of this primary with `pg_basebackup -R` (as `replicator`) and
    /// starts it; it reports its positions every second, so the primary's
    /// `pg_stat_replication` lag follows it closely.
    package func standby(name: String = "standby") throws -> TestPostgresCluster {
        let standby = TestPostgresCluster(
            port: try Self.freePort(), dataDirectory: folder.appendingPathComponent(name), folder: folder, bin: bin)
        try tool(
            "pg_basebackup", "-h", "127.0.0.1", "-p", String(port), "-U", "replicator", "-D",
            standby.dataDirectory.path, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast")
        try standby.start(["hot_standby=on", "wal_receiver_status_interval=1"])
        return standby
    }

    /// Runs `sql` as the superuser on `database` with `psql`; returns what it printed (unaligned,
    /// tuples only).
    @discardableResult
    package func psql(_ sql: String, database: String = "postgres") throws -> String {
        try tool("psql", "-h", "127.0.0.1", "-p", String(port), "-U", "tidemark", "-d", database, "-qAtX", "-c", sql)
    }

    /// Stops the server at once (`-m immediate`) and waits for it; a no-op when stopped.
    package func stop() {
        guard let server else { return }
        self.server = nil
        _ = try? tool("pg_ctl", "-D", dataDirectory.path, "-m", "immediate", "-w", "stop")
        server.waitUntilExit()
    }

    /// Runs the server in the foreground as a child of this process, not through `pg_ctl start`:
    /// Foundation learns that a child ended when a socket it hands the child closes, and a server
    /// `pg_ctl` leaves behind would inherit that socket and keep `pg_ctl` from ever seeming done.
    private func start(_ settings: [String]) throws {
        let log = folder.appendingPathComponent("\(dataDirectory.lastPathComponent).log")
        var arguments = ["-D", dataDirectory.path, "-c", "listen_addresses=127.0.0.1", "-p", String(port)]
        arguments += ["-k", folder.path, "-c", "fsync=off", "-c", "full_page_writes=off"]
        for setting in settings { arguments += ["-c", setting] }
        server = try launch("postgres", arguments, output: log)
        let deadline = Date().addingTimeInterval(60)
        while (try? tool("pg_isready", "-h", "127.0.0.1", "-p", String(port), "-t", "1")) == nil {
            guard server?.isRunning == true, Date() < deadline else {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                stop()
                throw TestPostgresClusterError(
                    description: "the server in \(dataDirectory.path) did not start: \(text)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// The folder, writable by the server's user.
    private func prepareFolder() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if geteuid() == 0 {
            try FileManager.default.setAttributes(
                [.ownerAccountName: "postgres", .posixPermissions: 0o755], ofItemAtPath: folder.path)
        }
    }

    /// Runs a server tool as the server's user and waits for it; throws with its output when it fails.
    @discardableResult
    private func tool(_ name: String, _ arguments: String...) throws -> String {
        let outputFile = folder.appendingPathComponent(".\(name)-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let process = try launch(name, arguments, output: outputFile)
        process.waitUntilExit()
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            let log = folder.appendingPathComponent("\(dataDirectory.lastPathComponent).log")
            let serverLog = (try? String(contentsOf: log, encoding: .utf8)).map { "\nserver log:\n\($0)" } ?? ""
            throw TestPostgresClusterError(
                description:
                    "\(name) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)\(serverLog)"
            )
        }
        return text
    }

    /// Starts a server tool as the server's user, its output appended to `output`.
    private func launch(_ name: String, _ arguments: [String], output: URL) throws -> Process {
        let process = Process()
        let path = bin.appendingPathComponent(name).path
        if geteuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--", path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        process.currentDirectoryURL = folder
        if !FileManager.default.fileExists(atPath: output.path) {
            guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
                throw TestPostgresClusterError(description: "cannot create \(output.path)")
            }
        }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        try handle.seekToEnd()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// A loopback port nothing listens on now.
    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestPostgresClusterError(description: "socket: \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw TestPostgresClusterError(description: "bind 127.0.0.1:0: \(errno)") }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: actual.sin_port))
    }

    /// The binaries' folder as `scripts/with-postgres` looks for it.
    static func findBinaries(in environment: [String: String]) -> URL? {
        let manager = FileManager.default
        func usable(_ path: String) -> URL? {
            ["initdb", "pg_ctl", "pg_basebackup", "psql", "postgres", "pg_isready"].allSatisfy {
                manager.isExecutableFile(atPath: "\(path)/\($0)")
            }
                ? URL(fileURLWithPath: path) : nil
        }
        if let named = environment["TIDEMARK_TEST_POSTGRES_BIN"], let found = usable(named) { return found }
        let versions = ((try? manager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for version in versions {
            if let found = usable("/usr/lib/postgresql/\(version)/bin") { return found }
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let initdb = URL(fileURLWithPath: String(directory)).appendingPathComponent("initdb")
            if manager.isExecutableFile(atPath: initdb.path) {
                if let found = usable(initdb.resolvingSymlinksInPath().deletingLastPathComponent().path) {
                    return found
                }
            }
        }
        return nil
    }
}

/// A cluster that could not be made or started, with the tool's output.
package struct TestPostgresClusterError: Error, CustomStringConvertible {
    package var description: String
}
