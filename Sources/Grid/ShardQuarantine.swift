import Synchronization

/// A grid shard's node (`testbed run --grid-node NODE`), quarantined the moment one of the shard's setups fails:
/// the node is drained with Testbed's reason, `testbed: setup NAME failed in run ID`, so that Slurm gives it no
/// more work until `testbed hosts resume NODE` (the RFC's halted host). The shard itself keeps going with what
/// does not depend on the setup; only the first failed setup drains (a node is drained once).
public final class ShardQuarantine: Sendable {
    /// The Slurm node the shard runs on.
    public let node: String
    /// The shard's own run id in the store (the reason names it).
    public let runID: String
    /// The grid.
    public let slurm: Slurm
    /// The reason the node was drained with, once it was.
    private let drainedWith = Mutex<String?>(nil)

    /// A shard's quarantine.
    ///
    /// - Parameters:
    ///   - node: the Slurm node the shard runs on.
    ///   - runID: the shard's run id.
    ///   - slurm: the grid (`Slurm()` for the real one).
    public init(node: String, runID: String, slurm: Slurm = Slurm()) {
        self.node = node
        self.runID = runID
        self.slurm = slurm
    }

    /// The reason the node was drained with; nil while no setup has failed.
    public var reason: String? { drainedWith.withLock { $0 } }

    /// Drains the node because setup `setup` failed, unless an earlier failed setup drained it already.
    ///
    /// - Parameter setup: the setup's name.
    /// - Returns: the reason the node was drained with now (`testbed: setup NAME failed in run ID`); nil when it
    ///   was drained before, for an earlier setup of this run.
    /// - Throws: `GridError` when Slurm cannot drain it (the next failed setup tries again).
    @discardableResult
    public func setupFailed(_ setup: String) throws(GridError) -> String? {
        let reason = TestbedReason.setupFailed(setup, inRun: runID)
        let first = drainedWith.withLock { drained -> Bool in
            guard drained == nil else { return false }
            drained = reason
            return true
        }
        guard first else { return nil }
        do {
            try slurm.drain(node, reason: reason)
        } catch {
            drainedWith.withLock { $0 = nil }
            throw error
        }
        return reason
    }
}
