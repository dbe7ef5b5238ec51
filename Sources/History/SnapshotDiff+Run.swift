import HostFacts
import Results

extension SnapshotDiff.State {
    /// What a run recorded: its snapshot (nil: none, a run recorded before snapshots were), labels and suite commit.
    ///
    /// - Parameters:
    ///   - run: the run's row.
    ///   - snapshot: its snapshot.
    public init(run: RunReport.Run, snapshot: RunSnapshot?) {
        self.init(facts: snapshot?.facts ?? [:], packages: snapshot?.packages ?? [:], modules: Set(snapshot?.modules ?? []),
                  binaries: snapshot?.binaries ?? [:], kernelCommandLine: snapshot?.kernelCommandLine, labels: run.labels,
                  suiteCommit: run.suiteCommit, suiteDirty: run.suiteDirty, hasSnapshot: snapshot != nil)
    }
}
