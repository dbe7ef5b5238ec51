import Execution
import Foundation
import HostFacts
import PostgresNIO
import Results
import Subtests

// The lab's memory read back: `testbed runs`, `history`, `diff`, `why`, the regressions at the end of `testbed
// run`, the flaky policy and the dashboard. Each query means what `SQLiteRunStore`'s does, through the same
// indexes (`run_by_host`, `test_result_by_id`, the primary keys).
extension PostgresRunStore {
    /// The runs of `filter`, newest first, each with its counts by outcome.
    ///
    /// - Parameter filter: the host, environment and how many.
    /// - Returns: the runs' rows; `counts` from the run row, or counted from its results for a run that has none there.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func runs(_ filter: RunFilter) throws(StoreError) -> [RunReport.Run] {
        try reading { connection in
            var values: [(any PostgresDynamicTypeEncodable)?] = []
            let clause = Self.whereClause(filter, run: "run", values: &values)
            let limit = filter.limit.map { " LIMIT \($0)" } ?? ""
            return try Self.rows(connection, "SELECT * FROM run\(clause) ORDER BY started DESC, id DESC\(limit)", values).map { row in
                var run = runValue(row)
                if run.counts == nil { run.counts = try Self.countResults(connection, run: run) }
                return run
            }
        }
    }

    /// One run's row by id (or a unique prefix of one), without its results; the latest run's when `id` is nil.
    ///
    /// - Parameter id: a run id or a unique prefix of one; nil for the latest.
    /// - Returns: the row, with counts.
    /// - Throws: `StoreError.noSuchRun`, `.ambiguousRun`, `.noRuns`, or `.unreachable`.
    public func run(_ id: String?) throws(StoreError) -> RunReport.Run {
        try reading { connection in
            var run = runValue(try runRow(connection, id))
            if run.counts == nil { run.counts = try Self.countResults(connection, run: run) }
            return run
        }
    }

    /// A run's tests with their outcomes only (in plan order), and its setups: what two runs are compared by.
    ///
    /// - Parameter runID: the run's id.
    /// - Returns: the tests (id and outcome; a result not written yet reads as interrupted) and the setups' results.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func outcomes(ofRun runID: String) throws(StoreError) -> (tests: [TestResult], setups: [SetupResult]) {
        try reading { connection in
            let tests = try Self.rows(connection, "SELECT id, outcome FROM test_result WHERE run_id = $1 ORDER BY position", [runID]).map {
                TestResult(id: $0.string("id") ?? "", outcome: TestOutcome(rawValue: $0.string("outcome") ?? "") ?? .interrupted)
            }
            let setups = try Self.rows(connection, "SELECT * FROM setup_result WHERE run_id = $1 ORDER BY seq", [runID]).map(Self.setup)
            return (tests, setups)
        }
    }

    /// One test's results in the runs of `filter`, newest first (results not written yet are left out).
    ///
    /// - Parameters:
    ///   - test: the test's id.
    ///   - filter: the host, environment and how many.
    /// - Returns: the entries, each with its subtest counts and first failed subtests.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func testHistory(_ test: String, filter: RunFilter) throws(StoreError) -> [HistoryEntry] {
        try reading { connection in
            var values: [(any PostgresDynamicTypeEncodable)?] = []
            var clause = Self.whereClause(filter, run: "r", values: &values)
            clause = clause.isEmpty ? " WHERE" : clause + " AND"
            values.append(test)
            let limit = filter.limit.map { " LIMIT \($0)" } ?? ""
            return try Self.rows(connection, """
                SELECT t.run_id, t.outcome, t.duration, t.flaky, r.started, r.host, r.environment, t.subtest_counts,
                    (SELECT string_agg(f.name, E'\\n' ORDER BY f.ordinal) FROM (SELECT s.name, s.ordinal FROM subtest s
                        WHERE s.run_id = t.run_id AND s.test_id = t.id AND s.outcome = 'fail' ORDER BY s.ordinal
                        LIMIT \(HistoryEntry.failedSubtestsShown)) f) AS failed_subtests
                FROM test_result t JOIN run r ON r.id = t.run_id
                \(clause) t.id = $\(values.count) AND t.outcome != 'pending' ORDER BY r.started DESC, r.id DESC\(limit)
                """, values).map(Self.entry)
        }
    }

    /// Whether any run has a result for `test`.
    ///
    /// - Parameter test: the test's id.
    /// - Returns: true when one does.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func hasTest(_ test: String) throws(StoreError) -> Bool {
        try reading { connection in try !Self.rows(connection, "SELECT 1 FROM test_result WHERE id = $1 LIMIT 1", [test]).isEmpty }
    }

    /// The test ids of the newest `runs` runs, sorted: what a misspelt id is compared with.
    ///
    /// - Parameter runs: how many runs to look at.
    /// - Returns: the ids.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func recentTestIDs(runs: Int) throws(StoreError) -> [String] {
        try reading { connection in
            var tests: Set<String> = []
            for run in try Self.rows(connection, "SELECT id FROM run ORDER BY started DESC, id DESC LIMIT $1", [runs]) {
                let ids = try Self.rows(connection, "SELECT id FROM test_result WHERE run_id = $1", [run.string("id") ?? ""])
                tests.formUnion(ids.compactMap { $0.string("id") })
            }
            return tests.sorted()
        }
    }

    /// The snapshot a run recorded.
    ///
    /// - Parameter runID: the run's id.
    /// - Returns: the snapshot; nil when the run recorded none or its body cannot be read.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func snapshot(ofRun runID: String) throws(StoreError) -> RunSnapshot? {
        try reading { connection in
            let rows = try Self.rows(connection, "SELECT s.body FROM run r JOIN snapshot s ON s.hash = r.snapshot WHERE r.id = $1", [runID])
            return rows.first?.string("body").flatMap(RunSnapshot.decode)
        }
    }

    /// The newest run before `run` on the same host and environment.
    ///
    /// - Parameter run: the run.
    /// - Returns: that run's row (with counts); nil when there is none, or `run` has no host.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func previousComparableRun(of run: RunReport.Run) throws(StoreError) -> RunReport.Run? {
        guard let host = run.host else { return nil }
        return try reading { connection in
            guard let row = try Self.rows(connection, """
                SELECT * FROM run WHERE host = $1 AND environment = $2 AND (started < $3 OR (started = $3 AND id < $4))
                ORDER BY started DESC, id DESC LIMIT 1
                """, [host, run.environment, run.started.timeIntervalSince1970, run.id]).first else { return nil }
            var previous = runValue(row)
            if previous.counts == nil { previous.counts = try Self.countResults(connection, run: previous) }
            return previous
        }
    }

    /// The newest verdict (pass, fail, timeout, error) of each of `tests` in the runs before `run` on its host and
    /// environment (skipped, blocked and unsupported runs in between are passed over): the newest five runs are
    /// read whole, a test with no verdict in them is looked up alone.
    ///
    /// - Parameters:
    ///   - tests: the test ids.
    ///   - run: the run; one without a host has no comparable run.
    /// - Returns: each test's newest earlier verdict, by id; a test without one is absent.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func latestVerdicts(of tests: [String], before run: RunReport.Run) throws(StoreError) -> [String: HistoryEntry] {
        guard let host = run.host, !tests.isEmpty else { return [:] }
        return try reading { connection in
            var wanted = Set(tests)
            var found: [String: HistoryEntry] = [:]
            let started = run.started.timeIntervalSince1970
            let earlier = try Self.rows(connection, """
                SELECT id, started, host, environment FROM run WHERE host = $1 AND environment = $2 AND (started < $3 OR (started = $3 AND id < $4))
                ORDER BY started DESC, id DESC LIMIT 5
                """, [host, run.environment, started, run.id])
            for previous in earlier where !wanted.isEmpty {
                let rows = try Self.rows(connection, """
                    SELECT id, outcome, duration, flaky FROM test_result WHERE run_id = $1 AND outcome IN ('pass', 'fail', 'timeout', 'error')
                    """, [previous.string("id") ?? ""])
                for row in rows {
                    guard let id = row.string("id"), wanted.remove(id) != nil else { continue }
                    found[id] = HistoryEntry(runID: previous.string("id") ?? "", started: previous.date("started") ?? Date(timeIntervalSince1970: 0),
                                             host: previous.string("host"), environment: previous.string("environment") ?? "",
                                             outcome: TestOutcome(rawValue: row.string("outcome") ?? "") ?? .fail,
                                             duration: row.double("duration") ?? 0, flaky: row.string("flaky"))
                }
            }
            guard earlier.count == 5 else { return found }
            for id in wanted.sorted() {
                if let row = try Self.rows(connection, """
                    SELECT t.run_id, t.outcome, t.duration, t.flaky, r.started, r.host, r.environment
                    FROM test_result t JOIN run r ON r.id = t.run_id
                    WHERE t.id = $1 AND r.host = $2 AND r.environment = $3 AND (r.started < $4 OR (r.started = $4 AND r.id < $5))
                        AND t.outcome IN ('pass', 'fail', 'timeout', 'error')
                    ORDER BY r.started DESC, r.id DESC LIMIT 1
                    """, [id, host, run.environment, started, run.id]).first {
                    found[id] = Self.entry(row)
                }
            }
            return found
        }
    }

    /// A test's earlier verdicts on `host` and `environment`, for the flaky policy; the run `runID` is left out.
    ///
    /// - Parameters:
    ///   - host: the host's name (`run.host`).
    ///   - environment: the environment's name.
    ///   - runID: the run being judged.
    /// - Returns: a history read from this database when asked.
    public func verdictHistory(host: String, environment: String, excludingRun runID: String) -> any VerdictHistory {
        PostgresVerdictHistory(store: self, host: host, environment: environment, runID: runID)
    }

    /// A run's results in brief (see `RunStore.briefResults(ofRun:)`).
    ///
    /// - Parameter runID: the run's id.
    /// - Returns: the tests in plan order (pending ones left out), the setups in the order they ended.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func briefResults(ofRun runID: String) throws(StoreError) -> (tests: [TestResult], setups: [SetupResult]) {
        try reading { connection in
            let tests = try Self.rows(connection, """
                SELECT id, outcome, started, duration, log FROM test_result WHERE run_id = $1 AND outcome != 'pending' ORDER BY position
                """, [runID]).map { row in
                TestResult(id: row.string("id") ?? "", outcome: TestOutcome(rawValue: row.string("outcome") ?? "") ?? .interrupted,
                           started: row.date("started"), duration: row.double("duration") ?? 0, logDirectory: row.string("log"))
            }
            let setups = try Self.rows(connection, "SELECT name, test_id, phase, outcome, reason FROM setup_result WHERE run_id = $1 ORDER BY seq",
                                       [runID]).map { row in
                SetupResult(name: row.string("name") ?? "", test: row.string("test_id"), phase: SetupPhase(rawValue: row.string("phase") ?? "") ?? .setup,
                            outcome: SetupOutcome(rawValue: row.string("outcome") ?? "") ?? .failed, reason: row.string("reason"))
            }
            return (tests, setups)
        }
    }

    /// ` WHERE host = $n AND environment = $m` for the filter's parts (empty for none), their values appended to `values`.
    static func whereClause(_ filter: RunFilter, run table: String, values: inout [(any PostgresDynamicTypeEncodable)?]) -> String {
        var parts: [String] = []
        if let host = filter.host {
            values.append(host)
            parts.append("\(table).host = $\(values.count)")
        }
        if let environment = filter.environment {
            values.append(environment)
            parts.append("\(table).environment = $\(values.count)")
        }
        return parts.isEmpty ? "" : " WHERE " + parts.joined(separator: " AND ")
    }

    /// A history entry from a row of `t.run_id, t.outcome, t.duration, t.flaky, r.started, r.host, r.environment`,
    /// with `subtest_counts` and `failed_subtests` (names joined by newlines) when the query has them.
    static func entry(_ row: PGRow) -> HistoryEntry {
        var entry = HistoryEntry(runID: row.string("run_id") ?? "", started: row.date("started") ?? Date(timeIntervalSince1970: 0),
                                 host: row.string("host"), environment: row.string("environment") ?? "",
                                 outcome: TestOutcome(rawValue: row.string("outcome") ?? "") ?? .interrupted,
                                 duration: row.double("duration") ?? 0, flaky: row.string("flaky"))
        if row.row.contains("subtest_counts") { entry.subtests = subtestCounts(row.string("subtest_counts")) }
        if let names = row.string("failed_subtests") {
            entry.failedSubtests = names.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        return entry
    }
}

/// A test's earlier verdicts on one host and environment, read from PostgreSQL: what a `flaky: K/N` test's
/// failure is judged by.
struct PostgresVerdictHistory: VerdictHistory {
    let store: PostgresRunStore
    /// `run.host` of the runs looked at.
    let host: String
    /// `run.environment` of the runs looked at.
    let environment: String
    /// The run being judged, left out.
    let runID: String

    /// The latest verdicts of `test` in other runs on `host` and `environment`, newest first; empty when the rows cannot be read.
    func recentVerdicts(test: String, limit: Int) -> [TestOutcome] {
        guard limit > 0 else { return [] }
        let rows = try? store.reading { connection in
            try PostgresRunStore.rows(connection, """
                SELECT t.outcome FROM test_result t JOIN run r ON r.id = t.run_id
                WHERE t.id = $1 AND r.host = $2 AND r.environment = $3 AND r.id <> $4 AND t.outcome IN ('pass', 'fail', 'timeout', 'error')
                ORDER BY r.started DESC LIMIT $5
                """, [test, host, environment, runID, limit])
        }
        return (rows ?? []).compactMap { $0.string("outcome").flatMap(TestOutcome.init(rawValue:)) }
    }
}
