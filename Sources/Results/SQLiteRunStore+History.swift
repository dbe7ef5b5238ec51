import Execution
import Foundation
import GRDB
import HostFacts

// The lab's memory read back: `testbed runs`, `history`, `diff`, `why`, and
// the regressions at the end of `testbed run`. Every query goes through an
// index: `run_by_host` (host, environment, started), `test_result_by_id`,
// and the primary keys; `runs` reads the counts the run row keeps.
extension SQLiteRunStore {
    /// The runs of `filter`, newest first, each with its counts by outcome.
    ///
    /// - Parameter filter: the host, environment and how many.
    /// - Returns: the runs' rows; `counts` from the run row, or counted from
    ///   its results for a run that has none there (still going, or killed).
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func runs(_ filter: RunFilter) throws(StoreError) -> [RunReport.Run] {
        try reading { db in
            let (clause, arguments) = Self.whereClause(filter, run: "run")
            let limit = filter.limit.map { " LIMIT \($0)" } ?? ""
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM run\(clause) ORDER BY started DESC, id DESC\(limit)", arguments: arguments)
            return try rows.map { row in
                var run = Self.run(row)
                if run.counts == nil { run.counts = try Self.countResults(db, run: run) }
                return run
            }
        }
    }

    /// One run's row by id (or a unique prefix of one), without its results; the latest run's when `id` is nil.
    ///
    /// - Parameter id: a run id or a unique prefix of one; nil for the latest.
    /// - Returns: the row, with counts.
    /// - Throws: `StoreError.noSuchRun`, `.ambiguousRun`, `.noRuns`, or `.cannotOpen`.
    public func run(_ id: String?) throws(StoreError) -> RunReport.Run {
        try reading { db in
            var run = Self.run(try runRow(db, id))
            if run.counts == nil { run.counts = try Self.countResults(db, run: run) }
            return run
        }
    }

