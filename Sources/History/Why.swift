import Execution
import Results

/// What changed since a test last passed (`testbed why`): the run where it
/// last passed, the first run where it failed after that, and what differs
/// between the two runs' states.
public struct Why: Sendable, Hashable {
    /// What the test's history says.
    public enum Answer: Sendable, Hashable {
        /// It passed, then failed: the last pass and the first failure after it.
        case changed(lastPass: HistoryEntry, firstFailure: HistoryEntry)
        /// Its newest verdict is a pass: nothing to explain.
        case passing(HistoryEntry)
        /// It failed every time it had a verdict (`verdicts` of them; 0: it never had one).
        case neverPassed(verdicts: Int)
    }

    /// The test's id.
    public var test: String
    /// What its history says.
    public var answer: Answer
    /// What differs between the last pass's run and the first failure's; nil
    /// unless `answer` is `.changed` (and both runs' states were found).
    public var diff: SnapshotDiff?
    /// The kernel (the `kernel` fact) where it last passed, when recorded.
    public var lastPassKernel: String?

    /// The answer for a test, from its history on one host and environment.
    ///
    /// - Parameters:
    ///   - test: the test's id.
    ///   - timeline: its results on that host and environment, newest first.
    ///   - state: what a run recorded (its snapshot, labels, suite commit), by the run; nil when it cannot be read.
    public init(test: String, timeline: TestTimeline, state: (HistoryEntry) -> SnapshotDiff.State?) {
        self.test = test
        if let pass = timeline.lastPass, let failure = timeline.firstFailureSinceLastPass {
            answer = .changed(lastPass: pass, firstFailure: failure)
            let before = state(pass)
            lastPassKernel = before?.hasSnapshot == true ? before?.facts["kernel"] : nil
            if let before, let after = state(failure) { diff = SnapshotDiff(from: before, to: after) }
        } else if let pass = timeline.latestVerdict, pass.outcome == .pass {
            answer = .passing(pass)
        } else {
            answer = .neverPassed(verdicts: timeline.verdicts.count)
        }
    }

    /// `/net/virtio last passed in run R1 (kernel 6.1.0-13), first failed in R2. What changed: …`;
    /// `/net/virtio never passed on this host and environment (failed all 3 runs with a verdict)`;
    /// `/net/virtio passed in its latest run with a verdict, R3: nothing to explain`.
    ///
    /// - Parameter limit: how many changes to name.
    /// - Returns: the sentence(s), one line.
    public func text(limit: Int = 6) -> String {
        switch answer {
        case let .changed(pass, failure):
            let kernel = lastPassKernel.map { " (kernel \(SnapshotDiff.clipped($0)))" } ?? ""
            let changed = diff.map { "What changed: " + $0.summary(limit: limit) } ?? "What changed is unknown: a run's state could not be read"
            return "\(test) last passed in run \(pass.runID)\(kernel), first failed in \(failure.runID). \(changed)"
        case let .passing(entry):
            return "\(test) passed in its latest run with a verdict, \(entry.runID): nothing to explain"
        case let .neverPassed(verdicts):
            return verdicts == 0
                ? "\(test) never passed nor failed on this host and environment (no run with a verdict)"
                : "\(test) never passed on this host and environment (failed in "
                + (verdicts == 1 ? "its only run with a verdict)" : "all \(verdicts) runs with a verdict)")
        }
    }

    /// The short form the end of `testbed run` prints for a regression: what changed only.
    ///
    /// - Parameter limit: how many changes to name.
    /// - Returns: `what changed since R1: kernel 6.1.0-13 → 6.1.0-15; …`.
    public func brief(limit: Int = 3) -> String {
        guard case let .changed(pass, _) = answer else { return text(limit: limit) }
        return "since \(pass.runID): " + (diff?.summary(limit: limit) ?? "unknown (a run's state could not be read)")
    }
}
