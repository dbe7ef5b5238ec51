import ArgumentParser
import CShim
import Declarations
import Execution
import Foundation
import Grid

/// `run --grid-node NODE`: the run is one shard of a grid run (`run --grid slurm` submits one per node), on Slurm
/// node NODE.
struct GridShardOptions: ParsableArguments {
    @Option(name: .customLong("grid-node"), help: ArgumentHelp(
        "This run is a grid shard on Slurm node NODE (what `run --grid slurm` submits): a setup that fails drains NODE at "
            + "once with the reason `testbed: setup NAME failed in run ID`, its dependents stay blocked, the rest runs on; "
            + "the run is labelled node=NODE.",
        valueName: "node"))
    var gridNode: String?

    /// Refuses a node name Slurm could not have, and a `--label node=` that says another node.
    ///
    /// - Parameter labels: the run's `--label` options as given.
    /// - Throws: `ValidationError` (64).
    func validate(labels: [String]) throws {
        guard let gridNode else { return }
        guard !gridNode.isEmpty, !gridNode.hasPrefix("-"), gridNode.allSatisfy(RunCommand.isLabelKeyCharacter) else {
            throw ValidationError("--grid-node \(shortened(gridNode)) is not a Slurm node name; write the node's name as "
                + "`sinfo -N` lists it (letters, digits, _ . -)")
        }
        let parsed = try RunCommand.parseLabels(labels)
        if let other = parsed[Self.nodeLabel], other != gridNode {
            throw ValidationError("--label \(Self.nodeLabel)=\(shortened(other)) contradicts --grid-node \(gridNode); "
                + "leave out the label (--grid-node sets it)")
        }
    }

    /// The label key a shard's node is recorded under.
    static let nodeLabel = "node"

    /// The run's labels with `node=NODE` added for a shard.
    ///
    /// - Parameter labels: the labels of `--label`.
    /// - Returns: the labels to record from the run's start.
    func labels(_ labels: [String: String]) -> [String: String] {
        guard let gridNode else { return labels }
        return labels.merging([Self.nodeLabel: gridNode]) { _, node in node }
    }

    /// Checks that the node is one of the grid's before the shard starts.
    ///
    /// - Parameters:
    ///   - slurm: the grid.
    ///   - policy: the exit codes of the command.
    /// - Throws: `CommandFailure` with `policy.badCommandLine` (64; 128 for bisect) when the grid has no such node. When Slurm cannot be
    ///   asked, a warning is printed instead (the tests run; a failed setup then tries to drain the node again).
    func checkNode(_ slurm: Slurm = Slurm(), policy: ExitPolicy) throws(CommandFailure) {
        guard let gridNode else { return }
        do {
            _ = try slurm.node(gridNode)
        } catch .noSuchNode(let name, let near) {
            throw CommandFailure("--grid-node: " + GridError.noSuchNode(name, near).description, status: policy.badCommandLine)
        } catch {
            writeText("testbed: warning: --grid-node \(gridNode): \(error.description); a failed setup may not drain it\n",
                      to: STDERR_FILENO)
        }
    }
}

/// Drains a shard's node the moment one of its setups fails (`ShardQuarantine`), and says so on stderr. A failed
/// teardown or restore does not drain it: only a setup, whose dependents are blocked.
struct ShardQuarantineRecorder: Recorder {
    /// The node's quarantine.
    let quarantine: ShardQuarantine

    /// Drains the node on the first failed setup (`failed` or `timeout`).
    ///
    /// - Parameter event: one of the run's events.
    func record(_ event: RunEvent) async {
        guard case .setupFinished(let result, _) = event, result.phase == .setup, result.outcome.isInfrastructureFailure else { return }
        let node = quarantine.node
        do {
            guard let reason = try quarantine.setupFailed(result.name) else { return }
            writeText("testbed: setup \(result.name.escapingControls) failed: node \(node) drained (\(reason)); "
                      + "the tests that need it are blocked here, the rest run on; `testbed hosts resume \(node)` returns it\n",
                      to: STDERR_FILENO)
        } catch {
            writeText("testbed: warning: setup \(result.name.escapingControls) failed but node \(node) could not be drained: "
                      + "\(error.description)\n", to: STDERR_FILENO)
        }
    }

    /// Several events, in order.
    ///
    /// - Parameter events: the events.
    func record(_ events: [RunEvent]) async {
        for event in events { await record(event) }
    }
}
