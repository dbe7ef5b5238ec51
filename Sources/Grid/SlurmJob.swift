/// One job as `squeue -h -t all -o '%i|%j|%T|%r|%N'` lists it.
public struct SlurmJob: Sendable, Hashable {
    /// The job id.
    public var id: String
    /// The job's name (`-J`).
    public var name: String
    /// Its state: `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, `NODE_FAIL`…
    public var state: String
    /// Why it is in that state (`None`, `NonZeroExitCode`, `ReqNodeNotAvail, UnavailableNodes:node2`…).
    public var reason: String
    /// The nodes it runs or ran on (empty while pending).
    public var nodes: String

    /// Creates a job row.
    ///
    /// - Parameters:
    ///   - id: the job id.
    ///   - name: the job's name.
    ///   - state: its state.
    ///   - reason: why it is in that state.
    ///   - nodes: its nodes.
    public init(id: String, name: String, state: String, reason: String, nodes: String) {
        self.id = id
        self.name = name
        self.state = state
        self.reason = reason
        self.nodes = nodes
    }

    /// The `-o` format the parser reads.
    public static let squeueFormat = "%i|%j|%T|%r|%N"

    /// Whether the job has ended (any state but pending, configuring, running, completing, suspended, requeued…).
    public var hasEnded: Bool {
        !["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
          "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"].contains(state)
    }

    /// Whether the job ended well.
    public var succeeded: Bool { state == "COMPLETED" }

    /// Every job of squeue's output in `squeueFormat` (no header).
    ///
    /// The name may hold `|`: the id is the first field, state, reason and nodes the last three.
    ///
    /// - Parameter output: the command's standard output.
    /// - Returns: the jobs, in squeue's order.
    /// - Throws: `GridError.unexpectedOutput` for a line with fewer than five fields.
    public static func parse(squeue output: String) throws(GridError) -> [SlurmJob] {
        try output.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }.map { line throws(GridError) in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 5, !fields[0].isEmpty else { throw .unexpectedOutput("squeue", String(line)) }
            let tail = fields.suffix(3).map { $0 }
            return SlurmJob(id: fields[0].trimmingSpaces, name: fields[1..<(fields.count - 3)].joined(separator: "|"),
                            state: tail[0].trimmingSpaces, reason: tail[1], nodes: tail[2].trimmingSpaces)
        }
    }
}

extension String {
    /// Without leading and trailing spaces.
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
