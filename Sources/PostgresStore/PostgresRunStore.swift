import CShim
import Execution
import Foundation
import HostFacts
import PostgresNIO
import Requirements
import Results
import Subtests

/// The results database in PostgreSQL (`--database postgresql://…`): a `RunStore` that many hosts share, with the
/// same tables, columns, indexes, schema versions and history queries as `SQLiteRunStore`.
///
/// Only the rows are in the database. Each run's files (the output of every step, `report.json`, `junit.xml`)
/// stay in the results directory of the host that ran it (`results`, made here as for SQLite); the run row keeps
/// that host's name (`host`) and the run directory's absolute path (`directory`), so a reader elsewhere can say
/// where a log is.
///
/// The protocol is synchronous and postgres-nio is not: the store holds one connection (`PostgresSession`) on
/// postgres-nio's event loop threads and blocks the calling thread on each query's future, one query at a time;
/// see `PostgresSession`. Every parameter is bound ($1, $2, …), never put in the SQL text. Opening brings the
/// schema up to date under an advisory lock (`migrate`), so processes on several hosts may open it at once.
public final class PostgresRunStore: RunStore {
    /// The local results directory, absolute: for messages (run directories are made in it).
    public let directory: String
    /// The local results directory, held: what run directories are made in.
    public let results: ResultsDirectory
    /// Always empty: nothing of the database is planted in the results directory.
    public let notes: [String] = []
    /// The database's URL, without its password: what messages name.
    public let location: String
    /// The connection.
    let session: PostgresSession

