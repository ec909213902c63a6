import Testing
import TidemarkCore
import TidemarkTestSupport

/// The test server helper every PostgreSQL test goes through.
@Suite struct TestPostgresTests {
    @Test func urlComesFromTheVariableAndEmptyMeansNone() {
        #expect(TestPostgres.url(in: ["TIDEMARK_TEST_POSTGRES_URL": "postgres://t@h/db"]) == "postgres://t@h/db")
        #expect(TestPostgres.url(in: ["TIDEMARK_TEST_POSTGRES_URL": ""]) == nil)
        #expect(TestPostgres.url(in: [:]) == nil)
    }

    @Test func schemaNamesAreUniqueLowerCaseAndShortEnough() {
        let long = String(repeating: "Prod-EU ", count: 20)
        let names = (0..<50).map { _ in TestPostgres.uniqueSchemaName(for: long) }
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0.utf8.count <= 63 })
        #expect(names.allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") } })
    }

    @Test(.enabled(if: TestPostgres.isAvailable, Comment(rawValue: TestPostgres.skipReason)))
    func schemaIsCreatedSeenAndDropped() throws {
        let schema = try TestPostgres.createSchema(for: "helper")
        #expect(try !TestPostgres.tableExists("t", inSchema: schema))
        try TestPostgres.execute("CREATE TABLE \(TestPostgres.quoted(schema)).t (id integer)")
        #expect(try TestPostgres.tableExists("t", inSchema: schema))
        try TestPostgres.dropSchema(schema)
        #expect(try !TestPostgres.tableExists("t", inSchema: schema))
        #expect(throws: BackendError.self) {
            try TestPostgres.execute("SELECT * FROM \(TestPostgres.quoted(schema)).t")
        }
    }
}
