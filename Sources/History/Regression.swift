import Execution
import Results

/// A test that failed now and passed the last time it had a verdict on the
/// same host and environment (DESIGN.md, "History"): runs where it was
/// skipped, blocked, unsupported or not run in between do not break the chain.
public struct Regression: Sendable, Hashable {
    /// The test's id.
    public var test: String
    /// Its outcome now: fail, timeout or error.
    public var outcome: TestOutcome
    /// The earlier run where it passed: its newest verdict before now.
    public var lastPass: HistoryEntry

    /// A regression.
    ///
    /// - Parameters:
    ///   - test: the test's id.
    ///   - outcome: its failing outcome now.
    ///   - lastPass: the earlier run where it passed.
    public init(test: String, outcome: TestOutcome, lastPass: HistoryEntry) {
        self.test = test
        self.outcome = outcome
        self.lastPass = lastPass
    }

    /// The regressions among a run's results.
    ///
    /// - Parameters:
    ///   - current: the run's test results.
    ///   - host: the run's host; nil (a run recorded before hosts were) has no comparable run, so no regression.
    ///   - environment: the run's environment.
    ///   - earlier: each test's results in earlier runs, newest first (entries
    ///     of another host or environment are passed over).
    /// - Returns: the tests that failed now and whose newest earlier verdict
    ///   on the same host and environment is a pass, sorted by id.
    public static func find(current: [TestResult], host: String?, environment: String,
                            earlier: [String: [HistoryEntry]]) -> [Regression] {
        guard let host else { return [] }
        var found: [Regression] = []
        var seen: Set<String> = []
        for test in current where test.outcome.isTestFailure && seen.insert(test.id).inserted {
            let previous = earlier[test.id]?.first { $0.host == host && $0.environment == environment && $0.isVerdict }
            if let previous, previous.outcome == .pass {
                found.append(Regression(test: test.id, outcome: test.outcome, lastPass: previous))
            }
        }
        return found.sorted { $0.test < $1.test }
    }
}
