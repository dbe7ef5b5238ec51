// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Testbed",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "testbed", targets: ["testbed"]),
        .library(name: "Requirements", targets: ["Requirements"]),
        .library(name: "Catalog", targets: ["Catalog"]),
        .library(name: "Scheduler", targets: ["Scheduler"]),
        .library(name: "Results", targets: ["Results"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // Property-based tests that fuzz the parsers (Tests/*/…FuzzTests.swift).
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // Small C helpers for system calls Swift cannot call directly (variadic ioctl).
        .target(name: "CShim"),
        // Requirement grammar, versions, facts, host probes, environments; YAML through libyaml (CYaml, from Yams).
        .target(name: "Requirements", dependencies: ["CShim", "Yams"]),
        // Setups, teardowns and their exports.
        .target(name: "Setup", dependencies: ["Requirements"]),
        // The test catalog: suites, testbed.yaml files and drop-in executables.
        .target(name: "Catalog", dependencies: ["Requirements", "Setup"]),
        // Resolver (catalog + facts -> plan), selection.
        .target(name: "Scheduler", dependencies: ["Requirements", "Setup", "Catalog"]),
        // The results database (SQLite through GRDB) and the reports read from it.
        .target(name: "Results", dependencies: ["CShim", "Scheduler", .product(name: "GRDB", package: "GRDB.swift")]),
        .executableTarget(name: "testbed", dependencies: [
            "CShim", "Requirements", "Setup", "Catalog", "Scheduler", "Results",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [
            // The Swift runtime and Foundation linked in: a release `testbed` starts
            // in ~10 ms instead of ~40 (no dynamic loading of libFoundation), which
            // every run, `check` and the per-run guard process pay.
            .unsafeFlags(["-static-stdlib", "-Xlinker", "--start-group", "-Xlinker", "-lFoundation", "-Xlinker", "-lFoundationEssentials", "-Xlinker", "-lFoundationInternationalization", "-Xlinker", "-l_FoundationCollections", "-Xlinker", "-l_FoundationCShims", "-Xlinker", "-l_FoundationICU", "-Xlinker", "-lCoreFoundation", "-Xlinker", "-lswiftDispatch", "-Xlinker", "-ldispatch", "-Xlinker", "-lBlocksRuntime", "-Xlinker", "-lswiftSynchronization", "-Xlinker", "--end-group", "-Xlinker", "-lstdc++"], .when(platforms: [.linux], configuration: .release)),
        ]),
        // Fixture trees for the tests.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "RequirementsTests", dependencies: [
            "Requirements", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "SetupTests", dependencies: ["Setup"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "TestSupport"]),
        .testTarget(name: "SchedulerTests", dependencies: [
            "Scheduler", "Catalog", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "ResultsTests", dependencies: ["Results", "Scheduler", "TestSupport"]),
        .testTarget(name: "TestbedCLITests", dependencies: ["testbed", "TestSupport"]),
    ]
)
