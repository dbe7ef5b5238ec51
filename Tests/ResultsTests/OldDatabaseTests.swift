@testable import Execution
import Foundation
import GRDB
import HostFacts
@testable import Requirements
@testable import Results
import TestSupport
import Testing

/// `Fixtures/v2.sqlite`: a results database written by the `testbed` of main before schema v3
/// (schema v1 and v2), three runs of a suite with a passing, a failing and a blocked test:
/// `…020433-7e54` (all three: exit 3), `…020434-a2de` (`--id /passes`: exit 0), and
/// `…020435-dbfa` (killed with SIGKILL during a fourth test, `/slow`: incomplete).
let fixtureV2 = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/v2.sqlite").path

/// A results directory holding a copy of `Fixtures/v2.sqlite` as its database.
func oldResults() throws -> TemporaryTree {
    let tree = try TemporaryTree()
    try FileManager.default.copyItem(atPath: fixtureV2, toPath: tree[SQLiteRunStore.databaseName])
    return tree
}

@Suite("A database from before schema v3")
struct OldDatabaseTests {
    let full = "20261130-020433-7e54"
    let one = "20261130-020434-a2de"
    let killed = "20261130-020435-dbfa"

    @Test("it opens, migrates to v3 and keeps every run, result, setup and fact; finished runs get counts")
    func migrated() throws {
        let tree = try oldResults()
        let before = try DatabaseQueue(path: tree[SQLiteRunStore.databaseName]).read {
            try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations")
        }
        try #require(before == ["v1", "v2"], "the fixture is a v2 database")
        let store = try SQLiteRunStore(directory: tree.path, create: false)
        #expect(try store.runs().map(\.id) == [killed, one, full])
        let report = try store.report(full)
        #expect(report.tests.map(\.id) == ["/passes", "/fails", "/behind-bridge"])
        #expect(report.tests.map(\.outcome) == [.pass, .fail, .blocked])
        #expect(report.tests[1].reason == "exit 1: assertion failed")
        #expect(report.tests[2].blockedBy == "bridge")
        #expect(report.setups.map(\.name) == ["bridge"])
        #expect(report.setups.first?.outcome == .failed)
        #expect(report.run.exitCode == 3)
        #expect(report.run.complete)
        #expect(report.facts.contains { $0.name == "kernel" })
        #expect(report.run.counts == [.pass: 1, .fail: 1, .blocked: 1])
        #expect(report.run.host == nil)
        #expect(report.run.machineID == nil)
        #expect(report.run.labels.isEmpty)
        #expect(report.run.snapshot == nil)
        #expect(report.run.suiteCommit == nil)
        #expect(report.run.suiteDirty == nil)
        #expect(try store.report(one).run.counts == [.pass: 1])
        let stopped = try store.report(killed)
        // A run that never ended has no counts in its row; its report counts its results, as `runs` lists it.
        #expect(stopped.run.counts == [.pass: 1, .fail: 1, .blocked: 1, .interrupted: 1])
        #expect(try store.runs(RunFilter()).first { $0.id == killed }?.counts == stopped.run.counts)
        #expect(!stopped.run.complete)
        #expect(stopped.tests.map(\.outcome) == [.pass, .fail, .blocked, .interrupted])
        let after = try DatabaseQueue(path: tree[SQLiteRunStore.databaseName]).read {
            try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations")
        }
        #expect(after == ["v1", "v2", "v3", "v4", "v5", "v6", "v7"])
    }

    @Test("a new run joins the old ones: all listed, the old still read back whole")
    func newRunAdded() async throws {
        let tree = try oldResults()
        let store = try SQLiteRunStore(directory: tree.path)
        await recordRun(store, id: "20261201-000000-0001", at: tree["20261201-000000-0001"],
                        provenance: RunProvenance(host: "lab", snapshot: sampleSnapshot(), labels: ["qemu": "9.1"]),
                        started: Date(timeIntervalSince1970: 1_796_083_200))
        #expect(try store.runs().map(\.id) == ["20261201-000000-0001", killed, one, full])
        #expect(try store.report(full).tests.map(\.outcome) == [.pass, .fail, .blocked])
        #expect(try store.latest().run.labels == ["qemu": "9.1"])
        #expect(store.history()["/fails"]?.failed == true)
    }
}