    /// A run's tests with their outcomes only (in plan order), and its setups: what two runs are compared by.
    ///
    /// - Parameter runID: the run's id.
    /// - Returns: the tests (id and outcome; a result not written yet reads as interrupted) and the setups' results.
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func outcomes(ofRun runID: String) throws(StoreError) -> (tests: [TestResult], setups: [SetupResult]) {
        try reading { db in
            var tests: [TestResult] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT id, outcome FROM test_result WHERE run_id = ? ORDER BY position",
                                           arguments: [runID])
            while let row = try rows.next() {
                tests.append(TestResult(id: row[0], outcome: TestOutcome(rawValue: row[1]) ?? .interrupted))
            }
            let setups = try Row.fetchAll(db, sql: "SELECT * FROM setup_result WHERE run_id = ? ORDER BY seq", arguments: [runID])
                .map(Self.setup)
            return (tests, setups)
        }
    }

    /// One test's results in the runs of `filter`, newest first (results not
    /// written yet, `pending`, are left out).
    ///
    /// - Parameters:
    ///   - test: the test's id.
    ///   - filter: the host, environment and how many.
    /// - Returns: the entries.
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func testHistory(_ test: String, filter: RunFilter) throws(StoreError) -> [HistoryEntry] {
        try reading { db in
            var (clause, arguments) = Self.whereClause(filter, run: "r")
            clause = clause.isEmpty ? " WHERE" : clause + " AND"
            arguments += [test]
            let limit = filter.limit.map { " LIMIT \($0)" } ?? ""
            return try Row.fetchAll(db, sql: """
                SELECT t.run_id, t.outcome, t.duration, t.flaky, r.started, r.host, r.environment, t.subtest_counts,
                    (SELECT group_concat(name, char(10)) FROM (SELECT s.name FROM subtest s
                        WHERE s.run_id = t.run_id AND s.test_id = t.id AND s.outcome = 'fail' ORDER BY s.ordinal
                        LIMIT \(HistoryEntry.failedSubtestsShown))) AS failed_subtests
                FROM test_result t JOIN run r ON r.id = t.run_id
                \(clause) t.id = ? AND t.outcome != 'pending' ORDER BY r.started DESC, r.id DESC\(limit)
                """, arguments: arguments).map(Self.entry)
        }
    }

    /// Whether any run has a result for `test`.
    ///
    /// - Parameter test: the test's id.
    /// - Returns: true when one does.
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func hasTest(_ test: String) throws(StoreError) -> Bool {
        try reading { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM test_result WHERE id = ? LIMIT 1", arguments: [test]) ?? false }
    }

    /// The test ids of the newest `runs` runs, sorted: what a misspelt id is compared with.
    ///
    /// - Parameter runs: how many runs to look at.
    /// - Returns: the ids.
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func recentTestIDs(runs: Int) throws(StoreError) -> [String] {
        try reading { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM run ORDER BY started DESC, id DESC LIMIT ?", arguments: [runs])
            var tests: Set<String> = []
            for id in ids {
                tests.formUnion(try String.fetchAll(db, sql: "SELECT id FROM test_result WHERE run_id = ?", arguments: [id]))
            }
            return tests.sorted()
        }
    }

    /// The snapshot a run recorded.
    ///
    /// - Parameter runID: the run's id.
    /// - Returns: the snapshot; nil when the run recorded none (recorded before snapshots were) or its body cannot be read.
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func snapshot(ofRun runID: String) throws(StoreError) -> RunSnapshot? {
        try reading { db in
            let body = try String.fetchOne(db, sql: """
                SELECT s.body FROM run r JOIN snapshot s ON s.hash = r.snapshot WHERE r.id = ?
                """, arguments: [runID])
            return body.flatMap(RunSnapshot.decode)
        }
    }

    /// The newest run before `run` on the same host and environment.
    ///
    /// - Parameter run: the run.
    /// - Returns: that run's row (with counts); nil when there is none, or `run` has no host (recorded before hosts were).
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func previousComparableRun(of run: RunReport.Run) throws(StoreError) -> RunReport.Run? {
        guard let host = run.host else { return nil }
        return try reading { db in
            let started = run.started.timeIntervalSince1970
            guard let row = try Row.fetchOne(db, sql: """
                SELECT * FROM run WHERE host = ? AND environment = ? AND (started < ? OR (started = ? AND id < ?))
                ORDER BY started DESC, id DESC LIMIT 1
                """, arguments: [host, run.environment, started, started, run.id]) else { return nil }
            var previous = Self.run(row)
            if previous.counts == nil { previous.counts = try Self.countResults(db, run: previous) }
            return previous
        }
    }

    /// The newest verdict (pass, fail, timeout, error) of each of `tests` in
    /// the runs before `run` on its host and environment: where a regression's
    /// chain ends (skipped, blocked and unsupported runs in between are passed over).
    ///
    /// The newest few runs are read whole; a test with no verdict in them is
    /// looked up alone (by the index of test ids).
    ///
    /// - Parameters:
    ///   - tests: the test ids.
    ///   - run: the run; one without a host has no comparable run.
    /// - Returns: each test's newest earlier verdict, by id; a test without one is absent.
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func latestVerdicts(of tests: [String], before run: RunReport.Run) throws(StoreError) -> [String: HistoryEntry] {
        guard let host = run.host, !tests.isEmpty else { return [:] }
        return try reading { db in
            var wanted = Set(tests)
            var found: [String: HistoryEntry] = [:]
            let started = run.started.timeIntervalSince1970
            let earlier = try Row.fetchAll(db, sql: """
                SELECT id, started, host, environment FROM run WHERE host = ? AND environment = ? AND (started < ? OR (started = ? AND id < ?))
                ORDER BY started DESC, id DESC LIMIT 5
                """, arguments: [host, run.environment, started, started, run.id])
            for previous in earlier where !wanted.isEmpty {
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT id, outcome, duration, flaky FROM test_result
                    WHERE run_id = ? AND outcome IN ('pass', 'fail', 'timeout', 'error')
                    """, arguments: [previous["id"] as String])
                while let row = try rows.next() {
                    let id: String = row["id"]
                    guard wanted.remove(id) != nil else { continue }
                    found[id] = HistoryEntry(runID: previous["id"], started: Date(timeIntervalSince1970: previous["started"]),
                                             host: previous["host"], environment: previous["environment"],
                                             outcome: TestOutcome(rawValue: row["outcome"]) ?? .fail, duration: row["duration"],
                                             flaky: row["flaky"])
                }
            }
            guard earlier.count == 5 else { return found }
            let statement = try db.makeStatement(sql: """
                SELECT t.run_id, t.outcome, t.duration, t.flaky, r.started, r.host, r.environment
                FROM test_result t JOIN run r ON r.id = t.run_id
                WHERE t.id = ? AND r.host = ? AND r.environment = ? AND (r.started < ? OR (r.started = ? AND r.id < ?))
                    AND t.outcome IN ('pass', 'fail', 'timeout', 'error')
                ORDER BY r.started DESC, r.id DESC LIMIT 1
                """)
            for id in wanted.sorted() {
                if let row = try Row.fetchOne(statement, arguments: [id, host, run.environment, started, started, run.id]) {
                    found[id] = Self.entry(row)
                }
            }
            return found
        }
    }

    /// A read, its errors as `StoreError` (a `StoreError` thrown inside passes through).
    func reading<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .cannotOpen(databasePath, Self.why(error))
        }
    }

    /// ` WHERE host = ? AND environment = ?` for the filter's parts (empty for none), and its arguments.
    static func whereClause(_ filter: RunFilter, run table: String) -> (String, StatementArguments) {
        var parts: [String] = []
        var arguments: StatementArguments = []
        if let host = filter.host {
            parts.append("\(table).host = ?")
            arguments += [host]
        }
        if let environment = filter.environment {
            parts.append("\(table).environment = ?")
            arguments += [environment]
        }
        return (parts.isEmpty ? "" : " WHERE " + parts.joined(separator: " AND "), arguments)
    }

    /// A run's counts by outcome from its results: a result not written yet
    /// is left out while the run is still going, and counts as interrupted once it is not.
    static func countResults(_ db: Database, run: RunReport.Run) throws -> [TestOutcome: Int] {
        var counts: [TestOutcome: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT outcome, COUNT(*) AS n FROM test_result WHERE run_id = ? GROUP BY outcome",
                                    arguments: [run.id]) {
            let outcome = TestOutcome(rawValue: row["outcome"])
            if outcome == nil && run.running != nil { continue }
            counts[outcome ?? .interrupted, default: 0] += row["n"] as Int
        }
        return counts
    }

    /// A history entry from a row of `t.run_id, t.outcome, t.duration, t.flaky, r.started, r.host, r.environment`.
    /// With `t.subtest_counts` and `failed_subtests` (names joined by newlines) too, when the query has them.
    static func entry(_ row: Row) -> HistoryEntry {
        var entry = HistoryEntry(runID: row["run_id"], started: Date(timeIntervalSince1970: row["started"]), host: row["host"],
                                 environment: row["environment"], outcome: TestOutcome(rawValue: row["outcome"]) ?? .interrupted,
                                 duration: row["duration"], flaky: row["flaky"])
        if row.hasColumn("subtest_counts") { entry.subtests = subtestCounts(row["subtest_counts"]) }
        if row.hasColumn("failed_subtests"), let names = row["failed_subtests"] as String? {
            entry.failedSubtests = names.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        return entry
    }
}
