import Execution
import Foundation
import HostFacts

/// Where runs are recorded and read back: the results of `testbed run`, and
/// what `testbed report` and the executor's ordering read.
///
/// `SQLiteRunStore` (SQLite through GRDB, in the results directory) is one
/// implementation; `PostgresRunStore` (module `PostgresStore`: one database
/// that many hosts share) is the other. Commands hold an `any RunStore` and never a concrete store, so that
/// the choice is made in one place (where the store is opened).
///
/// A store has two parts. The rows (runs, test and setup results, facts)
/// live wherever the implementation keeps them. The files of each run (the
/// output of every step, `report.json`, `junit.xml`, `facts.json`) are always
/// on this host, under `results`: a run directory made by `newRun`.
///
/// A run is written through the store's recorder (`recorder(runID:exitCodes:layout:)`),
/// which listens to the run's events as they happen and writes them so that
/// a run killed half-way keeps what it had finished (marked incomplete).
/// Every method may be called from any thread.
public protocol RunStore: AnyObject, Sendable {
    /// The recorder a run writes through.
    associatedtype Recording: RunRecorder

    /// The results directory, absolute: for messages.
    var directory: String { get }
    /// The results directory, held open: what run directories are made in.
    var results: ResultsDirectory { get }
    /// What the store found planted in the results directory and replaced
    /// when it opened (a link at `.lock`), one sentence each: for warnings.
    var notes: [String] { get }

    /// A new run: an id (sortable by time, unique among concurrent runs) and
    /// its directory, made under `results`.
    ///
    /// - Parameter started: when the run starts (the id begins with it, in UTC).
    /// - Returns: the id and the absolute path of its directory.
    /// - Throws: `StoreError.cannotCreate` when no directory can be made.
    func newRun(started: Date) throws(StoreError) -> (id: String, directory: String)

    /// The recorder that writes the events of run `runID` as they happen.
    ///
    /// - Parameters:
    ///   - runID: the id `newRun` gave.
    ///   - exitCodes: the scheme of the exit code recorded with the run at its end.
    ///   - layout: the run's directories, checked (and made again) before each
    ///     write; nil when there are none to check.
    /// - Returns: the recorder, to pass to the executor.
    func recorder(runID: String, exitCodes: ExitCodes, layout: RunLayout?) -> Recording

    /// A recorded run, with every result that was written.
    ///
    /// - Parameter id: a run id, or a unique prefix of one (every character literal); nil for the latest run.
    /// - Returns: the run; `run.running` names the `testbed run` still going on with it, if one is.
    /// - Throws: `StoreError.noSuchRun`, `.ambiguousRun` (a prefix of several runs), `.noRuns`, or `.cannotOpen` when the
    ///   rows cannot be read.
    func report(_ id: String?) throws(StoreError) -> RunReport

    /// Every recorded run, newest first.
    ///
    /// - Returns: the runs' rows (without their results).
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func runs() throws(StoreError) -> [RunReport.Run]

    /// The latest verdict of each test that ran to one (pass, fail, timeout,
    /// error, skip), across every run, by test id: what the executor orders by.
    ///
    /// - Returns: the history; empty when it cannot be read (ordering is a nicety).
    func history() -> [String: TestHistory]

    // MARK: The lab's memory (`runs`, `history`, `diff`, `why`, regressions): each answers through an index.

    /// The runs of one host and environment (or any), newest first (`testbed runs`).
    ///
    /// - Parameter filter: the host, environment and how many.
    /// - Returns: the runs' rows, each with `counts` (counted from its results when the row has none).
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func runs(_ filter: RunFilter) throws(StoreError) -> [RunReport.Run]

    /// One run's row without its results (`report(_:)` reads them too).
    ///
    /// - Parameter id: a run id or a unique prefix of one; nil for the latest run.
    /// - Returns: the row, with `counts`.
    /// - Throws: `StoreError.noSuchRun`, `.ambiguousRun`, `.noRuns`, or `.cannotOpen`.
    func run(_ id: String?) throws(StoreError) -> RunReport.Run

    /// A run's tests with their outcomes only, in plan order, and its setups' results: what `testbed diff` compares
    /// (`report(_:)` reads every field of every test).
    ///
    /// - Parameter runID: the run's id.
    /// - Returns: the tests (id and outcome) and the setups.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func outcomes(ofRun runID: String) throws(StoreError) -> (tests: [TestResult], setups: [SetupResult])

    /// One test's results across runs, newest first, each with its run's
    /// start, host and environment (`testbed history`, `testbed why`).
    ///
    /// - Parameters:
    ///   - test: the test's id.
    ///   - filter: the host, environment and how many.
    /// - Returns: the entries; results not written yet are left out.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func testHistory(_ test: String, filter: RunFilter) throws(StoreError) -> [HistoryEntry]

    /// Whether any run has a result for `test` (else the command suggests a near id).
    ///
    /// - Parameter test: the test's id.
    /// - Returns: true when one does.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func hasTest(_ test: String) throws(StoreError) -> Bool

