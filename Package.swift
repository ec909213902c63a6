// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Tidemark",
    platforms: [.macOS(.v15)],
    products: [
        // The command line is the product; the modules are not offered as a library (docs/decisions/0027).
        .executable(name: "tidemark", targets: ["tidemark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries from the system (Debian: libpq-dev, libsqlite3-dev, libmariadb-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite3"])]
        ),

        // libcurl, for the email sink's SMTP (FoundationNetworking loads the same library for HTTP).
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]
        ),

        // MariaDB Connector/C: speaks to MySQL 5.7/8.x and MariaDB 10.x/11.x servers.
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"]), .brew(["mariadb-connector-c"])]
        ),

        // Values (versions, plans, inventories, states, outcomes, the run report), the Backend
        // protocol and error enums. No I/O, no SQL analysis.
        .target(
            name: "TidemarkCore",
            dependencies: [.product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        // SQL analysis: the lexer and statement scanner, the data-loss and lock-risk classifiers,
        // MySQL's statement splitter. Pure.
        .target(name: "TidemarkSQLCheck", dependencies: ["TidemarkCore"]),
        // Pure planner: values in, a rollout out (no clock, no environment, no files).
        .target(name: "TidemarkPlanner", dependencies: ["TidemarkCore", "TidemarkSQLCheck"]),
        // Files: plan directories, inventories, rollout files, reports, owner-only files, backups' partial files.
        .target(
            name: "TidemarkFiles",
            dependencies: [
                "TidemarkCore", "TidemarkSQLCheck",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "TidemarkPostgres",
            dependencies: ["TidemarkCore", "TidemarkSQLCheck", "TidemarkFiles", "TidemarkSessions", "CLibPQ", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TidemarkSQLite",
            dependencies: ["TidemarkCore", "TidemarkSQLCheck", "TidemarkFiles", "CSQLite", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TidemarkMySQL",
            dependencies: ["TidemarkCore", "TidemarkSQLCheck", "TidemarkFiles", "TidemarkSessions", "CMariaDB", .product(name: "Logging", package: "swift-log")]
        ),
        // Sessions shared per server, for the backends that pool them (PostgreSQL, MySQL).
        .target(name: "TidemarkSessions"),
        // One HTTP POST with a deadline and no redirects, for the sinks and the trace exporter.
        .target(name: "TidemarkHTTP", dependencies: ["TidemarkCore"]),
        .target(
            name: "TidemarkExecutor",
            // The planner for the wave policy (WavePolicy), the rule the control database follows too.
            dependencies: ["TidemarkCore", "TidemarkPlanner", "TidemarkFiles", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TidemarkNotify",
            dependencies: [
                "TidemarkCore", "TidemarkFiles", "TidemarkHTTP", "CCurl",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Seeing a run: grouping for fleet-scale text, Prometheus metrics, OTLP traces, HTML pages.
        .target(
            name: "TidemarkObserve",
            dependencies: ["TidemarkCore", "TidemarkHTTP", .product(name: "Logging", package: "swift-log")]
        ),
        // The use cases (status, plan, apply): inputs and sinks in, a report out; no terminal.
        .target(
            name: "TidemarkFleet",
            dependencies: [
                "TidemarkCore", "TidemarkSQLCheck", "TidemarkPlanner", "TidemarkFiles", "TidemarkExecutor", "TidemarkNotify",
                "TidemarkObserve", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // One rollout, many runners: the control database (SPEC 11), over TidemarkPostgres's session.
        .target(
            name: "TidemarkControl",
            dependencies: [
                "TidemarkCore", "TidemarkPlanner", "TidemarkFiles", "TidemarkExecutor", "TidemarkNotify", "TidemarkFleet", "TidemarkPostgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "tidemark",
            dependencies: [
                "TidemarkCore", "TidemarkSQLCheck", "TidemarkPlanner", "TidemarkFiles", "TidemarkPostgres", "TidemarkSQLite", "TidemarkMySQL",
                "TidemarkExecutor", "TidemarkNotify", "TidemarkFleet", "TidemarkObserve", "TidemarkControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmark: plans and executes a large in-memory fleet (scripts/bench runs it; not a test).
        .executableTarget(
            name: "tidemark-bench",
            dependencies: [
                "TidemarkCore", "TidemarkPlanner", "TidemarkExecutor", "TidemarkFleet", "TidemarkControl", "TidemarkPostgres",
                "TidemarkTestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Fuzz targets: every parser with the contract it keeps on any input (scripts/fuzz).
        .target(
            name: "TidemarkFuzz",
            dependencies: ["TidemarkCore", "TidemarkSQLCheck", "TidemarkFiles", "TidemarkNotify"]
        ),
        // libFuzzer's driver, declared for the fuzz executable (defined only with -sanitize=fuzzer).
        .target(name: "CFuzzerDriver"),
        // Runs libFuzzer when built with -sanitize=fuzzer -D FUZZING (scripts/fuzz); otherwise replays files.
        .executableTarget(name: "tidemark-fuzz", dependencies: ["TidemarkFuzz", "CFuzzerDriver"]),
        // In-memory backend, backend fixtures (SQLite, PostgreSQL), conformance suite, test helpers.
        .target(
            name: "TidemarkTestSupport",
            dependencies: [
                "TidemarkCore", "TidemarkSQLCheck", "TidemarkPostgres", "TidemarkSQLite", "TidemarkMySQL",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(name: "TidemarkCoreTests", dependencies: ["TidemarkCore"]),
        .testTarget(name: "TidemarkSQLCheckTests", dependencies: ["TidemarkSQLCheck", "TidemarkCore"]),
        .testTarget(
            name: "TidemarkPlannerTests",
            dependencies: ["TidemarkPlanner", "TidemarkCore", "TidemarkExecutor", "TidemarkTestSupport"]
        ),
        .testTarget(
            name: "TidemarkFilesTests",
            dependencies: ["TidemarkFiles", "TidemarkCore", "TidemarkTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TidemarkBackendTests",
            dependencies: ["TidemarkSQLite", "TidemarkPostgres", "TidemarkMySQL", "TidemarkTestSupport", "TidemarkCore"]
        ),
        .testTarget(
            name: "TidemarkNotifyTests",
            dependencies: [
                "TidemarkNotify", "TidemarkCore", "TidemarkTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The services' published schemas (PagerDuty Events v2, Adaptive Cards) and their validator.
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TidemarkFleetTests",
            dependencies: [
                "TidemarkFleet", "TidemarkCore", "TidemarkFiles", "TidemarkExecutor", "TidemarkPlanner", "TidemarkTestSupport", "TidemarkPostgres",
            ]
        ),
        .testTarget(
            name: "TidemarkObserveTests",
            dependencies: ["TidemarkObserve", "TidemarkCore", "TidemarkFiles", "TidemarkTestSupport"]
        ),
        .testTarget(
            name: "TidemarkExecutorTests",
            dependencies: ["TidemarkExecutor", "TidemarkPlanner", "TidemarkCore", "TidemarkTestSupport"]
        ),
        .testTarget(
            name: "TidemarkFuzzTests",
            dependencies: ["TidemarkFuzz", "TidemarkSQLCheck", "TidemarkFiles", "TidemarkCore", "TidemarkNotify"],
            resources: [.copy("Regressions")]
        ),
        .testTarget(
            name: "TidemarkControlTests",
            dependencies: [
                "TidemarkControl", "TidemarkCore", "TidemarkPostgres", "TidemarkTestSupport", "TidemarkFleet", "TidemarkExecutor",
            ]
        ),
        .testTarget(
            name: "TidemarkCLITests",
            // The `tidemark` executable too: building these tests builds it, so they never run a stale binary.
            dependencies: [
                "tidemark", "TidemarkCore", "TidemarkTestSupport", "TidemarkSQLite", "TidemarkPostgres", "TidemarkExecutor", "TidemarkFleet",
            ],
            exclude: ["Golden"]
        ),
    ]
)
