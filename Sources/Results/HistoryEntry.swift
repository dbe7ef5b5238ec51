import Execution
import Foundation
import Subtests

/// One test's result in one run, with the run it belongs to: a row of
/// `testbed history`, and what regressions and `why` look back through.
public struct HistoryEntry: Sendable, Hashable {
    /// The run's id.
    public var runID: String
    /// When the run started.
    public var started: Date
    /// The run's host (hostname); nil for runs recorded before hosts were.
    public var host: String?
    /// The run's environment's name.
    public var environment: String
    /// The test's outcome in that run.
    public var outcome: TestOutcome
    /// How long it ran, in seconds.
    public var duration: Double
    /// How the flaky policy marked it: `forgiven` (a failure the policy
    /// forgave), `rerun` (failed, then passed on a rerun); nil when not flaky.
    public var flaky: String?
    /// Its subtests in that run by outcome (every one reported); nil when it reported none (an `exitcode` test).
    public var subtests: SubtestCounts?
    /// The names of its first failed subtests in that run (at most `HistoryEntry.failedSubtestsShown`), in the order reported.
    public var failedSubtests: [String] = []
    /// How many failed subtests' names an entry holds, at most (5).
    public static let failedSubtestsShown = 5

    /// An entry.
    ///
    /// - Parameters:
    ///   - runID: the run's id.
    ///   - started: when the run started.
    ///   - host: the run's host.
    ///   - environment: the run's environment.
    ///   - outcome: the test's outcome in it.
    ///   - duration: how long the test ran, in seconds.
    ///   - flaky: the flaky mark (`forgiven`, `rerun`), if any.
    public init(runID: String, started: Date, host: String? = nil, environment: String = "local", outcome: TestOutcome,
                duration: Double = 0, flaky: String? = nil) {
        self.runID = runID
        self.started = started
        self.host = host
        self.environment = environment
        self.outcome = outcome
        self.duration = duration
        self.flaky = flaky
    }

    /// Whether the test passed or failed in this run (not skipped, blocked, unsupported, interrupted or pending).
    public var isVerdict: Bool { outcome.isVerdict }
    /// Whether it failed (fail, timeout, error).
    public var failed: Bool { outcome.isTestFailure }
}
