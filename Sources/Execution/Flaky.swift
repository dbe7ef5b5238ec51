import Catalog
import Foundation

/// Why a test's result is marked flaky (DESIGN.md, "Flaky policy").
public enum FlakyMark: Sendable, Hashable, Codable {
    /// A failure its `flaky: K/N` forgave: it failed `failures` times in its
    /// last `window` runs on this host and environment (this one included),
    /// fewer than `threshold` (K). It leaves the exit code alone.
    case forgiven(failures: Int, window: Int, threshold: Int)
    /// It failed, then passed when run again (`--rerun-failures`): on attempt `attempts`.
    case rerun(attempts: Int)

    /// `forgiven` or `rerun`: the database's `flaky` column and the JSON report's `kind`.
    public var kind: String {
        switch self {
        case .forgiven: "forgiven"
        case .rerun: "rerun"
        }
    }

    /// How reports say it, in brackets after the outcome: `flaky: 1 of the
    /// last 3` (forgiven) or `flaky: passed on attempt 2` (rerun).
    public var description: String {
        switch self {
        case let .forgiven(failures, window, _): "flaky: \(failures) of the last \(window)"
        case let .rerun(attempts): "flaky: passed on attempt \(attempts)"
        }
    }
}

/// One attempt of a test that ran more than once (`--rerun-failures`), other
/// than the last (the last is the `TestResult` itself).
public struct TestAttempt: Sendable, Hashable, Codable {
    /// How it ended: `fail`, `timeout` or `error` (only a failure is run again).
    public var outcome: TestOutcome
    /// When it started (wall clock).
    public var started: Date?
    /// How long it ran, in seconds.
    public var duration: Double
    /// Its exit status, when it exited.
    public var exitStatus: Int32?
    /// The signal that ended it, when one did.
    public var signal: Int32?
    /// Why it failed.
    public var reason: String?
    /// Its directory in the run directory (with its `output.log`): `tests/ID`
    /// for the first attempt, `tests/ID/attempt-N` for the Nth.
    public var logDirectory: String?

    /// An attempt.
    /// - Parameters:
    ///   - outcome: How it ended.
    ///   - started: When it started.
    ///   - duration: How long it ran, in seconds.
    ///   - exitStatus: Its exit status, when it exited.
    ///   - signal: The signal that ended it, when one did.
    ///   - reason: Why it failed.
    ///   - logDirectory: Its directory in the run directory.
    public init(outcome: TestOutcome, started: Date? = nil, duration: Double = 0, exitStatus: Int32? = nil, signal: Int32? = nil,
                reason: String? = nil, logDirectory: String? = nil) {
        self.outcome = outcome
        self.started = started
        self.duration = duration
        self.exitStatus = exitStatus
        self.signal = signal
        self.reason = reason
        self.logDirectory = logDirectory
    }

    /// The attempt a test's result was, before it ran again.
    /// - Parameter result: The attempt's result.
    public init(_ result: TestResult) {
        self.init(outcome: result.outcome, started: result.started, duration: result.duration, exitStatus: result.exitStatus,
                  signal: result.signal, reason: result.reason, logDirectory: result.logDirectory)
    }
}

/// Earlier verdicts of a test on this host and environment, newest first:
/// what the flaky policy (`flaky: K/N`) counts failures in. The results store
/// implements it; the executor asks only about a test that declares `flaky`
/// and failed.
public protocol VerdictHistory: Sendable {
    /// The latest verdicts (`pass`, `fail`, `timeout`, `error`) of `test` in
    /// earlier runs on this host and environment, newest first.
    /// - Parameters:
    ///   - test: The test's id.
    ///   - limit: At most this many.
    /// - Returns: Up to `limit` outcomes, newest first; empty when none (or the history cannot be read).
    func recentVerdicts(test: String, limit: Int) -> [TestOutcome]
}

/// The flaky policy's one rule (DESIGN.md, "Flaky policy").
public enum FlakyJudge {
    /// Whether a failure of a test that declares `policy` counts: it does
    /// when, with this one, the test failed in at least K of its last N
    /// runs. Nil when it counts; the mark that forgives it otherwise.
    /// - Parameters:
    ///   - policy: The test's `flaky: K/N`.
    ///   - earlier: Its earlier verdicts on this host and environment, newest first (at most N − 1 are looked at).
    /// - Returns: nil when the failure counts; `.forgiven` with the failures among the runs looked at, and how many runs those were.
    public static func forgiveness(_ policy: FlakyPolicy, earlier: [TestOutcome]) -> FlakyMark? {
        let looked = earlier.prefix(policy.window - 1)
        let failures = 1 + looked.filter(\.isTestFailure).count
        guard failures < policy.threshold else { return nil }
        return .forgiven(failures: failures, window: looked.count + 1, threshold: policy.threshold)
    }
}
