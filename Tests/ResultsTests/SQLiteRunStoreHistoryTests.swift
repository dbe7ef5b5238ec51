@testable import Execution
import Foundation
import GRDB
import HostFacts
@testable import Results
import TestSupport
import Testing

/// Records one finished run: `outcomes` in order, started `hour` hours after a fixed time.
func recordRun(_ store: SQLiteRunStore, id: String, hour: Int, host: String?, environment: String = "lab",
               outcomes: [(String, TestOutcome)], snapshot: RunSnapshot? = nil, finish: Bool = true) async {
    var info = RunInfo(id: id, environment: environment, started: Date(timeIntervalSince1970: 1_700_000_000 + Double(hour) * 3600),
                       directory: store.directory + "/" + id, tests: outcomes.map(\.0), decided: [], facts: [], jobs: 1)
    info.host = host
    info.snapshot = snapshot
    let recorder = store.recorder(runID: id)
    await recorder.record(.started(info))
    let results = outcomes.map { TestResult(id: $0.0, outcome: $0.1, started: info.started, duration: 0.25) }
    guard finish else {
        if let first = results.first { await recorder.record(.testFinished(first)) }
        return
    }
    for result in results { await recorder.record(.testFinished(result)) }
    await recorder.record(.finished(RunSummary(id: id, started: info.started, finished: info.started.addingTimeInterval(60),
                                               tests: results, setups: [], interrupted: false, haltedBy: nil)))
}

@Suite("Result store: the lab's memory read back", .serialized)
struct SQLiteRunStoreHistoryTests {
    /// r1..r4 on lab1/lab, r5 on lab2/lab, r6 on lab1/other; /t: pass, skip, fail, pass, fail, pass.
    static func sample(_ tree: TemporaryTree) async throws -> SQLiteRunStore {
        let store = try SQLiteRunStore(directory: tree.path)
        let plan: [(String, String, String, TestOutcome)] = [
            ("r1", "lab1", "lab", .pass), ("r2", "lab1", "lab", .skip), ("r3", "lab1", "lab", .fail), ("r4", "lab1", "lab", .pass),
            ("r5", "lab2", "lab", .fail), ("r6", "lab1", "other", .pass),
        ]
        for (hour, (id, host, environment, outcome)) in plan.enumerated() {
            await recordRun(store, id: id, hour: hour, host: host, environment: environment, outcomes: [("/t", outcome), ("/u", .pass)],
                            snapshot: RunSnapshot(facts: ["kernel": "6.1.0-\(hour)"]))
        }
        return store
    }

    struct FilterCase: Sendable, CustomTestStringConvertible {
        var host: String?
        var environment: String?
        var limit: Int?
        var runs: [String]
        var testDescription: String { "host \(host ?? "any"), environment \(environment ?? "any"), limit \(limit.map(String.init) ?? "none")" }
    }

    static let filters: [FilterCase] = [
        FilterCase(host: nil, environment: nil, limit: nil, runs: ["r6", "r5", "r4", "r3", "r2", "r1"]),
        FilterCase(host: "lab1", environment: nil, limit: nil, runs: ["r6", "r4", "r3", "r2", "r1"]),
        FilterCase(host: "lab1", environment: "lab", limit: nil, runs: ["r4", "r3", "r2", "r1"]),
        FilterCase(host: nil, environment: "lab", limit: 2, runs: ["r5", "r4"]),
        FilterCase(host: "nowhere", environment: nil, limit: nil, runs: []),
    ]

