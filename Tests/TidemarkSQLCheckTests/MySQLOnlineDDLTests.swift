import Testing
import TidemarkCore
import TidemarkSQLCheck

/// The online-DDL table per flavour and version (docs/mysql.md#online-ddl-classes).
@Suite struct MySQLOnlineDDLTests {
    static let mariadb = DatabaseServer(product: .mariadb, version: "10.11.19")
    static let mysql80 = DatabaseServer(product: .mysql, version: "8.0.36")
    static let mysql8020 = DatabaseServer(product: .mysql, version: "8.0.20")
    static let mysql57 = DatabaseServer(product: .mysql, version: "5.7.44")

    func onlineClass(_ sql: String, _ server: DatabaseServer) -> OnlineDDLClass? {
        MySQLOnlineDDL.classify(sql, server: server)?.onlineClass
    }

    @Test func columnsDependOnTheVersion() {
        let add = "ALTER TABLE t ADD COLUMN c INT"
        let addFirst = "ALTER TABLE t ADD COLUMN c INT FIRST"
        #expect(onlineClass(add, Self.mariadb) == .instant)
        #expect(onlineClass(addFirst, Self.mariadb) == .instant)
        #expect(onlineClass(add, Self.mysql80) == .instant)
        #expect(onlineClass(addFirst, Self.mysql8020) == .inplaceRebuild) // INSTANT anywhere only from 8.0.29
        // the 8.0 series as it stands
        #expect(onlineClass(addFirst, DatabaseServer(dialect: "mysql-8.0") ?? Self.mysql57) == .instant)
        #expect(onlineClass(add, Self.mysql8020) == .instant)
        #expect(onlineClass(add, Self.mysql57) == .inplaceRebuild)
        #expect(onlineClass("ALTER TABLE t DROP COLUMN c", Self.mysql8020) == .inplaceRebuild)
        #expect(onlineClass("ALTER TABLE t DROP COLUMN c", Self.mysql80) == .instant)
        #expect(onlineClass("ALTER TABLE t RENAME COLUMN a TO b", Self.mysql8020) == .inplace)
        #expect(onlineClass("ALTER TABLE t ADD COLUMN g INT AS (a + 1) STORED", Self.mariadb) == .copy)
        #expect(onlineClass("ALTER TABLE t ADD COLUMN id2 INT AUTO_INCREMENT UNIQUE", Self.mysql80) == .inplaceRebuild)
    }

    @Test func indexesKeysAndTableOptions() {
        #expect(onlineClass("CREATE INDEX i ON t (a)", Self.mariadb) == .inplace)
        #expect(onlineClass("ALTER TABLE t ADD FULLTEXT INDEX f (b)", Self.mysql80) == .inplaceRebuild)
        #expect(onlineClass("ALTER TABLE t DROP INDEX i", Self.mysql80) == .inplace)
        #expect(onlineClass("ALTER TABLE t RENAME INDEX i TO j", Self.mariadb) == .instant)
        #expect(onlineClass("ALTER TABLE t RENAME INDEX i TO j", Self.mysql80) == .inplace)
        #expect(onlineClass("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id)", Self.mariadb) == .copy)
        #expect(onlineClass("ALTER TABLE t DROP FOREIGN KEY fk", Self.mariadb) == .instant)
        #expect(onlineClass("ALTER TABLE t DROP PRIMARY KEY", Self.mysql80) == .copy)
        #expect(onlineClass("ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, a)", Self.mysql80) == .copy)
        #expect(onlineClass("ALTER TABLE t ENGINE=InnoDB", Self.mariadb) == .inplaceRebuild)
        #expect(onlineClass("ALTER TABLE t CONVERT TO CHARACTER SET latin1", Self.mariadb) == .copy)
        #expect(onlineClass("ALTER TABLE t DEFAULT CHARACTER SET latin1", Self.mariadb) == .instant)
        #expect(onlineClass("ALTER TABLE t DEFAULT CHARACTER SET latin1", Self.mysql80) == .inplaceRebuild)
    }

    @Test func theCostliestClauseDecidesAndExplicitInstantIsSafe() {
        let finding = MySQLOnlineDDL.classify(
            "ALTER TABLE `shop`.`orders` ADD COLUMN note TEXT, MODIFY total BIGINT", server: Self.mariadb)
        #expect(
            finding?.onlineClass == .copy && finding?.table == "orders"
                && finding?.operations == ["ADD COLUMN note", "MODIFY total"])
        #expect(finding?.concurrentDML == false)
        #expect(
            MySQLOnlineDDL.classify("ALTER TABLE t ADD COLUMN c INT, ALGORITHM=INSTANT", server: Self.mariadb) == nil)
        #expect(MySQLOnlineDDL.classify("INSERT INTO t VALUES (1)", server: Self.mariadb) == nil)
        let found = MySQLOnlineDDL.findings(
            in: "CREATE TABLE t (id INT);\n\nALTER TABLE t\n  MODIFY id BIGINT;\n", server: Self.mysql80)
        #expect(found.map(\.line) == [3] && found.map(\.endLine) == [4])
        #expect(LockRisk(found[0])?.rule == .mysqlCopy)
    }
}
