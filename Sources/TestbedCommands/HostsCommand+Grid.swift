import ArgumentParser
import Execution
import Foundation
import Grid
import History
import Reporting
import Results

/// The grids `--grid` names: Slurm only.
enum GridKind: String, ExpressibleByArgument, CaseIterable {
    /// The Slurm grid that `SLURM_CONF` names.
    case slurm
}

/// A grid error as the command fails with it: 64 for what the user named wrong, 1 for a node that is not halted,
/// 2 when Slurm cannot be asked.
///
/// - Parameter error: the error.
/// - Returns: the failure.
func gridFailure(_ error: GridError) -> CommandFailure {
    switch error {
    case .noSuchNode, .emptyReason: CommandFailure(error.description, status: ExitPolicy.usage)
    case .notHalted: CommandFailure(error.description, status: ExitPolicy.testFailure)
    default: CommandFailure(error.description, status: ExitPolicy.infrastructureFailure)
    }
}

extension HostsListCommand {
    /// Lists the grid's nodes (`--grid slurm`): text or `--json`.
    func listGrid() throws {
        // The results directory is optional here: a grid lists its nodes before any run.
        let rows: [GridNodeJSON]
        do { rows = try Self.gridRows(store: try? self.store.open()) } catch { throw gridFailure(error) }
        if store.json {
            emit(encodeJSON(rows))
            return
        }
        let style = Style.standard
        let header = ["NAME", "STATUS", "REASON", "SINCE", "RUN", "FEATURES", "ENROLLED", "LATEST RUN"]
        let table = rows.map { row -> [String] in
            [row.name.escapingControls, row.status, (row.reason ?? "-").escapingControls, row.sinceDate.map(HistoryText.date) ?? "-",
             row.run ?? "-", row.features.isEmpty ? "-" : row.features.joined(separator: ",").escapingControls,
             row.enrolledDate.map(HistoryText.date) ?? "-", row.latestRun ?? "-"]
        }
        emit(HistoryText.table(header, table, style: style) { column, cell in
            guard column == 1 else { return cell }
            if cell.hasPrefix("online") { return style.green(cell) }
            return cell.hasPrefix("halted") ? style.yellow(cell) : style.red(cell)
        })
    }
}

extension HostsListCommand {
    /// Every node of the grid `SLURM_CONF` names, with its enrolment and latest run from `store` (as
    /// `testbed hosts --grid slurm --json` and `GET /api/hosts` of `serve --grid slurm` list them).
    ///
    /// - Parameter store: the results store; nil when there is none (nodes are listed without enrolment or runs).
    /// - Returns: the rows, in Slurm's order.
    /// - Throws: `GridError` when Slurm cannot be asked.
    static func gridRows(store: (any RunStore)?) throws(GridError) -> [GridNodeJSON] {
        let nodes = try Slurm().nodes()
        // A node's latest run: the newest labelled node=NAME (a grid shard's), else the newest whose host is NAME (a run
        // started on the node by hand; a node's host name is often its Slurm name, but not always).
        var byLabel: [String: String] = [:]
        var byHost: [String: String] = [:]
        var enrolled: [String: EnrolledHost] = [:]
        if let store {
            for run in (try? store.runs(RunFilter())) ?? [] {
                if let node = run.labels["node"], byLabel[node] == nil { byLabel[node] = run.id }
                if let host = run.host, byHost[host] == nil { byHost[host] = run.id }
            }
            for host in (try? store.enrolledHosts()) ?? [] { enrolled[host.name] = host }
        }
        return nodes.map { GridNodeJSON($0, enrolled: enrolled[$0.name], latestRun: byLabel[$0.name] ?? byHost[$0.name]) }
    }
}

