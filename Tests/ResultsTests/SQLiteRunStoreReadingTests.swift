@testable import Execution
import Foundation
@testable import Results
import TestSupport
import Testing

/// Reading runs back: by id prefix (every character literal, several runs
/// an error naming them), and whether a `testbed run` still holds a run.
@Suite("Result store: finding a run")
struct SQLiteRunStoreReadingTests {
    /// A store with a started run for each id, each in a run directory of its own.
    static func store(_ ids: [String], in tree: TemporaryTree) async throws -> SQLiteRunStore {
        let store = try SQLiteRunStore(directory: tree.path)
        for (index, id) in ids.enumerated() {
            let sample = sampleInfo(tree[id], id: id)
            let info = RunInfo(id: id, environment: sample.environment, started: Date(timeIntervalSince1970: 1_700_000_000 + Double(index)),
                               directory: sample.directory, tests: sample.tests, decided: sample.decided, facts: sample.facts, jobs: 1)
            await store.recorder(runID: id).record(.started(info))
        }
        return store
    }

    @Test("% and _ in a prefix are themselves; a prefix of several runs names them, newest first",
          arguments: [("ab_", "ab_1"), ("ab%", "ab%2"), ("abc", "abc3"), ("ab_1", "ab_1")])
    func prefix(asked: String, found: String) async throws {
        let tree = try TemporaryTree()
        let store = try await Self.store(["ab_1", "ab%2", "abc3", "xyz4"], in: tree)
        #expect(try store.report(asked).run.id == found)
        #expect(throws: StoreError.self) { try store.report("a_") }
        #expect(throws: StoreError.self) { try store.report("%") }
        do {
            _ = try store.report("ab")
            Issue.record("ab begins three ids")
        } catch {
            guard case let .ambiguousRun(prefix, ids, directory) = error else { throw error }
            #expect(prefix == "ab")
            #expect(ids == ["abc3", "ab%2", "ab_1"])
            #expect(directory == tree.path)
            #expect(error.description == "ab begins the ids of 3 runs in \(tree.path): abc3, ab%2, ab_1; "
                + "give more of the id (`testbed runs` lists the runs)")
        }
    }

    @Test("more than ten runs of one prefix: the ten newest named, and how many more")
    func manyRuns() async throws {
        let tree = try TemporaryTree()
        let ids = (10..<22).map { "run\($0)" }
        let store = try await Self.store(ids, in: tree)
        let error = try #require(throws: StoreError.self) { try store.report("run") }
        #expect(error.description.hasPrefix("run begins the ids of 12 runs in \(tree.path): run21, run20,"))
        #expect(error.description.contains("run12, and 2 more; give more"), "\(error)")
    }

    @Test("a run whose lock is held reads as running, its pending tests not yet finished; the lock let go, as incomplete")
    func running() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let run = try store.newRun()
        let layout = try RunLayout(results: store.results, name: run.id)
        var lock = RunLock.hold(in: layout)
        #expect(lock != nil)
        await store.recorder(runID: run.id).record(.started(sampleInfo(run.directory, id: run.id)))
        // Another open of the run directory (as `testbed report` makes) cannot take its lock; the run started in 2023: hours ago.
        let held = try store.report(run.id)
        #expect(held.run.running == RunLock.Holder(pid: getpid()))
        #expect(held.run.runningNote?.hasSuffix(" h: testbed pid \(getpid()) is still writing it, in \(run.directory))") == true)
        #expect(held.tests[0].reason == "not finished yet: the run is still going")
        #expect(try store.runs().first?.running != nil)
        lock = nil
        let left = try store.report(run.id)
        #expect(left.run.running == nil)
        #expect(left.run.runningNote == nil)
        #expect(left.tests[0].reason?.contains("testbed was killed") == true)
    }

    @Test("the holder of a run directory's exclusive flock is named by pid; a link to a locked directory is not followed")
    func holder() throws {
        let tree = try TemporaryTree()
        try tree.directory("run")
        #expect(RunLock.holder(ofRunAt: tree["run"]) == nil)
        let fd = open(tree["run"], O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX) == 0)
        #expect(RunLock.holder(ofRunAt: tree["run"]) == RunLock.Holder(pid: getpid()))
        #expect(symlink(tree["run"], tree["link"]) == 0)
        #expect(RunLock.holder(ofRunAt: tree["link"]) == nil)
        #expect(RunLock.holder(ofRunAt: tree["gone"]) == nil)
        #expect(flock(fd, LOCK_UN) == 0)
        #expect(RunLock.holder(ofRunAt: tree["run"]) == nil)
    }
}
