@testable import Execution
import Foundation
@testable import Results
import Subtests
import TestSupport
import Testing

@Suite("Result store: subtests (schema v5)", .serialized)
struct SubtestStoreTests {
    /// A run of `/t` with three subtests (one failed, counts covering two more not kept) and `/u` with none.
    static func record(_ store: SQLiteRunStore, id: String, hour: Int) async {
        var info = RunInfo(id: id, environment: "lab", started: Date(timeIntervalSince1970: 1_800_000_000 + Double(hour) * 3600),
                           directory: store.directory + "/" + id, tests: ["/t", "/u"], decided: [], facts: [], jobs: 1)
        info.host = "lab1"
        let recorder = store.recorder(runID: id)
        await recorder.record(.started(info))
        var tap = TestResult(id: "/t", outcome: .fail, started: info.started, duration: 1, exitStatus: 0,
                             reason: "subtest b failed though it exited 0")
        tap.subtests = [Subtest(name: "a", outcome: .pass, ordinal: 1), Subtest(name: "b", outcome: .fail, reason: "boom", ordinal: 2),
                        Subtest(name: "c/d", outcome: .skip, reason: "no root", ordinal: 3)]
        tap.subtestCounts = SubtestCounts(pass: 3, fail: 1, skip: 1)
        let plain = TestResult(id: "/u", outcome: .pass, started: info.started, duration: 1, exitStatus: 0)
        await recorder.record(.testFinished(tap))
        await recorder.record(.testFinished(plain))
        await recorder.record(.finished(RunSummary(id: id, started: info.started, finished: info.started.addingTimeInterval(5),
                                                   tests: [tap, plain], setups: [], interrupted: false, haltedBy: nil)))
    }

    @Test("a v2 database migrated to v5 keeps its runs and records a new run's subtests, read back in order with counts")
    func migratedAndReadBack() async throws {
        let tree = try oldResults()
        let store = try SQLiteRunStore(directory: tree.path)
        #expect(try store.report("20261130-020433-7e54").tests.allSatisfy { $0.subtests.isEmpty && $0.subtestCounts == nil })
        await Self.record(store, id: "20261201-000000-0001", hour: 0)
        let report = try store.report("20261201-000000-0001")
        let tap = try #require(report.tests.first { $0.id == "/t" })
        #expect(tap.subtests.map(\.name) == ["a", "b", "c/d"])
        #expect(tap.subtests.map(\.outcome) == [.pass, .fail, .skip])
        #expect(tap.subtests.map(\.reason) == [nil, "boom", "no root"])
        #expect(tap.subtests.map(\.ordinal) == [1, 2, 3])
        #expect(tap.subtestCounts == SubtestCounts(pass: 3, fail: 1, skip: 1))
        let plain = try #require(report.tests.first { $0.id == "/u" })
        #expect(plain.subtests.isEmpty && plain.subtestCounts == nil)
    }

    @Test("history entries carry each run's subtest counts and the first failed subtests' names")
    func history() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        await Self.record(store, id: "r1", hour: 0)
        await Self.record(store, id: "r2", hour: 1)
        let entries = try store.testHistory("/t", filter: RunFilter())
        #expect(entries.map(\.runID) == ["r2", "r1"])
        #expect(entries.map(\.subtests) == [SubtestCounts(pass: 3, fail: 1, skip: 1), SubtestCounts(pass: 3, fail: 1, skip: 1)])
        #expect(entries.map(\.failedSubtests) == [["b"], ["b"]])
        let plain = try store.testHistory("/u", filter: RunFilter())
        #expect(plain.allSatisfy { $0.subtests == nil && $0.failedSubtests.isEmpty })
    }
}