    @Test("runs: newest first, by host and environment, at most limit, each with its counts", arguments: filters)
    func runs(_ example: FilterCase) async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(tree)
        let runs = try store.runs(RunFilter(host: example.host, environment: example.environment, limit: example.limit))
        #expect(runs.map(\.id) == example.runs)
        #expect(runs.allSatisfy { $0.counts.map { $0.values.reduce(0, +) } == 2 })
    }

    @Test("a test's history: newest first, with its run's host and environment, filtered like runs", arguments: filters)
    func testHistory(_ example: FilterCase) async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(tree)
        let entries = try store.testHistory("/t", filter: RunFilter(host: example.host, environment: example.environment, limit: example.limit))
        #expect(entries.map(\.runID) == example.runs)
        let r3 = entries.first { $0.runID == "r3" }
        if let r3 {
            #expect(r3.outcome == .fail && r3.host == "lab1" && r3.environment == "lab" && r3.duration == 0.25)
        }
        #expect(try store.testHistory("/nothing", filter: RunFilter()).isEmpty)
    }

    @Test("a run without counts on its row (killed) is counted from its results, a result never written as interrupted")
    func countedFallback() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        await recordRun(store, id: "k1", hour: 0, host: "lab1", outcomes: [("/a", .pass), ("/b", .pass)], finish: false)
        let run = try #require(try store.runs(RunFilter()).first)
        #expect(run.counts == [.pass: 1, .interrupted: 1])
        #expect(try store.run("k1").counts == [.pass: 1, .interrupted: 1])
        // A result not written yet is no history entry.
        #expect(try store.testHistory("/b", filter: RunFilter()).isEmpty)
    }

    struct PreviousCase: Sendable, CustomTestStringConvertible {
        var run: String
        var previous: String?
        var testDescription: String { run }
    }

    @Test("the previous comparable run: the newest earlier one on the same host and environment",
          arguments: [PreviousCase(run: "r4", previous: "r3"), PreviousCase(run: "r5", previous: nil), PreviousCase(run: "r6", previous: nil),
                      PreviousCase(run: "r1", previous: nil), PreviousCase(run: "r2", previous: "r1")])
    func previousComparable(_ example: PreviousCase) async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(tree)
        #expect(try store.previousComparableRun(of: store.run(example.run))?.id == example.previous)
    }

    @Test("a run without a host (recorded before hosts were) has no comparable run")
    func noHost() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        await recordRun(store, id: "o1", hour: 0, host: nil, outcomes: [("/t", .pass)])
        await recordRun(store, id: "o2", hour: 1, host: nil, outcomes: [("/t", .fail)])
        #expect(try store.previousComparableRun(of: store.run("o2")) == nil)
        #expect(try store.latestVerdicts(of: ["/t"], before: store.run("o2")).isEmpty)
    }

    @Test("earlier verdicts pass over skipped, blocked and unsupported runs, also beyond the runs read whole")
    func latestVerdicts() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        // /deep passed in run 0 and was unsupported in runs 1-7; /near failed in run 6, skipped in run 7; /other host passed on lab2 only.
        for hour in 0..<9 {
            let deep: TestOutcome = hour == 0 ? .pass : hour == 8 ? .fail : .unsupported
            let near: TestOutcome = hour == 6 ? .fail : hour == 7 ? .skip : hour == 8 ? .fail : .pass
            await recordRun(store, id: "h\(hour)", hour: hour, host: "lab1", outcomes: [("/deep", deep), ("/near", near), ("/never", .blocked)])
            await recordRun(store, id: "x\(hour)", hour: hour, host: "lab2", outcomes: [("/deep", .fail), ("/near", .pass)])
        }
        let verdicts = try store.latestVerdicts(of: ["/deep", "/near", "/never", "/absent"], before: store.run("h8"))
        #expect(verdicts["/deep"]?.runID == "h0")
        #expect(verdicts["/deep"]?.outcome == .pass)
        #expect(verdicts["/near"]?.runID == "h6")
        #expect(verdicts["/near"]?.outcome == .fail)
        #expect(verdicts["/never"] == nil && verdicts["/absent"] == nil)
    }

    @Test("a run's snapshot decoded; none for a run that recorded none")
    func snapshot() async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(tree)
        #expect(try store.snapshot(ofRun: "r3")?.facts["kernel"] == "6.1.0-2")
        await recordRun(store, id: "bare", hour: 10, host: "lab1", outcomes: [("/t", .pass)])
        #expect(try store.snapshot(ofRun: "bare") == nil)
        #expect(try store.snapshot(ofRun: "no-such-run") == nil)
    }

    @Test("known tests and the ids of the latest runs (for did-you-mean)")
    func testIDs() async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(tree)
        await recordRun(store, id: "r7", hour: 10, host: "lab1", outcomes: [("/new", .pass)])
        #expect(try store.hasTest("/t"))
        #expect(try !store.hasTest("/t2"))
        #expect(try store.recentTestIDs(runs: 1) == ["/new"])
        #expect(try store.recentTestIDs(runs: 2) == ["/new", "/t", "/u"])
    }

    @Test("the history queries go through indexes: no scan of test_result or run", arguments: [
        "SELECT t.run_id FROM test_result t JOIN run r ON r.id = t.run_id WHERE r.host = ? AND r.environment = ? AND t.id = ? "
            + "AND t.outcome != 'pending' ORDER BY r.started DESC, r.id DESC",
        "SELECT t.run_id FROM test_result t JOIN run r ON r.id = t.run_id WHERE t.id = ? AND t.outcome != 'pending' "
            + "ORDER BY r.started DESC, r.id DESC LIMIT 20",
        "SELECT * FROM run WHERE host = ? AND environment = ? AND (started < ? OR (started = ? AND id < ?)) ORDER BY started DESC, id DESC LIMIT 1",
        "SELECT outcome, COUNT(*) AS n FROM test_result WHERE run_id = ? GROUP BY outcome",
        "SELECT id, outcome, duration, flaky FROM test_result WHERE run_id = ? AND outcome IN ('pass', 'fail', 'timeout', 'error')",
        "SELECT s.body FROM run r JOIN snapshot s ON s.hash = r.snapshot WHERE r.id = ?",
    ])
    func indexed(sql: String) async throws {
        let tree = try TemporaryTree()
        _ = try await Self.sample(tree)
        let placeholders = sql.filter { $0 == "?" }.count
        let details = try await openDatabase(tree.path).read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(Array(repeating: "x", count: placeholders)))
                .map { $0["detail"] as String }
        }
        #expect(!details.isEmpty)
        #expect(!details.contains { $0.hasPrefix("SCAN") }, "\(details)")
    }
}
