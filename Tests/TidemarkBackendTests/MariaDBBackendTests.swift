import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkMySQL

/// The MySQL backend on the real MariaDB server scripts/test starts: what the conformance suite
/// does not cover (the server's flavour, passwords, DELIMITER, compound statements, lock names).
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBBackendTests {
    func target(_ name: String, url: String? = nil, database: String? = nil, passwordEnv: String? = nil) throws
        -> Target
    {
        Target(
            name: name, environment: "test", connection: .url(try url ?? TestMariaDB.requireURL()),
            schema: try database ?? TestMariaDB.createDatabase(for: name), passwordEnv: passwordEnv)
    }

    func connect(_ target: Target, access: ConnectionAccess = .readWrite, environment: [String: String] = [:]) throws
        -> MySQLConnection
    {
        try MySQLConnection(
            target: target, access: access, timeouts: BackendConformance.timeouts, logger: .silent,
            environment: environment)
    }

    func step(_ version: String, _ sql: String, path: String = "V1__test.sql") -> StepRequest {
        StepRequest(
            version: version, description: "test", kind: .forward, scriptPath: path, sql: sql, checksum: "c",
            transactional: true,
            runID: "r", appliedBy: "tests")
    }

    @Test func theServerFlavourAndVersionAreReadOnConnect() throws {
        let connection = try connect(try target("flavour"))
        #expect(connection.server.flavour == .mariadb)
        #expect(connection.server.version.hasPrefix("10.") || connection.server.version.hasPrefix("11."))
        #expect(MySQLServer(versionText: "8.0.36").flavour == .mysql)
        #expect(MySQLServer(versionText: "5.5.5-10.6.12-MariaDB-log").description == "MariaDB 10.6.12")
    }

    @Test func delimiterIsRefusedWithFileAndLineAndNothingIsRecorded() throws {
        let target = try target("delimiter")
        let connection = try connect(target)
        try connection.ensureHistoryTable()
        let error = try #require(throws: BackendError.self) {
            try connection.run(
                step(
                    "1", "CREATE TABLE a (id int);\nDELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\n",
                    path: "V1__proc.sql"))
        }
        #expect("\(error)".contains("V1__proc.sql:2: DELIMITER is a command of the mysql client"))
        #expect(try connection.readHistory().isEmpty)
        #expect(try !TestMariaDB.tableExists("a", inDatabase: target.schema ?? ""))
    }

    @Test func aWrongPasswordFailsWithoutEchoingItAndPasswordEnvWins() throws {
        let user = "tm_pw_" + UUID().uuidString.prefix(8).lowercased()
        try TestMariaDB.execute(
            "CREATE USER '\(user)'@'127.0.0.1' IDENTIFIED BY 'right-secret-42';\nGRANT ALL ON *.* TO '\(user)'@'127.0.0.1'"
        )
        let base = try TestMariaDB.requireURL()
        let hostPort = base.replacingOccurrences(of: "mysql://root@", with: "")
        let wrong = try target("wrong-password", url: "mysql://\(user):wrong-secret-99@\(hostPort)")
        let error = try #require(throws: BackendError.self) { try connect(wrong) }
        let text = "\(error)"
        #expect(text.contains("wrong-password") && text.contains("1045"), "\(text)")
        #expect(!text.contains("wrong-secret-99"))
        // password_env wins over the URL's password.
        var fromEnv = wrong
        fromEnv.passwordEnv = "TM_TEST_PASSWORD"
        let connection = try connect(fromEnv, environment: ["TM_TEST_PASSWORD": "right-secret-42"])
        #expect(connection.server.flavour == .mariadb)
    }

    @Test func aReadOnlyConnectionToAMissingDatabaseSaysSoAndCreatesNothing() throws {
        let missing = TestMariaDB.uniqueDatabaseName(for: "missing")
        let error = try #require(throws: BackendError.self) {
            try connect(try target("missing", database: missing), access: .readOnly)
        }
        guard case .databaseNotFound = error else { throw error }
        let writer = try connect(try target("missing-rw", database: missing))
        #expect(try writer.readHistory().isEmpty)
        try writer.ensureHistoryTable()
        #expect(try TestMariaDB.tableExists("tidemark_history", inDatabase: missing))
    }

    @Test func lockNamesStayWithinSixtyFourCharacters() {
        #expect(MySQLSQL.lockName(database: "app") == "tidemark:app")
        let long = String(repeating: "tenant_", count: 9)
        let name = MySQLSQL.lockName(database: long)
        #expect(name.count <= 64 && name.hasPrefix("tidemark:#"))
        #expect(name == MySQLSQL.lockName(database: long))
        #expect(name != MySQLSQL.lockName(database: long + "x"))
    }

    /// Mattermost's 109 MySQL versions (procedures without DELIMITER, PREPARE-guarded DDL) apply
    /// one by one through the backend's own splitter.
    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: MariaDBBackendTests.corpus.path),
            "the mattermost-mysql corpus is not in ../shared/corpora"))
    func theMattermostHistoryAppliesStatementByStatement() throws {
        let target = try target("mattermost")
        let connection = try connect(target)
        try connection.ensureHistoryTable()
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter {
            $0.hasSuffix(".up.sql")
        }.sorted()
        #expect(files.count == 109)
        for file in files {
            let sql = try String(contentsOf: Self.corpus.appendingPathComponent(file), encoding: .utf8)
            try connection.run(step(String(file.prefix(4)), sql, path: file))
        }
        let rows = try connection.readHistory()
        #expect(rows.count == 109 && rows.allSatisfy(\.success))
        #expect(try TestMariaDB.tableExists("Posts", inDatabase: target.schema ?? ""))
        #expect(try connection.fingerprint().lines.count > 100)
    }

    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/corpora/mattermost-mysql").standardizedFileURL
}

