@testable import Execution
import Foundation
@testable import Reporting
@testable import Results
import TestSupport
import Testing

/// What commands see of a store: `RunStore`, through `any RunStore`.
@Suite("RunStore")
struct RunStoreTests {
    /// Records one finished run (`sampleInfo`: a failure, a blocked test, a pass, an unsupported test).
    static func record(_ store: any RunStore, id: String, directory: String) async -> (any RunRecorder, RunSummary) {
        let recorder = store.recorder(runID: id, exitCodes: .standard, layout: nil)
        let info = sampleInfo(directory, id: id)
        await recorder.record(.started(info))
        let tests = [
            TestResult(id: "/a", outcome: .fail, duration: 1, exitStatus: 2, reason: "exit 2"),
            TestResult(id: "/b", outcome: .blocked, reason: "setup img failed", blockedBy: "img"),
            TestResult(id: "/c", outcome: .pass, duration: 0.25, exitStatus: 0),
            TestResult(id: "/u", outcome: .unsupported, reason: "needs kvm; this host has no /dev/kvm"),
        ]
        let setups = [SetupResult(name: "img", phase: .setup, outcome: .failed, duration: 2, exitStatus: 7, reason: "exit 7")]
        for test in tests.prefix(3) { await recorder.record(.testFinished(test)) }
        for setup in setups { await recorder.record(.setupFinished(setup)) }
        let summary = RunSummary(id: id, started: info.started, finished: info.started.addingTimeInterval(3),
                                 tests: tests, setups: setups, interrupted: false, haltedBy: nil)
        await recorder.record(.finished(summary))
        return (recorder, summary)
    }

    @Test("the recorder's report is the run the store reads back, in every format")
    func sameRun() async throws {
        let tree = try TemporaryTree()
        let store: any RunStore = try SQLiteRunStore(directory: tree.path)
        let (recorder, _) = await Self.record(store, id: "r1", directory: tree.path)
        let handed = try #require(recorder.report)
        let read = try store.report("r1")
        #expect(recorder.outcome?.exitCode == 3)
        #expect(handed.run.exitCode == 3)
        #expect(read.run.exitCode == 3)
        #expect(handed.tests == read.tests)
        #expect(handed.setups == read.setups)
        #expect(handed.facts.map(\.name) == read.facts.map(\.name))
        #expect(handed.run.id == read.run.id && handed.run.complete == read.run.complete && handed.run.environment == read.run.environment)
        for format in [ReportFormat.json, .junit, .tap, .text] {
            #expect(format.render(handed) == format.render(read), "\(format)")
        }
    }

    @Test("no report before the run's end")
    func noReportBeforeEnd() async throws {
        let tree = try TemporaryTree()
        let store: any RunStore = try SQLiteRunStore(directory: tree.path)
        let recorder = store.recorder(runID: "r1", exitCodes: .standard, layout: nil)
        await recorder.record(.started(sampleInfo(tree.path)))
        #expect(recorder.report == nil)
        #expect(recorder.outcome == nil)
    }

    @Test("latest, runs and history through the protocol")
    func reading() async throws {
        let tree = try TemporaryTree()
        let store: any RunStore = try SQLiteRunStore(directory: tree.path)
        #expect(throws: StoreError.self) { try store.latest() }
        let first = try store.newRun(started: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(first.id.hasPrefix("20231114-221320-"))
        #expect(FileManager.default.fileExists(atPath: first.directory))
        _ = await Self.record(store, id: "r1", directory: tree.path)
        #expect(try store.latest().run.id == "r1")
        #expect(try store.runs().map(\.id) == ["r1"])
        let history = store.history()
        #expect(history["/a"] == TestHistory(duration: 1, failed: true))
        #expect(history["/c"] == TestHistory(duration: 0.25, failed: false))
        #expect(history["/b"] == nil)
        #expect(history["/u"] == nil)
    }
}
