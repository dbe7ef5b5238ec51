@testable import Execution
import Foundation
import HostFacts
import Results
import TestSupport
import Testing

/// A grid shard's run is found by its labels (`grid-run=GRID`, `node=NODE`) from its start, while it runs, in both
/// stores (SQLite, and PostgreSQL when `TESTBED_TEST_DATABASE` is set): what `runs --grid slurm` and the grid run rely on.
@Suite("Both stores: a shard's run found by its labels from its start")
struct BothStoresShardLabelsTests {
    @Test("the labels are in the run row once the run has started, before any result and after its end", arguments: StoreKind.available)
    func labelsFromTheStart(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        let grid = "grid-20261130-101500-3fa2"
        var info = RunInfo(id: "shard1", environment: "lab", started: Date(timeIntervalSince1970: 1_800_000_000),
                           directory: store.directory + "/shard1", tests: ["/a", "/b"], decided: [], facts: [], jobs: 1)
        info.labels = ["grid-run": grid, "node": "node2"]
        let recorder = store.recorder(runID: "shard1", exitCodes: .standard, layout: nil)
        await recorder.record(.started(info))
        // An unrelated run of another grid, newer.
        await recordRun(store, id: "other", hour: 100_000, host: "node2", outcomes: [("/a", .pass)])

        func shardRun() throws -> RunReport.Run? {
            try store.runs().first { $0.labels["grid-run"] == grid && $0.labels["node"] == "node2" }
        }
        let started = try #require(try shardRun())
        #expect(started.id == "shard1" && started.finished == nil && started.exitCode == nil)
        #expect(started.labels == ["grid-run": grid, "node": "node2"])

        let result = TestResult(id: "/a", outcome: .pass, started: info.started, duration: 0.5)
        await recorder.record(.testFinished(result))
        await recorder.record(.finished(RunSummary(id: "shard1", started: info.started, finished: info.started.addingTimeInterval(2),
                                                   tests: [result, TestResult(id: "/b", outcome: .blocked, reason: "setup boot failed")],
                                                   setups: [], interrupted: false, haltedBy: nil)))
        let ended = try #require(try shardRun())
        #expect(ended.id == "shard1" && ended.finished != nil && ended.labels == started.labels)
        #expect(try store.runs().filter { $0.labels["grid-run"] == grid }.map(\.id) == ["shard1"])
    }
}