/// The information_schema fingerprint on MariaDB: what SPEC-level structure it sees.
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBFingerprintTests {
    @Test func checksGeneratedColumnsPrefixesAndForeignKeyActionsAreSeenCountersAreNot() throws {
        let database = try TestMariaDB.createDatabase(for: "fingerprint")
        let target = Target(
            name: "fp", environment: "test", connection: .url(try TestMariaDB.requireURL()), schema: database)
        let connection = try MySQLBackend().connect(to: target, timeouts: BackendConformance.timeouts, logger: .silent)
        try connection.ensureHistoryTable()
        try connection.run(
            StepRequest(
                version: "1", description: "schema", kind: .forward, scriptPath: "V1__s.sql",
                sql: """
                    CREATE TABLE parent (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(200) COLLATE utf8mb4_bin,
                      total INT AS (id * 2) VIRTUAL, CONSTRAINT name_set CHECK (name <> ''), KEY name_prefix (name(10)));
                    CREATE TABLE child (id INT, parent_id INT, FOREIGN KEY fk_parent (parent_id) REFERENCES parent (id) ON DELETE CASCADE);
                    CREATE VIEW named AS SELECT name FROM parent;
                    INSERT INTO parent (name) VALUES ('a'), ('b');
                    """, checksum: "c", transactional: true, runID: "r", appliedBy: "tests"))
        let lines = try connection.fingerprint().lines
        let text = lines.joined(separator: "\n")
        #expect(text.contains("check parent.name_set"), "\(text)")
        #expect(text.contains("as (`id` * 2)"), "\(text)")
        #expect(text.contains("name(10)"), "\(text)")
        #expect(text.contains("ON DELETE CASCADE"), "\(text)")
        #expect(text.contains("collate utf8mb4_bin"), "\(text)")
        #expect(text.contains("view named"), "\(text)")
        #expect(!text.contains(database), "the database's own name is in the fingerprint: \(text)")
        #expect(!text.contains("tidemark_history"))
        let before = try connection.fingerprint()
        try connection.run(
            StepRequest(
                version: "2", description: "rows", kind: .forward, scriptPath: "V2__r.sql",
                sql: "INSERT INTO parent (name) VALUES ('c')",
                checksum: "c", transactional: true, runID: "r", appliedBy: "tests"))
        #expect(try connection.fingerprint() == before, "rows and AUTO_INCREMENT counters changed the fingerprint")
    }
}

