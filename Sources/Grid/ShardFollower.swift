/// One submitted shard of a grid run, as its follower tracks it.
public struct ShardWatch: Sendable, Equatable {
    /// Where the shard is in its life.
    public enum Phase: Sendable, Equatable {
        /// Queued.
        case pending
        /// Running on its node.
        case running
        /// Ended by itself (its Slurm state: `COMPLETED`, `FAILED`…; `GONE` when the controller forgot it).
        case ended(String)
        /// Cancelled by the follower: its node was lost while it ran.
        case lost
        /// Cancelled by the follower while pending: its node is halted or offline (the status's word).
        case stranded(String)
    }

    /// The node it is pinned to.
    public var node: String
    /// Its Slurm job id.
    public var job: String
    /// Its test ids.
    public var tests: [String]
    /// Its phase.
    public var phase: Phase

    /// A shard just submitted (pending).
    ///
    /// - Parameters:
    ///   - node: its node.
    ///   - job: its job id.
    ///   - tests: its test ids.
    public init(node: String, job: String, tests: [String]) {
        self.node = node
        self.job = job
        self.tests = tests
        phase = .pending
    }

    /// Whether the follower is done with it.
    public var isOver: Bool {
        switch phase {
        case .pending, .running: false
        case .ended, .lost, .stranded: true
        }
    }
}

/// What changed for a shard at one look, and what the follower must do about it.
public enum ShardEvent: Sendable, Equatable {
    /// The shard (by index) started running.
    case started(Int)
    /// The shard ended by itself: its Slurm state and reason, and whether its node is halted now (its run drained it).
    case ended(Int, state: String, reason: String, nodeHalted: Bool)
    /// The shard's node stopped answering while it ran (offline, or the job ended `NODE_FAIL`): cancel it and mark
    /// its unfinished tests interrupted.
    case lost(Int)
    /// The shard waits for a node that is halted or offline (the status's word): Slurm would keep it pending
    /// forever; cancel it, then place its tests elsewhere or report them not run.
    case stranded(Int, status: String)
}

/// Follows a grid run's shards: each look at the jobs and nodes turns into events, and moves each shard's phase.
public enum ShardFollower {
    /// One look.
    ///
    /// - Parameters:
    ///   - shards: the shards; their phases are moved on.
    ///   - jobs: the jobs as `squeue -t all` lists them, by id (a job missing was forgotten by the controller).
    ///   - nodes: the nodes by name.
    /// - Returns: the events, in shard order.
    public static func look(_ shards: inout [ShardWatch], jobs: [String: SlurmJob], nodes: [String: GridNode]) -> [ShardEvent] {
        var events: [ShardEvent] = []
        for index in shards.indices where !shards[index].isOver {
            let shard = shards[index]
            let status = nodes[shard.node]?.status
            let offline: Bool = if case .offline = status { true } else { false }
            let halted: Bool = if case .halted = status { true } else { false }
            guard let job = jobs[shard.job] else {
                shards[index].phase = .ended("GONE")
                events.append(.ended(index, state: "GONE", reason: "the controller no longer knows the job", nodeHalted: halted))
                continue
            }
            if job.state == "NODE_FAIL" || (offline && job.state != "PENDING" && !job.hasEnded) {
                shards[index].phase = .lost
                events.append(.lost(index))
                continue
            }
            if job.hasEnded {
                shards[index].phase = .ended(job.state)
                if shard.phase == .pending { events.append(.started(index)) }
                events.append(.ended(index, state: job.state, reason: job.reason, nodeHalted: halted))
                continue
            }
            if job.state == "PENDING" {
                if offline || halted {
                    let word = status?.word ?? "offline"
                    shards[index].phase = .stranded(word)
                    events.append(.stranded(index, status: word))
                }
                continue
            }
            if shard.phase == .pending {
                shards[index].phase = .running
                events.append(.started(index))
            }
        }
        return events
    }
}
