import Testing
import TidemarkCore

@Suite struct ConnectionLocationTests {
    @Test func eachFormIsReadOnce() {
        #expect(ConnectionLocation(.url("postgres://app@db/app")) == .postgres("postgres://app@db/app"))
        #expect(ConnectionLocation(.url("host=db dbname=app")) == .postgres("host=db dbname=app"))
        #expect(ConnectionLocation(.service("billing")) == .service("billing"))
        #expect(ConnectionLocation(.url("sqlite:data/dev.db")) == .sqlite(path: "data/dev.db"))
        #expect(
            ConnectionLocation(.url("sqlite://data/dev.db")) == .sqlite(path: "data/dev.db"),
            "sqlite://PATH is sqlite:PATH")
        #expect(ConnectionLocation(.url("sqlite:///srv/dev.db")) == .sqlite(path: "/srv/dev.db"))
        #expect(ConnectionLocation(.url("mysql://app@db/app")) == .mysql("mysql://app@db/app"))
        #expect(ConnectionLocation(.url("memory:fleet")) == .other(scheme: "memory", name: "fleet"))
        #expect(ConnectionLocation(.url("memory://fleet")) == .other(scheme: "memory", name: "fleet"))
        #expect(
            ConnectionLocation(.url("Postgres://db/app")) == .other(scheme: "Postgres", name: "db/app"),
            "libpq reads lowercase schemes only")
        #expect(
            ConnectionLocation(.url("host=db:5432 dbname=app")) == .postgres("host=db:5432 dbname=app"),
            "a conninfo string's first `:` follows an `=`")
    }

    @Test func backendKindFollowsTheForm() {
        #expect(ConnectionLocation(.url("postgresql://db/app")).backendKind == .postgres)
        #expect(ConnectionLocation(.service("billing")).backendKind == .postgres)
        #expect(ConnectionLocation(.url("sqlite:dev.db")).backendKind == .sqlite)
        #expect(
            ConnectionLocation(.url("memory:x")).backendKind == BackendKind(rawValue: "memory"),
            "a scheme Tidemark does not serve names the backend an embedding program may register")
        #expect(Target(name: "t", environment: "e", connection: .url("sqlite:dev.db")).backendKind == .sqlite)
    }

    @Test(arguments: ["sqlite:", "sqlite://", "sqlite::memory:", "memory:", "memory://"])
    func locationsWithoutADatabaseSaySo(_ url: String) {
        let location = ConnectionLocation(.url(url))
        #expect(location.problem != nil)
        #expect(location.sqliteFilePath == nil)
    }

    @Test func onlyRelativeFilePathsNeedResolving() {
        #expect(ConnectionLocation(.url("sqlite:../data/dev.db")).relativeSQLitePath == "../data/dev.db")
        #expect(ConnectionLocation(.url("sqlite:///srv/dev.db")).relativeSQLitePath == nil)
        #expect(ConnectionLocation(.url("sqlite:file:dev.db?mode=ro")).relativeSQLitePath == nil)
        #expect(ConnectionLocation(.url("postgres://db/app")).relativeSQLitePath == nil)
    }

    @Test func writtenBackAsTheInventoryWritesIt() {
        #expect(ConnectionLocation.sqlite(path: "/srv/dev.db").url == "sqlite:/srv/dev.db")
        #expect(ConnectionLocation.other(scheme: "memory", name: "x").connection == .url("memory:x"))
        #expect(ConnectionLocation.service("billing").url == nil)
    }
}
