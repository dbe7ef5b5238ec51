/// Problems with the Slurm grid, each with its fix: the one error of `Grid`.
public enum GridError: Error, CustomStringConvertible, Equatable {
    /// A Slurm command (its name) is not installed (on no directory of PATH).
    case notInstalled(String)
    /// `SLURM_CONF` is not set, so no Slurm command knows which grid to ask.
    case noConfiguration
    /// `SLURM_CONF` names a file (the path) that does not exist: Slurm's commands would retry for a minute, then fail.
    case missingConfiguration(String)
    /// A Slurm command (its argument vector) failed: its exit status and the first line of its standard error.
    case commandFailed([String], Int32, String)
    /// A line of Slurm's output (what printed it, the line) that does not read as expected.
    case unexpectedOutput(String, String)
    /// No Slurm node has this name (the first); the nearest names (the second).
    case noSuchNode(String, [String])
    /// `resume` of a node (its name) that is not halted: its status in words.
    case notHalted(String, String)
    /// A drain reason that is empty.
    case emptyReason

    /// What is wrong, without the fix.
    public var problem: String {
        switch self {
        case let .notInstalled(command): "\(command) is not installed (not on PATH)"
        case .noConfiguration: "SLURM_CONF is not set, so Testbed does not know which Slurm grid to ask"
        case let .missingConfiguration(path): "SLURM_CONF names \(path), which does not exist"
        case let .commandFailed(arguments, status, line):
            "`\(arguments.joined(separator: " "))` exited with status \(status)" + (line.isEmpty ? "" : ": \(line)")
        case let .unexpectedOutput(command, line): "cannot read this line of \(command)'s output: \(line)"
        case let .noSuchNode(node, _): "no Slurm node \(node)"
        case let .notHalted(node, status): "node \(node) is \(status), not halted"
        case .emptyReason: "the reason to drain a node is empty"
        }
    }

    /// What to do about it.
    public var fix: String {
        switch self {
        case .notInstalled: "install Slurm's client (apt-get install slurm-client) or add its directory to PATH"
        case .noConfiguration: "export SLURM_CONF=/path/to/slurm.conf (for a local grid: eval \"$(scripts/local-grid up)\")"
        case .missingConfiguration:
            "point SLURM_CONF at the grid's slurm.conf (for a local grid that is down: eval \"$(scripts/local-grid up)\")"
        case .commandFailed:
            "check that slurmctld runs and SLURM_CONF names its slurm.conf (for a local grid: eval \"$(scripts/local-grid up)\")"
        case .unexpectedOutput: "this Slurm may be newer than Testbed knows (it reads Slurm 22.05); report it"
        case let .noSuchNode(_, near):
            near.isEmpty ? "`sinfo -N` lists the nodes" : "did you mean \(near.joined(separator: " or "))? (`sinfo -N` lists the nodes)"
        case .notHalted: "only a halted (drained) node can be resumed; `testbed hosts --grid slurm` shows each node's status"
        case .emptyReason: "say why with --reason TEXT"
        }
    }

    /// The problem and its fix, as printed.
    public var description: String { problem + "; " + fix }
}