    /// The test ids of the newest `runs` runs, sorted: what a misspelt id is compared with.
    ///
    /// - Parameter runs: how many runs to look at.
    /// - Returns: the ids.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func recentTestIDs(runs: Int) throws(StoreError) -> [String]

    /// The snapshot a run recorded (`RunSnapshot`, shared by hash).
    ///
    /// - Parameter runID: the run's id.
    /// - Returns: the snapshot; nil for a run that recorded none.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func snapshot(ofRun runID: String) throws(StoreError) -> RunSnapshot?

    /// The newest run that started before `run` on the same host and environment.
    ///
    /// - Parameter run: the run.
    /// - Returns: its row; nil when there is none or `run` has no host (recorded before hosts were).
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func previousComparableRun(of run: RunReport.Run) throws(StoreError) -> RunReport.Run?

    /// The newest verdict (pass, fail, timeout, error) of each test in the runs
    /// before `run` on its host and environment: where a regression's chain
    /// ends (runs where the test was skipped, blocked or unsupported are passed over).
    ///
    /// - Parameters:
    ///   - tests: the test ids.
    ///   - run: the run.
    /// - Returns: each test's newest earlier verdict, by id; a test without one is absent.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func latestVerdicts(of tests: [String], before run: RunReport.Run) throws(StoreError) -> [String: HistoryEntry]

    /// A test's earlier verdicts on one host and environment (newest first),
    /// for the flaky policy (`flaky: K/N`) of the executor.
    ///
    /// - Parameters:
    ///   - host: the host's name, as runs record it.
    ///   - environment: the environment's name.
    ///   - runID: the run being judged, left out.
    /// - Returns: the history, read when asked.
    func verdictHistory(host: String, environment: String, excludingRun runID: String) -> any VerdictHistory

    /// A run's results in brief, read quickly (the dashboard folds 100 runs of 10,000 tests): each test's id,
    /// outcome, start, duration and log directory (no reason, exit status or signal); each setup's name, test,
    /// phase, outcome and reason.
    ///
    /// - Parameter runID: the run's id.
    /// - Returns: the tests in plan order (results not written yet are left out), the setups in the order they ended.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func briefResults(ofRun runID: String) throws(StoreError) -> (tests: [TestResult], setups: [SetupResult])

    // MARK: The grid's hosts (`testbed hosts enroll`).

    /// Records a grid host's enrolment (its facts, snapshot and features), replacing its earlier one.
    ///
    /// - Parameter host: the host.
    /// - Throws: `StoreError.cannotOpen` when the row cannot be written.
    func enrol(_ host: EnrolledHost) throws(StoreError)

    /// Every enrolled grid host.
    ///
    /// - Returns: the hosts, sorted by name.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    func enrolledHosts() throws(StoreError) -> [EnrolledHost]

    /// Marks a run's unfinished tests interrupted: what a grid run does when the node of a shard stopped answering.
    /// Each listed test without a result in the run (no row, or still pending) gets an `interrupted` result whose
    /// reason is `reason`; the run, when it has no end yet, ends interrupted at `at` (its counts from its results).
    ///
    /// - Parameters:
    ///   - runID: the run's id.
    ///   - tests: the test ids the run was given.
    ///   - reason: the reason (`host lost: node node3 stopped answering`).
    ///   - at: when the host was found lost.
    /// - Throws: `StoreError.noSuchRun` when no run has that id, or the store's error when it cannot be written.
    func interruptUnfinished(run runID: String, tests: [String], reason: String, at: Date) throws(StoreError)
}

extension RunStore {
    /// A new run starting now (see `newRun(started:)`).
    ///
    /// - Returns: the id and the absolute path of its directory.
    /// - Throws: `StoreError.cannotCreate` when no directory can be made.
    public func newRun() throws(StoreError) -> (id: String, directory: String) {
        try newRun(started: Date())
    }

    /// The latest run (`report(nil)`).
    ///
    /// - Returns: the run.
    /// - Throws: `StoreError.noRuns`, or `.cannotOpen` when the rows cannot be read.
    public func latest() throws(StoreError) -> RunReport {
        try report(nil)
    }
}

/// Writes a run's events into a `RunStore` as they happen, and says at the
/// end how that went and what the run was.
public protocol RunRecorder: Recorder {
    /// How the recording ended (the exit code as recorded with the run, and
    /// what went wrong while recording); nil until `.finished` was recorded.
    var outcome: RecordingOutcome? { get }

    /// The run as it ended: its start (`.started`), its results
    /// (`.finished`), and its exit code and recording trouble as `outcome`
    /// has them, without reading the store back; nil until `.finished` was recorded.
    var report: RunReport? { get }
}

extension RunStore {
    /// The runs of one grid run's shards: those labelled `grid-run=GRID`, newest first.
    ///
    /// - Parameter grid: the grid run's id (`grid-20261130-101500-3fa2`).
    /// - Returns: the runs' rows, with counts.
    /// - Throws: `StoreError.cannotOpen` (or the store's own) when the rows cannot be read.
    public func shardRuns(grid: String) throws(StoreError) -> [RunReport.Run] {
        try runs(RunFilter()).filter { $0.labels["grid-run"] == grid }
    }
}