/// `backup` and `restore` through mariadb-dump and the mariadb client on the real server.
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBBackupTests {
    @Test func aBackupIsPrivateAndRestoresTablesRowsRoutinesAndHistory() throws {
        let database = try TestMariaDB.createDatabase(for: "backup")
        let target = Target(
            name: "bk", environment: "test", connection: .url(try TestMariaDB.requireURL()), schema: database)
        let backend = MySQLBackend()
        let connection = try backend.connect(to: target, timeouts: BackendConformance.timeouts, logger: .silent)
        try connection.ensureHistoryTable()
        func step(_ version: String, _ sql: String) -> StepRequest {
            StepRequest(
                version: version, description: "v\(version)", kind: .forward, scriptPath: "V\(version).sql", sql: sql,
                checksum: "c",
                transactional: true, runID: "r", appliedBy: "tests")
        }
        try connection.run(
            step(
                "1",
                "CREATE TABLE kept (id INT PRIMARY KEY, note TEXT);\nINSERT INTO kept VALUES (1, 'it''s kept');\nCREATE PROCEDURE p() BEGIN SELECT 1; END;"
            ))
        let before = try connection.fingerprint()

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tm-mysql-backup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("bk.sql").path
        let record = try backend.backup(target, to: path, timeouts: BackendConformance.timeouts, logger: .silent)
        #expect(record.bytes > 0 && record.method.contains("--single-transaction --routines --triggers --events"))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o077 == 0, "the backup is readable by others: \(String(mode, radix: 8))")

        try connection.run(step("2", "DROP TABLE kept;\nDROP PROCEDURE p;\nCREATE TABLE later (id INT);"))
        try backend.restore(target, from: path, timeouts: BackendConformance.timeouts, logger: .silent)

        let after = try backend.connect(to: target, timeouts: BackendConformance.timeouts, logger: .silent)
        #expect(try after.readRows(of: ForeignTable(name: "kept", columns: ["note"])) == [["it's kept"]])
        #expect(try after.readHistory().map(\.version) == ["1"], "the history is the backup's again")
        let lines = try after.fingerprint().lines
        #expect(
            before.lines.allSatisfy { lines.contains($0) },
            "missing after restore: \(before.lines.filter { !lines.contains($0) })")
    }

    @Test func aFailingDumpNamesTheTargetAndNeverThePassword() throws {
        let base = try TestMariaDB.requireURL().replacingOccurrences(
            of: "mysql://root@", with: "mysql://root:not-the-password-77@")
        let target = Target(name: "bk-bad", environment: "test", connection: .url(base), schema: "nope")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tm-mysql-backup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = try #require(throws: BackendError.self) {
            try MySQLBackend().backup(
                target, to: folder.appendingPathComponent("x.sql").path, timeouts: BackendConformance.timeouts,
                logger: .silent)
        }
        #expect("\(error)".contains("bk-bad") && !"\(error)".contains("not-the-password-77"), "\(error)")
    }
}

/// Lock waits on MariaDB: bounded by `lock_timeout`, and reported so a DML step is retried whole.
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBLockWaitTests {
    @Test func aRowLockWaitFailsWithinTheLockTimeoutAsARetryableLockTimeout() throws {
        let database = try TestMariaDB.createDatabase(for: "rowlock")
        let url = try TestMariaDB.requireURL()
        let target = Target(name: "rowlock", environment: "test", connection: .url(url), schema: database)
        let timeouts = Timeouts(lockTimeout: .seconds(1), statementTimeout: .seconds(30), connectTimeout: .seconds(10))
        let connection = try MySQLBackend().connect(to: target, timeouts: timeouts, logger: .silent)
        try connection.ensureHistoryTable()
        func step(_ version: String, _ sql: String) -> StepRequest {
            StepRequest(
                version: version, description: "v", kind: .forward, scriptPath: "V\(version).sql", sql: sql,
                checksum: "c",
                transactional: true, runID: "r", appliedBy: "tests")
        }
        try connection.run(step("1", "CREATE TABLE t (id INT PRIMARY KEY, n INT);\nINSERT INTO t VALUES (1, 0);"))

        // Another session holds the row in an open transaction.
        let holder = try MySQLHandle.connect(
            MySQLConnectOptions(
                url: try MySQLURL(parsing: url), password: nil, optionFile: nil, optionGroup: nil,
                connectTimeoutSeconds: 5))
        try holder.query("START TRANSACTION")
        try holder.query("SELECT n FROM \(TestMariaDB.quoted(database)).t WHERE id = 1 FOR UPDATE")

        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: BackendError.self) {
            try connection.run(step("2", "UPDATE t SET n = n + 1 WHERE id = 1"))
        }
        #expect(clock.now - start < .seconds(5), "the wait was not bounded by lock_timeout")
        #expect(error.isLockTimeout, "\(error)")
        try holder.query("ROLLBACK")
        try connection.run(step("2", "UPDATE t SET n = n + 1 WHERE id = 1"))
        #expect(try connection.readRows(of: ForeignTable(name: "t", columns: ["n"])) == [["1"]])
    }
}

