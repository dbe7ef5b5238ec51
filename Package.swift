// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Testbed",
    products: [
        .executable(name: "testbed", targets: ["testbed"]),
        .library(name: "Declarations", targets: ["Declarations"]),
        .library(name: "Requirements", targets: ["Requirements"]),
        .library(name: "HostFacts", targets: ["HostFacts"]),
        .library(name: "KernelHealth", targets: ["KernelHealth"]),
        .library(name: "Subtests", targets: ["Subtests"]),
        .library(name: "Catalog", targets: ["Catalog"]),
        .library(name: "Planning", targets: ["Planning"]),
        .library(name: "ProcessSupervision", targets: ["ProcessSupervision"]),
        .library(name: "Execution", targets: ["Execution"]),
        .library(name: "Results", targets: ["Results"]),
        .library(name: "Reporting", targets: ["Reporting"]),
        .library(name: "History", targets: ["History"]),
        .library(name: "Dashboard", targets: ["Dashboard"]),
        .library(name: "Server", targets: ["Server"]),
        .library(name: "PostgresStore", targets: ["PostgresStore"]),
        .library(name: "Grid", targets: ["Grid"]),
        .library(name: "TestbedCommands", targets: ["TestbedCommands"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // SHA-256 of a run's snapshot (the key that shares identical snapshots between runs).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // Property-based tests that fuzz the parsers (Tests/*/…FuzzTests.swift).
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // HTML of `testbed report --html` (the dashboard), built as typed nodes rather than concatenated strings.
        .package(url: "https://github.com/JohnSundell/Plot", from: "0.14.0"),
        // `testbed serve`: the HTTP server of the live dashboard and the read-only JSON API (only the Server module imports it).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // The results database in PostgreSQL (`--database postgresql://…`; only the PostgresStore module imports it).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Each target imports only the targets listed here; ARCHITECTURE.md draws the map.
        // Small C helpers for system calls Swift cannot call directly (variadic ioctl, pidfd).
        .target(name: "CShim"),
        // What the user wrote: YAML with locations, declaration errors, command lines.
        // libyaml is imported as CYaml, the C target of the Yams product (SwiftPM
        // offers no product of its own for it).
        .target(name: "Declarations", dependencies: ["Yams"]),
        // The requirement grammar, versions, sizes, and checks of a requirement against facts.
        .target(name: "Requirements", dependencies: ["Declarations"]),
        // The kernel's health: its taint decoded, its log (/dev/kmsg) read by one reader for the run, records per test.
        .target(name: "KernelHealth"),
        // What a host has: probes of the local host, environment files, fact sources.
        .target(name: "HostFacts", dependencies: ["CShim", "Declarations", "Requirements", "KernelHealth"]),
        // Subtests: the output protocols (TAP, KTAP, kvm-unit-tests' report lines, gtest) and their streaming parsers.
        .target(name: "Subtests"),
        // Suites, tests and setups as declared: the loader, selection, exports; field suite formats.
        .target(name: "Catalog", dependencies: ["Declarations", "Requirements", "HostFacts", "Subtests"]),
        // Catalog + facts -> a plan (verdicts and the graph of steps), decided before anything runs.
        .target(name: "Planning", dependencies: ["Declarations", "Requirements", "HostFacts", "Catalog"]),
        // The Linux mechanics of starting, watching and killing processes.
        .target(name: "ProcessSupervision", dependencies: ["CShim", "Declarations", "HostFacts"]),
        // Runs a plan: steps, outcomes, run events, the results directory on disk.
        .target(name: "Execution", dependencies: [
            "CShim", "Declarations", "Requirements", "HostFacts", "Catalog", "Planning", "ProcessSupervision", "Subtests", "KernelHealth",
        ]),
        // The results database (SQLite through GRDB): a recorder that writes runs, and reads them back.
        .target(name: "Results", dependencies: [
            "CShim", "Requirements", "HostFacts", "ProcessSupervision", "Execution", "Subtests", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The results database in PostgreSQL (postgres-nio): the same store protocol, schema and history queries as SQLite.
        .target(name: "PostgresStore", dependencies: [
            "CShim", "Requirements", "HostFacts", "Execution", "Results", "Subtests", .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The lab's memory read back: two runs compared, a test's timeline, fail ratios, snapshot diffs, regressions, why.
        .target(name: "History", dependencies: ["HostFacts", "Execution", "Results", "Subtests"]),
        // The dashboard: the store's recent history gathered into one value (`DashboardData`), rendered as one self-contained HTML page.
        .target(name: "Dashboard", dependencies: ["HostFacts", "Execution", "Results", "History", "Subtests", .product(name: "Plot", package: "Plot")]),
        // `testbed serve`: the live dashboard, the logs and the read-only JSON API over HTTP (Hummingbird).
        .target(name: "Server", dependencies: [
            "Results", "PostgresStore", "History", "Dashboard", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Text, JSON, JUnit and TAP reports over one RunReport (the exit-code policy is in Execution).
        .target(name: "Reporting", dependencies: ["Declarations", "Requirements", "ProcessSupervision", "Execution", "Results", "Subtests"]),
        // The Slurm grid: nodes and their statuses (online, offline, halted), features from facts, drain, resume, jobs;
        // every Slurm command through one seam (`SlurmCommands`).
        .target(name: "Grid", dependencies: ["Declarations", "Requirements", "HostFacts", "Catalog", "Planning"]),
        // The command line: check, plan, probe, run, report (swift-argument-parser).
        .target(name: "TestbedCommands", dependencies: [
            "CShim", "Declarations", "Requirements", "HostFacts", "Catalog", "Planning", "ProcessSupervision",
            "Execution", "Results", "PostgresStore", "Reporting", "History", "Dashboard", "Server", "Subtests",
            "KernelHealth", "Grid",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "testbed", dependencies: ["TestbedCommands"], linkerSettings: [
            // The Swift runtime and Foundation linked in: a release `testbed` starts
            // in ~10 ms instead of ~40 (no dynamic loading of libFoundation), which
            // every run, `check` and the per-run guard process pay. `-s`: stripped
            // (symbols are a third of the file; a crash's backtrace then shows addresses).
            .unsafeFlags(["-static-stdlib", "-Xlinker", "-s", "-Xlinker", "--start-group", "-Xlinker", "-lFoundation", "-Xlinker", "-lFoundationEssentials", "-Xlinker", "-lFoundationInternationalization", "-Xlinker", "-l_FoundationCollections", "-Xlinker", "-l_FoundationCShims", "-Xlinker", "-l_FoundationICU", "-Xlinker", "-lCoreFoundation", "-Xlinker", "-lswiftDispatch", "-Xlinker", "-ldispatch", "-Xlinker", "-lBlocksRuntime", "-Xlinker", "-lswiftSynchronization", "-Xlinker", "--end-group", "-Xlinker", "-lstdc++"], .when(platforms: [.linux], configuration: .release)),
        ]),
        // Fixture trees, polling, fuzz generators, a fake process launcher, testbed commands run in-process.
        .target(name: "TestSupport", dependencies: [
            "Declarations", "Requirements", "HostFacts", "Catalog", "Planning", "ProcessSupervision", "Execution", "TestbedCommands",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "DeclarationsTests", dependencies: ["Declarations", "TestSupport"]),
        .testTarget(name: "RequirementsTests", dependencies: [
            "Requirements", "Declarations", "HostFacts", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "HostFactsTests", dependencies: ["HostFacts", "Requirements", "Declarations", "CShim", "TestSupport"]),
        .testTarget(name: "SubtestsTests", dependencies: ["Subtests"]),
        .testTarget(name: "KernelHealthTests", dependencies: ["KernelHealth", "TestSupport"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "Requirements", "HostFacts", "Declarations", "TestSupport"]),
        .testTarget(name: "PlanningTests", dependencies: [
            "Planning", "Catalog", "Requirements", "HostFacts", "Declarations", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "ProcessSupervisionTests", dependencies: ["ProcessSupervision", "HostFacts", "Declarations", "CShim", "TestSupport"]),
        .testTarget(name: "ExecutionTests", dependencies: [
            "Execution", "ProcessSupervision", "Planning", "Catalog", "Requirements", "HostFacts", "Declarations", "Subtests", "TestSupport",
            "KernelHealth",
        ]),
        .testTarget(name: "ResultsTests", dependencies: [
            "Results", "Reporting", "Execution", "Requirements", "Subtests", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ], exclude: ["Fixtures"]),
        .testTarget(name: "PostgresStoreTests", dependencies: [
            "PostgresStore", "Results", "Reporting", "History", "Execution", "HostFacts", "Requirements", "Subtests", "TestSupport",
        ]),
        .testTarget(name: "HistoryTests", dependencies: ["History", "Results", "Execution", "HostFacts"]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "History", "Results", "Execution", "HostFacts", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Results", "TestSupport"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "Results", "Execution", "Subtests", "TestSupport"]),
        .testTarget(name: "GridTests", dependencies: ["Grid", "HostFacts", "Requirements", "Catalog", "Planning", "Declarations", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "TestbedCLITests", dependencies: ["testbed", "TestbedCommands", "Grid", "TestSupport", "Yams"]),
    ]
)
