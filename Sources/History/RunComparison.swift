import Execution
import Results

/// Two runs' results sorted as KernelCI and SQUAD sort them: what broke,
/// what was fixed, what the lab broke, what still fails, and which tests
/// came or went (`testbed diff`).
///
/// Failure is fail, timeout or error; a test that was skipped, blocked or
/// unsupported in one of the runs is neither a regression nor a fix.
public struct RunComparison: Sendable, Hashable {
    /// One test in both runs (or in one of them: new, gone).
    public struct Change: Sendable, Hashable {
        /// The test's id.
        public var id: String
        /// Its outcome in the first run; nil when it was not in it (new).
        public var before: TestOutcome?
        /// Its outcome in the second run; nil when it is not in it (gone).
        public var after: TestOutcome?
        /// The run `before` comes from when it is not the first run (a comparison against each test's
        /// latest earlier verdict); nil otherwise.
        public var beforeRun: String?

        /// A change.
        ///
        /// - Parameters:
        ///   - id: the test's id.
        ///   - before: its outcome in the first run.
        ///   - after: its outcome in the second run.
        ///   - beforeRun: the run `before` comes from, when it is not the first run.
        public init(id: String, before: TestOutcome?, after: TestOutcome?, beforeRun: String? = nil) {
            self.id = id
            self.before = before
            self.after = after
            self.beforeRun = beforeRun
        }
    }

    /// Passed in the first run, failed in the second.
    public var regressions: [Change] = []
    /// Failed in the first run, passed in the second.
    public var fixes: [Change] = []
    /// Setups, teardowns and restores that failed in the second run and not in the first (by label:
    /// name, test, phase), as the second run has them.
    public var newInfrastructureFailures: [SetupResult] = []
    /// Failed in both.
    public var stillFailing: [Change] = []
    /// In the second run only.
    public var new: [Change] = []
    /// In the first run only.
    public var gone: [Change] = []

    /// Compares two runs.
    ///
    /// - Parameters:
    ///   - before: the first (older) run's test results.
    ///   - after: the second run's test results.
    ///   - setupsBefore: the first run's setup results.
    ///   - setupsAfter: the second run's setup results.
    public init(before: [TestResult], after: [TestResult], setupsBefore: [SetupResult] = [], setupsAfter: [SetupResult] = []) {
        var old: [String: TestOutcome] = [:]
        for test in before where old[test.id] == nil { old[test.id] = test.outcome }
        var seen: Set<String> = []
        for test in after where seen.insert(test.id).inserted {
            guard let was = old[test.id] else {
                new.append(Change(id: test.id, before: nil, after: test.outcome))
                continue
            }
            let change = Change(id: test.id, before: was, after: test.outcome)
            if was == .pass && test.outcome.isTestFailure {
                regressions.append(change)
            } else if was.isTestFailure && test.outcome == .pass {
                fixes.append(change)
            } else if was.isTestFailure && test.outcome.isTestFailure {
                stillFailing.append(change)
            }
        }
        for test in before where !seen.contains(test.id) {
            seen.insert(test.id)
            gone.append(Change(id: test.id, before: test.outcome, after: nil))
        }
        let failedBefore = Set(setupsBefore.filter(\.outcome.isInfrastructureFailure).map(\.label))
        var listed: Set<String> = []
        for setup in setupsAfter where setup.outcome.isInfrastructureFailure && !failedBefore.contains(setup.label) {
            if listed.insert(setup.label).inserted { newInfrastructureFailures.append(setup) }
        }
        for keyPath in [\Self.regressions, \.fixes, \.stillFailing, \.new, \.gone] {
            self[keyPath: keyPath].sort { $0.id < $1.id }
        }
        newInfrastructureFailures.sort { $0.label < $1.label }
    }

    /// Compares a run with each test's latest earlier verdict on its host and environment (`testbed diff`
    /// without RUN_A, the dashboard): a partial run in between (a sub-folder, a `--tag`) hides nothing.
    /// New tests are those with their first verdict (no earlier one at all); nothing is gone (a test
    /// missing from a partial run is not gone).
    ///
    /// - Parameters:
    ///   - after: the run's test results.
    ///   - earlierVerdicts: each test's latest earlier verdict on the run's host and environment
    ///     (`RunStore.latestVerdicts(of:before:)`); tests without one are absent.
    ///   - setupsBefore: the previous comparable run's setup results (for new infrastructure failures).
    ///   - setupsAfter: the run's setup results.
    public init(after: [TestResult], earlierVerdicts: [String: HistoryEntry], setupsBefore: [SetupResult] = [],
                setupsAfter: [SetupResult] = []) {
        self.init(before: [], after: [], setupsBefore: setupsBefore, setupsAfter: setupsAfter)
        var seen: Set<String> = []
        for test in after where seen.insert(test.id).inserted {
            guard let earlier = earlierVerdicts[test.id], earlier.isVerdict else {
                if test.outcome == .pass || test.outcome.isTestFailure {
                    new.append(Change(id: test.id, before: nil, after: test.outcome))
                }
                continue
            }
            let change = Change(id: test.id, before: earlier.outcome, after: test.outcome, beforeRun: earlier.runID)
            if earlier.outcome == .pass && test.outcome.isTestFailure {
                regressions.append(change)
            } else if earlier.outcome.isTestFailure && test.outcome == .pass {
                fixes.append(change)
            } else if earlier.outcome.isTestFailure && test.outcome.isTestFailure {
                stillFailing.append(change)
            }
        }
        for keyPath in [\Self.regressions, \.fixes, \.stillFailing, \.new] {
            self[keyPath: keyPath].sort { $0.id < $1.id }
        }
    }

    /// Whether nothing differs that the comparison lists (still failing aside).
    public var isEmpty: Bool {
        regressions.isEmpty && fixes.isEmpty && newInfrastructureFailures.isEmpty && new.isEmpty && gone.isEmpty
    }
}
