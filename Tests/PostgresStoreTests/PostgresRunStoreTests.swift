@testable import Execution
import Foundation
import HostFacts
@testable import PostgresStore
import Reporting
import Results
import TestSupport
import Testing

/// What only PostgreSQL has: a schema made by several processes at once, a connection lost during a run.
@Suite("PostgreSQL store: schema and recording", .enabled(if: StoreKind.serverURL != nil))
struct PostgresRunStoreTests {
    /// The versions `schema_migration` holds, in order.
    static func versions(_ url: DatabaseURL) throws -> [String] {
        let session = PostgresSession(configuration: url.configuration, shown: url.shown)
        return try session.query("SELECT identifier FROM schema_migration ORDER BY identifier").compactMap { PGRow($0).string("identifier") }
    }

    @Test("eight stores opening an empty database at once make the schema once; opening again changes nothing")
    func concurrentMigrations() async throws {
        let database = try TestDatabase.make()
        let tree = try TemporaryTree()
        let opened = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { (try? PostgresRunStore(url: database.url, directory: tree.path)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(opened == 8)
        #expect(try Self.versions(database.url) == PostgresRunStore.migrations.map(\.version))
        #expect(try Self.versions(database.url) == ["v1", "v2", "v3", "v4", "v5", "v6", "v7"])
        let again = try PostgresRunStore(url: database.url, directory: tree.path)
        #expect(try again.runs().isEmpty)
        #expect(try Self.versions(database.url).count == 7)
    }

    @Test("a run recorded through the store protocol reads back as the recorder had it")
    func readsBackEqual() async throws {
        let tree = try TemporaryTree()
        for kind in StoreKind.available {
            let store = try kind.open(tree)
            let (id, directory) = try store.newRun()
            #expect(FileManager.default.fileExists(atPath: directory) && directory.hasPrefix(store.directory + "/"))
            var info = RunInfo(id: id, environment: "lab", started: Date(timeIntervalSince1970: 1_790_000_000.25), directory: directory,
                               tests: ["/a", "/b"], decided: [], facts: [], jobs: 1)
            info.host = "lab1"
            info.labels = ["build": "42"]
            let recorder = store.recorder(runID: id, exitCodes: .standard, layout: nil)
            await recorder.record(.started(info))
            let results = [TestResult(id: "/a", outcome: .pass, started: info.started, duration: 1.5, logDirectory: "tests/a"),
                           TestResult(id: "/b", outcome: .fail, started: info.started, duration: 0.5, exitStatus: 1, reason: "exit 1")]
            for result in results { await recorder.record(.testFinished(result)) }
            await recorder.record(.finished(RunSummary(id: id, started: info.started, finished: info.started.addingTimeInterval(2),
                                                       tests: results, setups: [], interrupted: false, haltedBy: nil)))
            let recorded = try #require(recorder.report)
            #expect(recorder.outcome?.exitCode == 1 && recorder.outcome?.recordingError == nil)
            #expect(ReportWriter.json(try store.report(id)) == ReportWriter.json(recorded), "\(kind)")
            #expect(try store.report(nil).run.id == id)
        }
    }

    /// A run of two passing tests on a new store, `between` done after its start and before its first result.
    static func recordTwo(_ database: TestDatabase, between: (PostgresSession) throws -> Void, beforeEnd: (PostgresSession) throws -> Void = { _ in })
        async throws -> (PostgresRunStore, PostgresRecorder, String, [TestResult]) {
        let tree = try TemporaryTree()
        let store = try PostgresRunStore(url: database.url, directory: tree.path)
        let (id, directory) = try store.newRun()
        var info = RunInfo(id: id, environment: "lab", started: Date(), directory: directory, tests: ["/a", "/b"], decided: [], facts: [], jobs: 1)
        info.host = "lab1"
        let recorder = store.recorder(runID: id, exitCodes: .standard, layout: nil)
        await recorder.record(.started(info))
        let admin = PostgresSession(configuration: database.url.configuration, shown: database.url.shown)
        try between(admin)
        let tests = [TestResult(id: "/a", outcome: .pass, started: info.started, duration: 1),
                     TestResult(id: "/b", outcome: .pass, started: info.started, duration: 1)]
        for test in tests { await recorder.record(.testFinished(test)) }
        try beforeEnd(admin)
        await recorder.record(.finished(RunSummary(id: id, started: info.started, finished: Date(), tests: tests, setups: [],
                                                   interrupted: false, haltedBy: nil)))
        return (store, recorder, id, tests)
    }

    @Test("writes the database refuses during a run: the results wait in memory, are written at the end, and the run says so")
    func refusedWrites() async throws {
        let database = try TestDatabase.make()
        // The results' table gone for a while (as a server that refuses writes): each write in between fails.
        let (store, recorder, id, tests) = try await Self.recordTwo(database, between: { admin in
            _ = try admin.query("ALTER TABLE test_result RENAME TO test_result_away")
        }, beforeEnd: { admin in
            _ = try admin.query("ALTER TABLE test_result_away RENAME TO test_result")
        })
        let outcome = try #require(recorder.outcome)
        #expect(outcome.unrecorded == nil)
        #expect(outcome.recordingError?.contains("results could not be written for a while (relation \"test_result\" does not exist") == true,
                "\(String(describing: outcome.recordingError))")
        // Every result passed; the exit code has the infrastructure bit of a troubled recording, as with SQLite.
        #expect(outcome.exitCode == ExitPolicy(.standard).run(tests: tests, setups: [], interrupted: false, recordingFailed: true))
        let report = try store.report(id)
        #expect(report.tests.map(\.outcome) == [.pass, .pass])
        #expect(report.run.exitCode == outcome.exitCode && report.run.recordingError == outcome.recordingError)
    }

    @Test("a connection the server closes during a run: opened again, every result written, the row as the recorder says")
    func lostConnection() async throws {
        let database = try TestDatabase.make()
        // The server ends every other session on the database (as a restart would).
        let (store, recorder, id, _) = try await Self.recordTwo(database, between: { admin in
            _ = try admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                                [database.name])
        })
        let outcome = try #require(recorder.outcome)
        #expect(outcome.unrecorded == nil)
        let report = try store.report(id)
        #expect(report.tests.map(\.outcome) == [.pass, .pass])
        #expect(report.run.exitCode == outcome.exitCode && report.run.recordingError == outcome.recordingError)
        #expect(report.run.complete)
    }
}
