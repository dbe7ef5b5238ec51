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

/// What only SQLite has to show of the history queries: their plans. What they answer is tested once over both
/// stores (Tests/PostgresStoreTests/BothStoresHistoryTests.swift: SQLite always, PostgreSQL when one is given).
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
