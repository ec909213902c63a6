import Testing
import TidemarkTestSupport

/// The test server helper every MariaDB test goes through.
@Suite struct TestMariaDBTests {
    @Test func urlComesFromTheVariableAndEmptyMeansNone() {
        #expect(
            TestMariaDB.url(in: ["TIDEMARK_TEST_MARIADB_URL": "mysql://root@127.0.0.1:3306/"])
                == "mysql://root@127.0.0.1:3306/")
        #expect(TestMariaDB.url(in: ["TIDEMARK_TEST_MARIADB_URL": ""]) == nil)
        #expect(TestMariaDB.url(in: [:]) == nil)
    }

    @Test func onlyTheValueOneRequiresTheServer() {
        #expect(TestMariaDB.isRequired(in: ["TIDEMARK_REQUIRE_MARIADB": "1"]))
        #expect(!TestMariaDB.isRequired(in: ["TIDEMARK_REQUIRE_MARIADB": "0"]))
        #expect(!TestMariaDB.isRequired(in: [:]))
    }

    @Test func databaseNamesAreUniqueLowerCaseAndShortEnough() {
        let long = String(repeating: "Prod-EU ", count: 20)
        let names = (0..<50).map { _ in TestMariaDB.uniqueDatabaseName(for: long) }
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0.utf8.count <= 64 })
        #expect(names.allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") } })
    }

    /// Under scripts/test the server is required: its absence fails here instead of skipping.
    @Test(.enabled(if: TestMariaDB.isEnabled, Comment(rawValue: TestMariaDB.skipReason)))
    func theServerIsThereWhenRequired() throws {
        let url = try TestMariaDB.requireURL()
        #expect(url.hasPrefix("mysql://"))
    }
}
