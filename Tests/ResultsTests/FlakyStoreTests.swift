@testable import Execution
import Foundation
import GRDB
@testable import Reporting
@testable import Results
import TestSupport
import Testing

@Suite("Reruns and the flaky policy in the results store")
struct FlakyStoreTests {
    /// A run on `host` whose tests end as `tests` say.
    static func record(_ store: SQLiteRunStore, id: String, host: String?, environment: String = "lab", started: Double,
                       tests: [TestResult], rerunFailures: Int = 0) async {
        let recorder = store.recorder(runID: id)
        var info = RunInfo(id: id, environment: environment, started: Date(timeIntervalSince1970: started), directory: "/r/" + id,
                           tests: tests.map(\.id), decided: [], facts: [], jobs: 1)
        info.host = host
        info.rerunFailures = rerunFailures
        await recorder.record(.started(info))
        for test in tests { await recorder.record(.testFinished(test)) }
        await recorder.record(.finished(RunSummary(id: id, started: info.started, finished: info.started.addingTimeInterval(1),
                                                   tests: tests, setups: [], interrupted: false, haltedBy: nil)))
    }

    @Test("attempts, the rerun mark and a forgiven failure are read back as written; the exit code leaves the forgiven failure out")
    func roundTrip() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let first = TestAttempt(outcome: .fail, started: Date(timeIntervalSince1970: 1_700_000_000), duration: 0.5, exitStatus: 1,
                                reason: "exit 1: boom", logDirectory: "tests/a")
        let tests = [
            TestResult(id: "/a", outcome: .pass, duration: 0.25, exitStatus: 0, logDirectory: "tests/a/attempt-2",
                       attempts: [first], flaky: .rerun(attempts: 2)),
            TestResult(id: "/b", outcome: .fail, exitStatus: 2, reason: "exit 2", flaky: .forgiven(failures: 1, window: 3, threshold: 2)),
            TestResult(id: "/c", outcome: .timeout, attempts: [TestAttempt(outcome: .timeout), TestAttempt(outcome: .fail, signal: 9)]),
        ]
        await Self.record(store, id: "r1", host: "h", started: 1_700_000_000, tests: tests, rerunFailures: 2)
        let report = try store.report("r1")
        #expect(report.tests == tests)
        #expect(report.run.rerunFailures == 2)
        #expect(report.run.exitCode == 1)
        #expect(report.exitCode(.standard) == 1)
        #expect(report.forgivenFailures.map(\.id) == ["/b"])
        #expect(report.countedFailures.map(\.id) == ["/c"])
        let attempts = try await store.pool.read { try Int.fetchAll($0, sql: "SELECT attempts FROM test_result ORDER BY position") }
        #expect(attempts == [2, 1, 3])
    }

    @Test("a test's earlier verdicts: this host and environment only, newest first, without the run judged, verdicts only")
    func verdicts() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        func run(_ id: String, host: String?, environment: String = "lab", at started: Double, _ outcome: TestOutcome) async {
            await Self.record(store, id: id, host: host, environment: environment, started: started,
                              tests: [TestResult(id: "/a", outcome: outcome)])
        }
        await run("1", host: "h", at: 100, .fail)
        await run("2", host: "h", at: 200, .pass)
        await run("3", host: "other", at: 300, .fail)
        await run("4", host: "h", environment: "vm", at: 400, .fail)
        await run("5", host: nil, at: 500, .fail)
        await run("6", host: "h", at: 600, .skip)
        await run("7", host: "h", at: 700, .timeout)
        await run("8", host: "h", at: 800, .fail)
        let history = store.verdictHistory(host: "h", environment: "lab", excludingRun: "8")
        #expect(history.recentVerdicts(test: "/a", limit: 10) == [.timeout, .pass, .fail])
        #expect(history.recentVerdicts(test: "/a", limit: 2) == [.timeout, .pass])
        #expect(history.recentVerdicts(test: "/other", limit: 10) == [])
        #expect(history.recentVerdicts(test: "/a", limit: 0) == [])
    }
}
