@testable import Dashboard
@testable import Execution
import Foundation
import HostFacts
import Results
import Subtests
import TestSupport
import Testing

@Suite("the dashboard: failed subtests in a test's row")
struct DashboardSubtestTests {
    @Test("the newest run's failed subtests: counted and named (three at most) under the test's outcome")
    func failedSubtests() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let started = Date(timeIntervalSince1970: 1_790_000_000)
        var tap = TestResult(id: "/tap", outcome: .fail, started: started, duration: 1, exitStatus: 0, reason: "subtest b failed")
        tap.subtests = ["a", "b", "c", "d", "e"].enumerated().map {
            Subtest(name: $0.element, outcome: $0.offset == 0 ? .pass : .fail, ordinal: $0.offset + 1)
        }
        tap.subtestCounts = SubtestCounts(tap.subtests)
        let plain = TestResult(id: "/plain", outcome: .pass, started: started, duration: 1, exitStatus: 0)
        let info = RunInfo(id: "r1", environment: "local", started: started, directory: tree.path + "/r1", tests: ["/tap", "/plain"],
                           decided: [], facts: [], jobs: 1)
        let recorder = store.recorder(runID: "r1", exitCodes: .standard, layout: nil)
        await recorder.record(.started(info))
        await recorder.record(.testFinished(tap))
        await recorder.record(.testFinished(plain))
        await recorder.record(.finished(RunSummary(id: "r1", started: started, finished: started.addingTimeInterval(5),
                                                   tests: [tap, plain], setups: [], interrupted: false, haltedBy: nil)))
        let data = try DashboardData(store: store, last: 20)
        let row = try #require(data.tests.first { $0.id == "/tap" })
        #expect(row.failedSubtestCount == 4)
        #expect(row.failedSubtests == ["b", "c", "d"])
        #expect(data.tests.first { $0.id == "/plain" }?.failedSubtestCount == 0)
        let html = DashboardPage(data: data).render()
        #expect(html.contains("<small class=\"muted subtests\"> (4 subtests failed: b; c; d; …)</small>"), "\(html)")
        #expect(html.components(separatedBy: "class=\"muted subtests\"").count == 2, "only the test whose subtests failed")
    }
}
