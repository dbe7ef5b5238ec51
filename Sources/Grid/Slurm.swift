import Declarations
import Foundation

/// Testbed's grid: the Slurm operations it needs (nodes, drain, resume, features, jobs), each one Slurm command
/// through the `SlurmCommands` seam.
public struct Slurm: Sendable {
    /// Where the commands run.
    public let commands: any SlurmCommands

    /// The grid behind a set of commands.
    /// - Parameter commands: the real commands (`SystemSlurmCommands()`) or a fake.
    public init(commands: any SlurmCommands = SystemSlurmCommands()) {
        self.commands = commands
    }

    /// Every node of the grid (`scontrol show node -o`).
    ///
    /// - Returns: the nodes, in Slurm's order.
    /// - Throws: `GridError` when Slurm cannot be asked or answers unexpectedly.
    public func nodes() throws(GridError) -> [GridNode] {
        try GridNode.parse(scontrolShowNode: commands.run(["scontrol", "show", "node", "-o"]))
    }

    /// One node, by name.
    ///
    /// - Parameter name: the node's name.
    /// - Returns: the node.
    /// - Throws: `GridError.noSuchNode` (with the nearest names) when the grid has none of that name.
    public func node(_ name: String) throws(GridError) -> GridNode {
        let nodes = try nodes()
        guard let node = nodes.first(where: { $0.name == name }) else {
            throw .noSuchNode(name, closest(to: name, in: nodes.map(\.name)).map { [$0] } ?? [])
        }
        return node
    }

    /// Resumes a halted node (`scontrol update NodeName=N State=RESUME`).
    ///
    /// - Parameter name: the node's name.
    /// - Returns: the node as it was before.
    /// - Throws: `GridError.noSuchNode`, `.notHalted` (with its status) when it is not drained, or a command's error.
    @discardableResult
    public func resume(_ name: String) throws(GridError) -> GridNode {
        let node = try node(name)
        guard case .halted = node.status else {
            throw .notHalted(name, node.status.word + (node.states.isEmpty ? "" : " (\(node.states.joined(separator: "+")))"))
        }
        _ = try commands.run(["scontrol", "update", "NodeName=\(name)", "State=RESUME"])
        return node
    }

    /// Drains a node with a reason (`scontrol update NodeName=N State=DRAIN Reason=…`); jobs on it run to their end.
    ///
    /// - Parameters:
    ///   - name: the node's name.
    ///   - reason: the reason; `testbed: ` is put before it unless it begins so already.
    /// - Throws: `GridError.emptyReason`, `.noSuchNode`, or a command's error.
    public func drain(_ name: String, reason: String) throws(GridError) {
        let text = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw .emptyReason }
        _ = try node(name)
        let full = text.hasPrefix(TestbedReason.prefix) ? text : TestbedReason.prefix + text
        _ = try commands.run(["scontrol", "update", "NodeName=\(name)", "State=DRAIN", "Reason=\(full)"])
    }

    /// Sets a node's available and active features (not kept when slurmctld restarts from its slurm.conf).
    ///
    /// - Parameters:
    ///   - name: the node's name.
    ///   - features: the features, all of them.
    /// - Throws: a command's error.
    public func setFeatures(_ name: String, _ features: [String]) throws(GridError) {
        let list = features.joined(separator: ",")
        _ = try commands.run(["scontrol", "update", "NodeName=\(name)", "AvailableFeatures=\(list)", "ActiveFeatures=\(list)"])
    }

    /// Submits a batch job on one node (`sbatch --parsable -w NODE`).
    ///
    /// - Parameters:
    ///   - name: the job's name (`-J`).
    ///   - node: the node it must run on.
    ///   - output: the file its output goes to (`-o`; `%j` is the job id).
    ///   - command: the command, as an argument vector run by `sbatch --wrap` after shell quoting.
    ///   - environment: variables set for the command alone, as `NAME=value` words before it in the job's script
    ///     (kept out of the command's own arguments, which every user of the node can list: a database password).
    /// - Returns: the job id.
    /// - Throws: a command's error (a rejected submission exits 1).
    public func submit(name: String, node: String, output: String, command: [String],
                       environment: [String: String] = [:]) throws(GridError) -> String {
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.shellQuoted($0.value))" }
        let wrapped = (assignments + command.map(Self.shellQuoted)).joined(separator: " ")
        let answer = try commands.run(["sbatch", "--parsable", "-J", name, "-w", node, "-o", output, "--wrap", wrapped])
        let id = answer.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else { throw .unexpectedOutput("sbatch --parsable", answer) }
        return id
    }

    /// Submits a batch job that Slurm places on a node with a feature (`sbatch --parsable --no-requeue
    /// --constraint=FEATURE`): a grid run's shard, pinned by its node's `host_NODE` feature rather than `-w` (a job
    /// pinned so to a drained node is accepted and waits, which the follower notices). Never requeued: a shard
    /// whose node died must not run its tests twice.
    ///
    /// - Parameters:
    ///   - name: the job's name (`-J`).
    ///   - constraint: the feature it needs (`host_node1`).
    ///   - output: the file its output goes to (`-o`; `%j` is the job id).
    ///   - command: the command, as an argument vector run by `sbatch --wrap` after shell quoting.
    ///   - environment: variables set for the command alone (kept out of its arguments: a database password).
    /// - Returns: the job id.
    /// - Throws: a command's error (a rejected submission exits 1).
    public func submit(name: String, constraint: String, output: String, command: [String],
                       environment: [String: String] = [:]) throws(GridError) -> String {
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.shellQuoted($0.value))" }
        let wrapped = (assignments + command.map(Self.shellQuoted)).joined(separator: " ")
        let answer = try commands.run(["sbatch", "--parsable", "--no-requeue", "-J", name, "--constraint=\(constraint)", "-o", output,
                                       "--wrap", wrapped])
        let id = answer.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else { throw .unexpectedOutput("sbatch --parsable", answer) }
        return id
    }

    /// Cancels a job (`scancel ID`); a job that has ended already is left as it is.
    ///
    /// - Parameter id: the job id.
    /// - Throws: a command's error.
    public func cancel(_ id: String) throws(GridError) {
        _ = try commands.run(["scancel", id])
    }

    /// Jobs by id, as the controller remembers them (finished ones too: `squeue -h -t all`).
    ///
    /// - Parameter ids: the job ids.
    /// - Returns: the jobs the controller knows, by id.
    /// - Throws: a command's error or `GridError.unexpectedOutput`.
    public func jobs(_ ids: [String]) throws(GridError) -> [String: SlurmJob] {
        guard !ids.isEmpty else { return [:] }
        let output = try commands.run(["squeue", "-h", "-t", "all", "-j", ids.joined(separator: ","), "-o", SlurmJob.squeueFormat])
        var jobs: [String: SlurmJob] = [:]
        for job in try SlurmJob.parse(squeue: output) { jobs[job.id] = job }
        return jobs
    }

    /// A word in single quotes for `/bin/sh` (left bare when it needs none).
    static func shellQuoted(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0)) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
