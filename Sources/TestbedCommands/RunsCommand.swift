import ArgumentParser
import CShim
import Execution
import Foundation
import History
import Reporting
import Results

/// `testbed runs`: the recorded runs, newest first.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the recorded runs, newest first: when, where, labels, counts by outcome, exit code.",
        discussion: """
        One line per run: its id, when it started, how long it took, the host and \
        environment it ran on, its labels (--label), its tests counted by outcome, \
        its exit code, and whether it is complete, interrupted, incomplete (testbed \
        stopped before its end) or still running. Runs recorded before Testbed \
        recorded hosts show `-` as their host.

          testbed runs
          testbed runs --limit 5 --host lab1 -e lab-r420
          testbed runs --json | jq '.[0].counts'
          testbed runs --grid slurm

        With --grid slurm, the grid runs' shards that Slurm still has queued or \
        running follow (squeue's jobs named testbed-shard:GRID:NODE): the grid \
        run, the node, the job id, its state (pending with Slurm's reason, or \
        running) and, for a running shard, its run id once its run has started; \
        with --json the answer is {"runs": [...], "shards": [...]}.

        Exit codes: 0 listed, 2 Slurm cannot be asked (--grid), 64 bad command line, 66 no results directory or no runs yet \
        (with --grid: listed all the same).
        """)

    @OptionGroup var store: HistoryStoreOptions
    @OptionGroup var filter: RunFilterOptions

    @OptionGroup var runLimit: RunLimitOptions

    @Option(help: ArgumentHelp("Also list the grid runs' shards this grid has queued or running (only `slurm`: the one "
        + "SLURM_CONF names).", valueName: "grid"))
    var grid: GridKind?

    func run() throws {
        let (store, runs) = try storeAndRuns()
        let shards = grid == nil ? nil : try queuedShards(store: store)
        if self.store.json {
            if let shards { emit(encodeJSON(RunsWithShardsJSON(runs: Self.json(runs), shards: shards))) } else { emit(encodeJSON(Self.json(runs))) }
            return
        }
        let style = Style.standard
        emit(runsText(runs, style: style))
        if let shards { emit("\n" + Self.shardsText(shards, style: style)) }
    }

    /// The store and its runs (`--limit`, `--host`, `-e`), newest first. With `--grid`, no results directory or no
    /// database yet is a warning (no store, no runs): shards may be queued before the first run is recorded.
    ///
    /// - Returns: the store (nil when there is none, with `--grid`) and the runs.
    /// - Throws: `CommandFailure` (66 for no results, 64 for an ambiguous filter).
    func storeAndRuns() throws -> (store: (any RunStore)?, runs: [RunReport.Run]) {
        do {
            let store = try self.store.open()
            do { return (store, try store.runs(filter.filter(limit: runLimit.count))) } catch { throw historyFailure(error) }
        } catch let failure as CommandFailure where grid != nil && failure.status == ExitPolicy.noSuchRun {
            writeText("testbed: warning: \(failure.message)\n", to: STDERR_FILENO)
            return (nil, [])
        }
    }

    /// The runs as a table, or a line saying there are none.
    ///
    /// - Parameters:
    ///   - runs: the runs, newest first.
    ///   - style: the terminal's colours.
    /// - Returns: the text, ending in a newline.
    func runsText(_ runs: [RunReport.Run], style: Style) -> String {
        guard !runs.isEmpty else {
            let which = filter.host != nil || filter.environment != nil ? " matching --host and -e; `testbed runs` lists them all" : ""
            return "no runs\(which)\n"
        }
        let rows = runs.map { run -> [String] in
            [run.id, HistoryText.date(run.started), run.finished.map { HistoryText.duration($0.timeIntervalSince(run.started)) } ?? "-",
             (run.host ?? "-").escapingControls, run.environment.escapingControls, run.exitCode.map(String.init) ?? "-",
             Self.state(run), HistoryText.labels(run.labels), HistoryText.counts(run.counts ?? [:], flaky: run.flakyCounts,
                                                                             style: Style(enabled: false))]
        }
        return HistoryText.table(["RUN", "STARTED", "DURATION", "HOST", "ENVIRONMENT", "EXIT", "STATE", "LABELS", "TESTS"], rows,
                                 style: style) { column, cell in
            switch column {
            case 5: return cell.hasPrefix("0") || cell.hasPrefix("-") ? cell : style.red(cell)
            case 6: return cell.hasPrefix("complete") ? cell : style.yellow(cell)
            default: return cell
            }
        }
    }

    /// The JSON value of `testbed runs --json` and `GET /api/runs`.
    static func json(_ runs: [RunReport.Run]) -> [RunJSON] { runs.map(RunJSON.init) }

    /// `complete`, `interrupted`, `running`, `incomplete`.
    static func state(_ run: RunReport.Run) -> String {
        run.state.rawValue
    }
}

/// A run as `testbed runs --json` lists it.
struct RunJSON: Encodable {
    var id: String
    var started: String
    var finished: String?
    var duration: Double?
    var host: String?
    var machineID: String?
    var environment: String
    var labels: [String: String]
    var counts: [String: Int]
    var exitCode: Int32?
    var state: String
    var suiteCommit: String?
    var suiteDirty: Bool?
    var snapshot: String?
    var directory: String

    enum CodingKeys: String, CodingKey {
        case id, started, finished, duration, host, environment, labels, counts, state, snapshot, directory
        case machineID = "machine_id"
        case exitCode = "exit_code"
        case suiteCommit = "suite_commit"
        case suiteDirty = "suite_dirty"
    }

    init(_ run: RunReport.Run) {
        id = run.id
        started = HistoryText.iso8601(run.started)
        finished = run.finished.map(HistoryText.iso8601)
        duration = run.duration
        host = run.host
        machineID = run.machineID
        environment = run.environment
        labels = run.labels
        counts = run.countsByName
        exitCode = run.exitCode
        state = RunsCommand.state(run)
        suiteCommit = run.suiteCommit
        suiteDirty = run.suiteDirty
        snapshot = run.snapshot
        directory = run.directory
    }
}