/// A grid node as `testbed hosts --grid slurm --json` lists it.
struct GridNodeJSON: Encodable {
    var name: String
    /// `online`, `offline` or `halted`.
    var status: String
    /// Slurm's state words (`IDLE`, `DRAIN`…).
    var states: [String]
    var reason: String?
    /// When the reason was set (ISO 8601), for a halted or offline node with a reason.
    var since: String?
    /// The run that halted the node (Testbed's reason form), else nil.
    var run: String?
    /// Available features.
    var features: [String]
    /// When the node was last enrolled (ISO 8601); nil when it never was (in this results directory).
    var enrolled: String?
    /// `enrolled` as a date, for the text table (not encoded).
    var enrolledDate: Date?
    /// The id of the node's latest run in the store: the newest labelled `node=NAME` (a shard's), else the newest of host NAME.
    var latestRun: String?
    /// `since` as a date, for the text table (not encoded).
    var sinceDate: Date?

    enum CodingKeys: String, CodingKey {
        case name, status, states, reason, since, run, features, enrolled
        case latestRun = "latest_run"
    }

    init(_ node: GridNode, enrolled host: EnrolledHost?, latestRun: String?) {
        enrolledDate = host?.enrolled
        enrolled = host.map { HistoryText.iso8601($0.enrolled) }
        name = node.name
        status = node.status.word
        states = node.states
        reason = node.reason
        sinceDate = node.reasonTime
        since = node.reasonTime.map(HistoryText.iso8601)
        if case let .halted(_, _, byRun) = node.status { run = byRun }
        features = node.availableFeatures
        self.latestRun = latestRun
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(status, forKey: .status)
        try container.encode(states, forKey: .states)
        try container.encode(reason, forKey: .reason)
        try container.encode(since, forKey: .since)
        try container.encode(run, forKey: .run)
        try container.encode(features, forKey: .features)
        try container.encode(enrolled, forKey: .enrolled)
        try container.encode(latestRun, forKey: .latestRun)
    }
}

/// `testbed hosts resume NODE`: returns a halted (drained) grid node to service.
struct HostsResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Return a halted (drained) node of the Slurm grid to service.",
        discussion: """
        Runs `scontrol update NodeName=NODE State=RESUME` on the grid SLURM_CONF \
        names. A node that is not halted is an error that says its status.

          testbed hosts resume node2

        Exit codes: 0 resumed, 1 the node is not halted, 2 Slurm cannot be asked, 64 no such node or bad command line.
        """)

    @Argument(help: ArgumentHelp("The node's name, as `testbed hosts --grid slurm` lists it.", valueName: "node"))
    var node: String

    @Option(help: ArgumentHelp("The grid (only `slurm`, the default).", valueName: "grid"))
    var grid: GridKind = .slurm

    func run() throws {
        let before: GridNode
        do { before = try Slurm().resume(node) } catch { throw gridFailure(error) }
        emit("resumed \(node.escapingControls) (was halted: \((before.reason ?? "no reason").escapingControls))\n")
    }
}

/// `testbed hosts drain NODE --reason TEXT`: halts a grid node for an admin.
struct HostsDrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Halt (drain) a node of the Slurm grid: it takes no new job until `testbed hosts resume`.",
        discussion: """
        Runs `scontrol update NodeName=NODE State=DRAIN Reason="testbed: TEXT"`; \
        jobs on the node run to their end.

          testbed hosts drain node2 --reason "fan broken"

        Exit codes: 0 drained, 2 Slurm cannot be asked, 64 no such node, no reason or bad command line.
        """)

    @Argument(help: ArgumentHelp("The node's name, as `testbed hosts --grid slurm` lists it.", valueName: "node"))
    var node: String

    @Option(help: ArgumentHelp("Why (shown by `testbed hosts --grid slurm`; `testbed: ` is put before it).", valueName: "text"))
    var reason: String

    @Option(help: ArgumentHelp("The grid (only `slurm`, the default).", valueName: "grid"))
    var grid: GridKind = .slurm

    func run() throws {
        do { try Slurm().drain(node, reason: reason) } catch { throw gridFailure(error) }
        emit("drained \(node.escapingControls)\n")
    }
}