/// TLS modes and option files, against the test server (which has no TLS).
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBConnectOptionTests {
    func connect(_ url: String, optionFile: String? = nil, optionGroup: String? = nil) throws -> any BackendConnection {
        let target = Target(
            name: "opts", environment: "test", connection: .url(url), schema: "tidemark_test_admin",
            optionFile: optionFile,
            optionGroup: optionGroup)
        return try MySQLBackend().connect(to: target, timeouts: BackendConformance.timeouts, logger: .silent)
    }

    @Test func requiredTLSIsRefusedByAServerWithoutItAndPreferredFallsBack() throws {
        let url = try TestMariaDB.requireURL()
        _ = try connect(url + "?ssl-mode=DISABLED")
        _ = try connect(url + "?ssl-mode=PREFERRED")
        let error = try #require(throws: BackendError.self) { try connect(url + "?ssl-mode=REQUIRED") }
        guard case .connectionFailed(let name, let message, _) = error else { throw error }
        #expect(name == "opts" && message.contains("ssl-mode=REQUIRED, but the server did not use TLS"), "\(message)")
        // VERIFY_IDENTITY is refused by Connector/C itself.
        #expect(throws: BackendError.self) { try connect(url + "?ssl-mode=VERIFY_IDENTITY") }
    }

    @Test func theOptionFileGivesWhatTheURLLeavesOutAndTheURLWins() throws {
        let user = "tm_opt_" + UUID().uuidString.prefix(8).lowercased()
        try TestMariaDB.execute(
            "CREATE USER '\(user)'@'127.0.0.1' IDENTIFIED BY 'from-the-file-1';\nGRANT ALL ON *.* TO '\(user)'@'127.0.0.1'"
        )
        let hostPort = try TestMariaDB.requireURL().replacingOccurrences(of: "mysql://root@", with: "")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tm-optfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("my.cnf")
        // The file names a port nothing listens on and the password; the URL's port wins.
        try "[tidemark]\nuser=\(user)\npassword=from-the-file-1\nport=1\n[other]\nuser=\(user)\npassword=not-it\n"
            .write(to: file, atomically: true, encoding: .utf8)
        _ = try connect("mysql://\(hostPort)", optionFile: file.path, optionGroup: "tidemark")
        let error = try #require(throws: BackendError.self) {
            try connect("mysql://\(hostPort)", optionFile: file.path, optionGroup: "other")
        }
        guard case .connectionFailed = error else { throw error }
    }
}

/// A script's session changes do not reach the next step on the same connection.
@Suite(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
struct MariaDBSessionTests {
    @Test func aScriptsSQLModeIsUndoneBeforeTheNextStep() throws {
        let database = try TestMariaDB.createDatabase(for: "sqlmode")
        let target = Target(
            name: "sqlmode", environment: "test", connection: .url(try TestMariaDB.requireURL()), schema: database)
        let connection = try MySQLBackend().connect(to: target, timeouts: BackendConformance.timeouts, logger: .silent)
        try connection.ensureHistoryTable()
        func step(_ version: String, _ sql: String) -> StepRequest {
            StepRequest(
                version: version, description: "v", kind: .forward, scriptPath: "V\(version).sql", sql: sql,
                checksum: "c",
                transactional: true, runID: "r", appliedBy: "tests")
        }
        try connection.run(step("1", "SET SESSION sql_mode = 'ANSI_QUOTES';\nCREATE TABLE \"quoted\" (id INT);"))
        // Under a leaked ANSI_QUOTES, "d" would be a column name and this would fail.
        try connection.run(step("2", "CREATE TABLE plain (name VARCHAR(5) DEFAULT \"d\");"))
        #expect(try TestMariaDB.tableExists("plain", inDatabase: database))
    }
}
