@testable import Execution
import Foundation
import Results
import TestSupport
import Testing

/// What a grid run asks of the store: the runs of its shards (by label), and a lost host's unfinished tests marked
/// interrupted, in both stores.
@Suite("Both stores: grid shards and a lost host")
struct BothStoresGridTests {
    /// A run started with labels and three tests, of which only `/a` finished (pass).
    static func openRun(_ store: some RunStore, id: String, labels: [String: String]) async {
        var info = RunInfo(id: id, environment: "lab", started: Date(timeIntervalSince1970: 1_700_000_000),
                           directory: store.directory + "/" + id, tests: ["/a", "/b", "/c"], decided: [], facts: [], jobs: 1)
        info.labels = labels
        let recorder = store.recorder(runID: id, exitCodes: .standard, layout: nil)
        await recorder.record(.started(info))
        await recorder.record(.testFinished(TestResult(id: "/a", outcome: .pass, started: info.started, duration: 0.5)))
    }

    @Test("a lost host: finished results stay, the rest and an unknown id become interrupted with the reason; the run ends",
          arguments: StoreKind.available)
    func interruptUnfinished(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        await Self.openRun(store, id: "r1", labels: ["grid-run": "grid-1", "grid-shard": "node3"])
        let reason = "host lost: node node3 stopped answering"
        try store.interruptUnfinished(run: "r1", tests: ["/a", "/b", "/c", "/d"], reason: reason, at: Date(timeIntervalSince1970: 1_700_000_100))
        let report = try store.report("r1")
        let outcomes = Dictionary(uniqueKeysWithValues: report.tests.map { ($0.id, $0.outcome) })
        #expect(outcomes == ["/a": .pass, "/b": .interrupted, "/c": .interrupted, "/d": .interrupted])
        #expect(report.tests.filter { $0.outcome == .interrupted }.allSatisfy { $0.reason == reason })
        #expect(report.tests.first { $0.id == "/a" }?.reason == nil)
        let run = try store.run("r1")
        #expect(run.interrupted)
        #expect(!run.complete)
        #expect(run.finished == Date(timeIntervalSince1970: 1_700_000_100))
        #expect(run.exitCode == ExitPolicy.interrupted)
        #expect(run.counts == [.pass: 1, .interrupted: 3])
    }

    @Test("a second call keeps the first end and the results already given", arguments: StoreKind.available)
    func interruptTwice(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        await Self.openRun(store, id: "r1", labels: [:])
        try store.interruptUnfinished(run: "r1", tests: ["/b"], reason: "first", at: Date(timeIntervalSince1970: 1_700_000_100))
        try store.interruptUnfinished(run: "r1", tests: ["/b", "/c"], reason: "second", at: Date(timeIntervalSince1970: 1_700_000_200))
        let report = try store.report("r1")
        #expect(report.tests.first { $0.id == "/b" }?.reason == "first")
        #expect(report.tests.first { $0.id == "/c" }?.reason == "second")
        #expect(try store.run("r1").finished == Date(timeIntervalSince1970: 1_700_000_100))
    }

    @Test("an unknown run is refused", arguments: StoreKind.available)
    func unknownRun(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        #expect(throws: StoreError.self) { try store.interruptUnfinished(run: "nope", tests: ["/a"], reason: "x", at: Date()) }
    }

    @Test("shard runs: those labelled grid-run=GRID, none of another grid", arguments: StoreKind.available)
    func shardRuns(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        await Self.openRun(store, id: "r1", labels: ["grid-run": "grid-1", "grid-shard": "node1"])
        await Self.openRun(store, id: "r2", labels: ["grid-run": "grid-2", "grid-shard": "node1"])
        await Self.openRun(store, id: "r3", labels: ["grid-run": "grid-1", "grid-shard": "node2"])
        await Self.openRun(store, id: "r4", labels: ["qemu": "9.1"])
        #expect(Set(try store.shardRuns(grid: "grid-1").map(\.id)) == ["r1", "r3"])
        #expect(try store.shardRuns(grid: "grid-3").isEmpty)
    }
}
