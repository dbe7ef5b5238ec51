import ArgumentParser
import Foundation
import Grid
import History
import Reporting
import Results

/// `testbed hosts`: the hosts that recorded runs, or the nodes of a Slurm grid; `resume` and `drain` of a grid node.
struct HostsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts",
        abstract: "List the hosts that recorded runs, or a Slurm grid's nodes with their status; resume or drain a node.",
        subcommands: [HostsListCommand.self, HostsEnrollCommand.self, HostsResumeCommand.self, HostsDrainCommand.self],
        defaultSubcommand: HostsListCommand.self)
}

/// `testbed hosts [list]`: every host that recorded runs, with its runs count and its latest run; with `--grid slurm`
/// every node of the grid with its status.
struct HostsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the hosts that recorded runs: how many runs each, and its latest (when, environment, exit code, state).",
        discussion: """
        One line per host, sorted by name; runs recorded before Testbed recorded \
        hosts are counted under `-`. --json prints what `GET /api/hosts` of \
        `testbed serve` answers: each host with `runs` and `latest` (its latest \
        run, as `testbed runs --json` lists it).

        With --grid slurm: one line per node of the Slurm grid that SLURM_CONF \
        names, with its status (online; offline: down or not responding; \
        halted: drained, with its reason, since when, and the run that halted \
        it), its features, and its latest run in the results directory when \
        there is one. `testbed hosts resume NODE` returns a halted node.

          testbed hosts
          testbed hosts --json | jq -r '.[] | select(.latest.exit_code != 0) | .host'
          testbed hosts --grid slurm

        Exit codes: 0 listed, 2 Slurm cannot be asked, 64 bad command line, 66 no results directory or no runs yet \
        (without --grid).
        """)

    @OptionGroup var store: HistoryStoreOptions

    @Option(help: ArgumentHelp("List the nodes of this grid (only `slurm`: the one SLURM_CONF names).", valueName: "grid"))
    var grid: GridKind?

    func run() throws {
        if grid != nil {
            try listGrid()
            return
        }
        let store = try self.store.open()
        let runs: [RunReport.Run]
        do { runs = try store.runs(RunFilter()) } catch { throw historyFailure(error) }
        let hosts = HostJSON.all(runs)
        if self.store.json {
            emit(encodeJSON(hosts))
            return
        }
        guard !hosts.isEmpty else {
            emit("no runs\n")
            return
        }
        let style = Style.standard
        let rows = hosts.map { host -> [String] in
            let latest = host.latest
            return [(host.host ?? "-").escapingControls, String(host.runs), latest.id, HistoryText.date(host.latestStarted),
                    latest.environment.escapingControls, latest.exitCode.map(String.init) ?? "-", latest.state]
        }
        let header = ["HOST", "RUNS", "LATEST RUN", "STARTED", "ENVIRONMENT", "EXIT", "STATE"]
        emit(HistoryText.table(header, rows, style: style) { column, cell in
            switch column {
            case 5: return cell.hasPrefix("0") || cell.hasPrefix("-") ? cell : style.red(cell)
            case 6: return cell.hasPrefix("complete") ? cell : style.yellow(cell)
            default: return cell
            }
        })
    }
}

/// A host as `GET /api/hosts` lists it: its name (null for runs recorded before hosts were), its runs count, its latest run.
struct HostJSON: Encodable {
    var host: String?
    var runs: Int
    var latest: RunJSON
    /// When the latest run started (for the text table; not encoded).
    var latestStarted: Date

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(host, forKey: .host)
        try container.encode(runs, forKey: .runs)
        try container.encode(latest, forKey: .latest)
    }

    enum CodingKeys: String, CodingKey { case host, runs, latest }

    /// Every host of `runs` (newest first), sorted by name (the runs without a host last).
    static func all(_ runs: [RunReport.Run]) -> [HostJSON] {
        var order: [String?] = []
        var grouped: [String?: [RunReport.Run]] = [:]
        for run in runs {
            if grouped[run.host] == nil { order.append(run.host) }
            grouped[run.host, default: []].append(run)
        }
        return order.sorted { ($0 ?? "\u{10FFFF}") < ($1 ?? "\u{10FFFF}") }.compactMap { host in
            guard let runs = grouped[host], let latest = runs.max(by: { $0.started < $1.started }) else { return nil }
            return HostJSON(host: host, runs: runs.count, latest: RunJSON(latest), latestStarted: latest.started)
        }
    }
}
