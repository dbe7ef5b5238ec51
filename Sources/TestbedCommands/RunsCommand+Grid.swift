import ArgumentParser
import Execution
import Foundation
import Grid
import History
import Reporting
import Results

/// `runs --grid slurm`: the grid runs' shards Slurm still has queued or running, after the recorded runs.
extension RunsCommand {
    /// The label a grid run puts on each shard's run (`grid-run=GRID`).
    static let gridRunLabel = "grid-run"

    /// The shards queued or running, each with its run's id when the store has one (a running shard's).
    ///
    /// - Parameter store: the store; nil when there is none yet (shards may be queued before any run is recorded).
    /// - Returns: the shards, in squeue's order.
    /// - Throws: `CommandFailure` (64, or 2 when Slurm cannot be asked: `gridFailure`).
    func queuedShards(store: (any RunStore)?) throws -> [ShardJSON] {
        let shards: [ShardJob]
        do { shards = try Slurm().queuedShards() } catch { throw gridFailure(error) }
        // Only a shard that runs has a run row (its `testbed run` writes it as it starts).
        var runs: [RunReport.Run] = []
        if shards.contains(where: { $0.job.state != "PENDING" }), let store {
            runs = ((try? store.runs(RunFilter())) ?? []).filter { $0.labels[Self.gridRunLabel] != nil }
        }
        return shards.map { shard in
            // Newest first: a replacement shard on the same node is the newer run.
            let run = shard.job.state == "PENDING" ? nil : runs.first {
                $0.labels[Self.gridRunLabel] == shard.grid && $0.labels[GridShardOptions.nodeLabel] == shard.node
            }
            return ShardJSON(shard, run: run?.id)
        }
    }

    /// The shards as a table after the runs' (or a line saying there are none).
    ///
    /// - Parameters:
    ///   - shards: the shards.
    ///   - style: the terminal's colours.
    /// - Returns: the text, ending in a newline.
    static func shardsText(_ shards: [ShardJSON], style: Style) -> String {
        guard !shards.isEmpty else { return "no grid shards queued or running on Slurm\n" }
        let rows = shards.map { [$0.grid, $0.node, $0.job, $0.stateText, $0.run ?? "-"] }
        return "grid shards queued or running on Slurm:\n" + HistoryText.table(["GRID", "NODE", "JOB", "STATE", "RUN"], rows, style: style) {
            column, cell in
            guard column == 3 else { return cell }
            return cell.hasPrefix("running") ? style.green(cell) : style.yellow(cell)
        }
    }
}

/// A queued or running shard as `testbed runs --grid slurm --json` lists it (under `shards`).
struct ShardJSON: Encodable {
    /// The grid run's id.
    var grid: String
    /// The node the shard is pinned to.
    var node: String
    /// The Slurm job id.
    var job: String
    /// Slurm's state, lowercase: `pending`, `running`, `completing`…
    var state: String
    /// Slurm's reason for the state (`ReqNodeNotAvail, UnavailableNodes:node2`; `None` when there is none).
    var reason: String
    /// The node it runs on, when it runs.
    var nodes: String?
    /// The shard's run id in the store, for a running shard whose run has started.
    var run: String?
    /// The state in words (not encoded).
    var stateText: String

    enum CodingKeys: String, CodingKey {
        case grid, node, job, state, reason, nodes, run
    }

    /// Every key, `null` for what is not known (`nodes` of a pending shard, `run` of one not started).
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(grid, forKey: .grid)
        try container.encode(node, forKey: .node)
        try container.encode(job, forKey: .job)
        try container.encode(state, forKey: .state)
        try container.encode(reason, forKey: .reason)
        try container.encode(nodes, forKey: .nodes)
        try container.encode(run, forKey: .run)
    }

    init(_ shard: ShardJob, run: String?) {
        grid = shard.grid
        node = shard.node
        job = shard.job.id
        state = shard.job.state.lowercased()
        reason = shard.job.reason.trimmingCharacters(in: .whitespaces)
        nodes = shard.job.nodes.isEmpty ? nil : shard.job.nodes
        self.run = run
        stateText = shard.stateText
    }
}

/// `testbed runs --grid slurm --json`: the runs and the shards.
struct RunsWithShardsJSON: Encodable {
    /// The recorded runs, as `testbed runs --json` lists them.
    var runs: [RunJSON]
    /// The shards queued or running.
    var shards: [ShardJSON]
}
