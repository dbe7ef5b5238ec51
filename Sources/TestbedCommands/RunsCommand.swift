import ArgumentParser
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

        Exit codes: 0 listed, 64 bad command line, 66 no results directory or no runs yet.
        """)

    @OptionGroup var store: HistoryStoreOptions
    @OptionGroup var filter: RunFilterOptions

    @OptionGroup var runLimit: RunLimitOptions

    func run() throws {
        let store = try self.store.open()
        let runs: [RunReport.Run]
        do { runs = try store.runs(filter.filter(limit: runLimit.count)) } catch { throw historyFailure(error) }
        if self.store.json {
            emit(encodeJSON(Self.json(runs)))
            return
        }
        guard !runs.isEmpty else {
            let which = filter.host != nil || filter.environment != nil ? " matching --host and -e; `testbed runs` lists them all" : ""
            emit("no runs\(which)\n")
            return
        }
        let style = Style.standard
        let rows = runs.map { run -> [String] in
            [run.id, HistoryText.date(run.started), run.finished.map { HistoryText.duration($0.timeIntervalSince(run.started)) } ?? "-",
             (run.host ?? "-").escapingControls, run.environment.escapingControls, run.exitCode.map(String.init) ?? "-",
             Self.state(run), HistoryText.labels(run.labels), HistoryText.counts(run.counts ?? [:], flaky: run.flakyCounts,
                                                                             style: Style(enabled: false))]
        }
        emit(HistoryText.table(["RUN", "STARTED", "DURATION", "HOST", "ENVIRONMENT", "EXIT", "STATE", "LABELS", "TESTS"], rows,
                               style: style) { column, cell in
            switch column {
            case 5: return cell.hasPrefix("0") || cell.hasPrefix("-") ? cell : style.red(cell)
            case 6: return cell.hasPrefix("complete") ? cell : style.yellow(cell)
            default: return cell
            }
        })
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
