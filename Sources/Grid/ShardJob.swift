/// A grid run's shard as Slurm queues it: a batch job named `testbed-shard:GRID:NODE` (a replacement shard may add
/// `:SUFFIX`), running `testbed run --grid-node NODE` on that node.
public struct ShardJob: Sendable, Hashable {
    /// What every shard's job name begins with.
    public static let namePrefix = "testbed-shard:"

    /// The grid run's id (`grid-20261130-101500-3fa2`).
    public var grid: String
    /// The node the shard is pinned to.
    public var node: String
    /// The job as squeue lists it.
    public var job: SlurmJob

    /// The job name of a shard.
    ///
    /// - Parameters:
    ///   - grid: the grid run's id.
    ///   - node: the node.
    /// - Returns: `testbed-shard:GRID:NODE`.
    public static func name(grid: String, node: String) -> String {
        namePrefix + grid + ":" + node
    }

    /// A shard job, read from a job's name; nil for a job that is not a shard.
    ///
    /// - Parameter job: a job squeue listed.
    public init?(_ job: SlurmJob) {
        guard job.name.hasPrefix(Self.namePrefix) else { return nil }
        let fields = job.name.dropFirst(Self.namePrefix.count).split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 2, !fields[0].isEmpty, !fields[1].isEmpty else { return nil }
        grid = String(fields[0])
        node = String(fields[1])
        self.job = job
    }

    /// The job's state in words: `pending (ReqNodeNotAvail, UnavailableNodes:node2)`, `running on node1`.
    public var stateText: String {
        let state = job.state.lowercased()
        let reason = job.reason.trimmingSpaces
        switch job.state {
        case "PENDING": return reason.isEmpty || reason == "None" ? state : "\(state) (\(reason))"
        case "RUNNING", "COMPLETING": return job.nodes.isEmpty ? state : "\(state) on \(job.nodes)"
        default: return reason.isEmpty || reason == "None" ? state : "\(state) (\(reason))"
        }
    }
}

extension Slurm {
    /// The grid runs' shards Slurm still has queued or running (`squeue -h`, which lists pending and running jobs,
    /// filtered to the jobs named `testbed-shard:…`), in squeue's order.
    ///
    /// - Returns: the shards.
    /// - Throws: a command's error or `GridError.unexpectedOutput`.
    public func queuedShards() throws(GridError) -> [ShardJob] {
        let output = try commands.run(["squeue", "-h", "-o", SlurmJob.squeueFormat])
        return try SlurmJob.parse(squeue: output).compactMap(ShardJob.init)
    }
}
