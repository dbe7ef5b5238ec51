import Execution
import Foundation

/// Where runs are recorded and read back: the results of `testbed run`, and
/// what `testbed report` and the executor's ordering read.
///
/// `SQLiteRunStore` (SQLite through GRDB, in the results directory) is
/// today's implementation; a PostgreSQL store for the grid will be a second
/// one. Commands hold an `any RunStore` and never a concrete store, so that
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

    /// A test's earlier verdicts on one host and environment (newest first),
    /// for the flaky policy (`flaky: K/N`) of the executor.
    ///
    /// - Parameters:
    ///   - host: the host's name, as runs record it.
    ///   - environment: the environment's name.
    ///   - runID: the run being judged, left out.
    /// - Returns: the history, read when asked.
    func verdictHistory(host: String, environment: String, excludingRun runID: String) -> any VerdictHistory
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
