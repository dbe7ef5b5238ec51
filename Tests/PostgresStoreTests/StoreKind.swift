import Execution
import Foundation
import HostFacts
@testable import PostgresStore
import Results
import TestSupport
import Testing

/// The two stores the shared suites run against: SQLite always, PostgreSQL when `TESTBED_TEST_DATABASE` names a
/// database the tests may use (a URL to an empty database whose role may CREATE DATABASE; `scripts/local-grid up`
/// prints one as TESTBED_DATABASE).
enum StoreKind: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The URL of `TESTBED_TEST_DATABASE`; nil when unset (the PostgreSQL cases are left out).
    static var serverURL: String? {
        ProcessInfo.processInfo.environment["TESTBED_TEST_DATABASE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// SQLite, and PostgreSQL when a server is given.
    static var available: [StoreKind] { serverURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// A new empty store of this kind, its results directory in `tree`.
    func open(_ tree: TemporaryTree) throws -> any RunStore {
        switch self {
        case .sqlite: return try SQLiteRunStore(directory: tree.path)
        case .postgres: return try PostgresRunStore(url: TestDatabase.make().url, directory: tree.path)
        }
    }
}

/// A database of its own for one test (`CREATE DATABASE testbed_test_…` on the server of `TESTBED_TEST_DATABASE`):
/// tests stay independent and may run in parallel. Dropped when the process ends is not possible from here, so
/// each test's database is dropped by the next `make()` once it is older than an hour.
struct TestDatabase {
    let url: DatabaseURL
    let name: String

    static func make() throws -> TestDatabase {
        let server = try DatabaseURL(try #require(StoreKind.serverURL))
        let session = PostgresSession(configuration: server.configuration, shown: server.shown)
        let name = "testbed_test_\(Int(Date().timeIntervalSince1970))_\(UInt32.random(in: 0...UInt32.max))"
        for row in try session.query("SELECT datname FROM pg_database WHERE datname LIKE 'testbed_test_%'") {
            guard let old = PGRow(row).string("datname"), let stamp = Int(old.split(separator: "_")[2]),
                  Double(stamp) < Date().timeIntervalSince1970 - 3600 else { continue }
            _ = try? session.query("DROP DATABASE IF EXISTS \"\(old)\" WITH (FORCE)")
        }
        _ = try session.query("CREATE DATABASE \"\(name)\"")
        var url = server
        url.database = name
        return TestDatabase(url: url, name: name)
    }
}