    /// Connects to the database and brings its schema up to date.
    ///
    /// - Parameters:
    ///   - url: the database.
    ///   - directory: the local results directory, absolute or relative to the working directory: where run directories are made.
    ///   - create: whether to make the results directory when missing (`testbed run`). A reader (false) does not need one:
    ///     on a host without it, the store holds `/` (never written: readers make no run).
    /// - Throws: `StoreError.unreachable` when the server cannot be reached, refuses the login, or the schema cannot be made;
    ///   `.cannotCreate`, `.notWritable` when `create` and the results directory cannot be made or written.
    public init(url: DatabaseURL, directory: String, create: Bool = true) throws(StoreError) {
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.directory = absolute
        location = url.shown
        if create {
            do {
                try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true)
            } catch {
                throw .cannotCreate(directory, (error as NSError).localizedDescription)
            }
        }
        do {
            results = try ResultsDirectory(path: create || FileManager.default.fileExists(atPath: absolute) ? absolute : "/")
        } catch {
            throw .cannotCreate(directory, String(cString: strerror(error.errno)).lowercased())
        }
        if create && access(absolute, W_OK) != 0 { throw .notWritable(directory, String(cString: strerror(errno)).lowercased()) }
        session = PostgresSession(configuration: url.configuration, shown: url.shown)
        do {
            try Self.migrate(session)
        } catch {
            throw .unreachable(location, PostgresSession.why(error))
        }
    }

    /// A new run id and its directory, made in the local results directory (as `SQLiteRunStore` does).
    ///
    /// - Parameter started: when the run starts (the id begins with it, in UTC).
    /// - Returns: the id and the absolute path of its directory.
    /// - Throws: `StoreError.cannotCreate` when no directory can be made.
    public func newRun(started: Date = Date()) throws(StoreError) -> (id: String, directory: String) {
        try RunDirectories.newRun(in: results, directory: directory, started: started)
    }

    /// The recorder that writes the events of run `runID` as they happen (see `PostgresRecorder`).
    ///
    /// - Parameters:
    ///   - runID: the id `newRun` gave.
    ///   - exitCodes: the scheme of the exit code recorded with the run at its end.
    ///   - layout: the run's directories, checked (and made again) before each write; nil when there are none to check.
    /// - Returns: the recorder; nothing is written before its first event.
    public func recorder(runID: String, exitCodes: ExitCodes = .standard, layout: RunLayout? = nil) -> PostgresRecorder {
        PostgresRecorder(store: self, runID: runID, exitCodes: exitCodes, layout: layout)
    }

    /// A read (or several), its errors as `StoreError` (a `StoreError` thrown inside passes through).
    func reading<T>(_ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        do {
            return try session.withConnection(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unreachable(location, PostgresSession.why(error))
        }
    }

    /// Every row of a query on `connection`.
    static func rows(_ connection: PostgresConnection, _ sql: String, _ values: [(any PostgresDynamicTypeEncodable)?] = []) throws -> [PGRow] {
        try PostgresSession.query(connection, sql, values).map(PGRow.init)
    }

    // MARK: - Reading runs back

    /// A run by id (or a unique prefix of one) with every result written; the newest when `id` is nil.
    ///
    /// - Parameter id: a run id or a unique prefix of one (every character literal); nil for the latest run.
    /// - Returns: the run; `run.running` names the `testbed run` still going on with it, when it runs on this host.
    /// - Throws: `StoreError.noSuchRun`, `.ambiguousRun`, `.noRuns`, or `.unreachable` when the rows cannot be read.
    public func report(_ id: String? = nil) throws(StoreError) -> RunReport {
        try reading { connection in try load(connection, run: runRow(connection, id)) }
    }

    /// Every run, newest first.
    ///
    /// - Returns: the runs' rows.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func runs() throws(StoreError) -> [RunReport.Run] {
        try reading { connection in try Self.rows(connection, "SELECT * FROM run ORDER BY started DESC, id DESC").map(runValue) }
    }

    /// The latest verdict of each test that ran to one (pass, fail, timeout, error, skip), across every run.
    ///
    /// - Returns: each test's latest duration (seconds) and whether it failed; empty when the rows cannot be read.
    public func history() -> [String: TestHistory] {
        (try? reading { connection -> [String: TestHistory] in
            var history: [String: TestHistory] = [:]
            for row in try Self.rows(connection, """
                SELECT t.id, t.duration, t.outcome FROM test_result t JOIN run r ON r.id = t.run_id
                WHERE t.outcome IN ('pass', 'fail', 'timeout', 'error', 'skip') ORDER BY r.started DESC
                """) {
                guard let id = row.string("id"), history[id] == nil else { continue }
                let outcome = row.string("outcome")
                history[id] = TestHistory(duration: row.double("duration") ?? 0, failed: outcome == "fail" || outcome == "timeout" || outcome == "error")
            }
            return history
        }) ?? [:]
    }

    /// The row of run `id` (or of the one run whose id begins with it); the latest run's when `id` is nil.
    func runRow(_ connection: PostgresConnection, _ id: String?) throws -> PGRow {
        let row: PGRow?
        if let id {
            row = try Self.rows(connection, "SELECT * FROM run WHERE id = $1", [id]).first ?? onlyRun(connection, prefix: id)
        } else {
            row = try Self.rows(connection, "SELECT * FROM run ORDER BY started DESC, id DESC LIMIT 1").first
        }
        guard let row else { throw id.map { StoreError.noSuchRun($0, location) } ?? StoreError.noRuns(location) }
        return row
    }

    /// The run whose id begins with `prefix` (compared character for character: no LIKE); nil when none does.
    func onlyRun(_ connection: PostgresConnection, prefix: String) throws -> PGRow? {
        let rows = try Self.rows(connection, "SELECT * FROM run WHERE substr(id, 1, length($1)) = $1 ORDER BY started DESC, id DESC", [prefix])
        guard rows.count > 1 else { return rows.first }
        throw StoreError.ambiguousRun(prefix, rows.compactMap { $0.string("id") }, location)
    }

    /// Whether a run of `host` ran on this host (or recorded no host): its directory is then a local path.
    static func isLocal(_ host: String?) -> Bool {
        host == nil || host == SnapshotProbe.hostname()
    }

    /// A run row read back.
    func runValue(_ row: PGRow) -> RunReport.Run {
        let finished = row.date("finished")
        let directory = row.string("directory") ?? ""
        var run = RunReport.Run(
            stored: row.string("id") ?? "", environment: row.string("environment") ?? "", started: row.date("started") ?? Date(timeIntervalSince1970: 0),
            finished: finished, exitCode: row.int32("exit_code"), complete: row.bool("complete") ?? false,
            interrupted: row.bool("interrupted") ?? false, haltedBy: row.string("halted_by"), directory: directory, jobs: row.int("jobs") ?? 1,
            recordingError: row.string("recording_error"))
        run.host = row.string("host")
        // A `testbed run` of this host holds its run's lock; one of another host cannot be seen from here.
        if finished == nil && run.ranHere { run.running = RunLock.holder(ofRunAt: directory) }
        run.machineID = row.string("machine_id")
        run.labels = RowJSON.labels(row.string("labels"))
        run.suiteCommit = row.string("suite_commit")
        run.suiteDirty = row.bool("suite_dirty")
        run.snapshot = row.string("snapshot")
        run.counts = RowJSON.counts(row.string("counts"))
        run.flakyCounts = RowJSON.marks(row.string("counts"))
        run.rerunFailures = row.int("rerun_failures")
        run.taintAtStart = row.string("taint_at_start")
        return run
    }

    /// A whole run: its row, tests (with attempts and subtests), setups and facts.
    func load(_ connection: PostgresConnection, run row: PGRow) throws -> RunReport {
        var run = runValue(row)
        if run.counts == nil { run.counts = try Self.countResults(connection, run: run) }
        var subtestCounts: [String: SubtestCounts] = [:]
        var tests = try Self.rows(connection, "SELECT * FROM test_result WHERE run_id = $1 ORDER BY position", [run.id]).map { row -> TestResult in
            let id = row.string("id") ?? ""
            if let counts = Self.subtestCounts(row.string("subtest_counts")) { subtestCounts[id] = counts }
            let stored = row.string("outcome") ?? "pending"
            var result = TestResult(
                id: id, outcome: TestOutcome(rawValue: stored) ?? .interrupted, started: row.date("started"), duration: row.double("duration") ?? 0,
                exitStatus: row.int32("exit_status"), signal: row.int32("signal"), reason: row.string("reason"),
                blockedBy: row.string("blocked_by"), logDirectory: row.string("log"))
            result.flaky = Self.flakyMark(row)
            result.kernelLog = row.string("kernel_log")
            if stored == "pending" { result.reason = run.pendingReason }
            return result
        }
        var attempts: [String: [TestAttempt]] = [:]
        for row in try Self.rows(connection, "SELECT * FROM test_attempt WHERE run_id = $1 ORDER BY id, attempt", [run.id]) {
            attempts[row.string("id") ?? "", default: []].append(TestAttempt(
                outcome: TestOutcome(rawValue: row.string("outcome") ?? "") ?? .fail, started: row.date("started"),
                duration: row.double("duration") ?? 0, exitStatus: row.int32("exit_status"), signal: row.int32("signal"),
                reason: row.string("reason"), logDirectory: row.string("log")))
        }
        var subtests: [String: [Subtest]] = [:]
        for row in try Self.rows(connection, "SELECT * FROM subtest WHERE run_id = $1 ORDER BY test_id, ordinal", [run.id]) {
            subtests[row.string("test_id") ?? "", default: []].append(Subtest(
                name: row.string("name") ?? "", outcome: SubtestOutcome(rawValue: row.string("outcome") ?? "") ?? .fail,
                reason: row.string("reason"), ordinal: row.int("ordinal") ?? 0))
        }
        if !attempts.isEmpty || !subtests.isEmpty || !subtestCounts.isEmpty {
            for index in tests.indices {
                if !attempts.isEmpty { tests[index].attempts = attempts[tests[index].id] ?? [] }
                if !subtests.isEmpty || !subtestCounts.isEmpty {
                    tests[index].subtests = subtests[tests[index].id] ?? []
                    tests[index].subtestCounts = subtestCounts[tests[index].id]
                }
            }
        }
        let setups = try Self.rows(connection, "SELECT * FROM setup_result WHERE run_id = $1 ORDER BY seq", [run.id]).map(Self.setup)
        let facts = try Self.rows(connection, "SELECT * FROM fact WHERE run_id = $1 ORDER BY name", [run.id])
            .map { Fact(name: $0.string("name") ?? "", value: $0.string("value"), source: $0.string("source") ?? "") }
        return RunReport(run: run, tests: tests, setups: setups, facts: facts)
    }

    /// A setup result from a `setup_result` row.
    static func setup(_ row: PGRow) -> SetupResult {
        SetupResult(
            name: row.string("name") ?? "", test: row.string("test_id"), phase: SetupPhase(rawValue: row.string("phase") ?? "") ?? .setup,
            outcome: SetupOutcome(rawValue: row.string("outcome") ?? "") ?? .failed, started: row.date("started"),
            duration: row.double("duration") ?? 0, exitStatus: row.int32("exit_status"), signal: row.int32("signal"),
            reason: row.string("reason"), logPath: row.string("log"))
    }

    /// The `flaky` mark of a `test_result` row; nil when it has none.
    static func flakyMark(_ row: PGRow) -> FlakyMark? {
        switch row.string("flaky") {
        case "forgiven":
            let failures = row.int("flaky_failures") ?? 1
            let window = row.int("flaky_window") ?? failures
            return .forgiven(failures: failures, window: window, threshold: row.int("flaky_threshold") ?? failures + 1)
        case "rerun":
            return .rerun(attempts: row.int("attempts") ?? 2)
        default:
            return nil
        }
    }

    /// The counts of a `subtest_counts` column; nil when there are none.
    static func subtestCounts(_ text: String?) -> SubtestCounts? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(SubtestCounts.self, from: Data(text.utf8))
    }

    /// A run's counts by outcome from its results: a result not written yet is left out while the run is still
    /// going, and counts as interrupted once it is not.
    static func countResults(_ connection: PostgresConnection, run: RunReport.Run) throws -> [TestOutcome: Int] {
        var counts: [TestOutcome: Int] = [:]
        for row in try rows(connection, "SELECT outcome, COUNT(*) AS n FROM test_result WHERE run_id = $1 GROUP BY outcome", [run.id]) {
            let outcome = TestOutcome(rawValue: row.string("outcome") ?? "")
            if outcome == nil && run.running != nil { continue }
            counts[outcome ?? .interrupted, default: 0] += row.int("n") ?? 0
        }
        return counts
    }
}
