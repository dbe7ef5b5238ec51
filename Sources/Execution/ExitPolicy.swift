import Foundation

/// The exit-code scheme a user asks for with `--exit-codes`.
public enum ExitCodes: String, Sendable, CaseIterable {
    /// 0 pass, 1 test failure, 2 infrastructure failure, 3 both (DESIGN.md, "Exit codes").
    case standard
    /// What `git bisect run` expects: 0 good, 1 bad, 125 this commit cannot be tested.
    case bisect

    /// The exit code of a run's results, by `ExitPolicy.run(testFailures:infrastructureFailures:interrupted:nothingSelected:nothingTested:recordingFailed:)`.
    ///
    /// - Parameters:
    ///   - testFailures: how many tests failed, timed out or could not start.
    ///   - infrastructureFailures: failed setups, teardowns and restores, and blocked tests.
    ///   - interrupted: the run was stopped (SIGINT, SIGTERM, SIGHUP).
    ///   - nothingSelected: no test was selected.
    ///   - nothingTested: no selected test reached a verdict about the code.
    /// - Returns: the exit code.
    public func code(testFailures: Int, infrastructureFailures: Int, interrupted: Bool, nothingSelected: Bool,
                     nothingTested: Bool = false) -> Int32 {
        ExitPolicy(self).run(testFailures: testFailures, infrastructureFailures: infrastructureFailures,
                             interrupted: interrupted, nothingSelected: nothingSelected, nothingTested: nothingTested)
    }
}

/// Every exit code Testbed exits with, and the one rule that turns what
/// happened in a run into a number (DESIGN.md and README, "Exit codes").
///
/// Nothing else computes an exit code: the run row written by the store,
/// the summary line, `testbed report` and the process all ask this type.
/// It lives in `Execution` (not `Reporting`) because the two below
/// `Reporting` need it too: `RunSummary.exitCode(_:)` is Execution's, and
/// the results store writes the exit code into the run's row as the run
/// ends (`Results.StoreRecorder`).
///
/// Fixed codes are static (`interrupted`, `noSuchRun`…); the codes that
/// `--exit-codes bisect` changes are properties of a policy for a scheme.
public struct ExitPolicy: Sendable, Hashable {
    /// The scheme asked for (`--exit-codes`).
    public let scheme: ExitCodes

    /// The policy of `scheme`.
    ///
    /// - Parameter scheme: `--exit-codes` (default `standard`).
    public init(_ scheme: ExitCodes = .standard) {
        self.scheme = scheme
    }

    /// The policy of every command but `run --exit-codes bisect`.
    public static let standard = ExitPolicy(.standard)

    // MARK: - Fixed codes

    /// Everything went as asked: every test passed, skipped or was unsupported; a report shown.
    public static let success: Int32 = 0
    /// At least one test failure (`fail`, `timeout`, `error`): a bit of the standard scheme; bisect's "bad".
    public static let testFailure: Int32 = 1
    /// At least one infrastructure failure (setup, teardown, restore, blocked test, recording trouble):
    /// a bit of the standard scheme, OR'ed with `testFailure`.
    public static let infrastructureFailure: Int32 = 2
    /// Bad command line (ArgumentParser's validation failure, EX_USAGE); `testbed report`'s RUN a prefix of several runs' ids.
    public static let usage: Int32 = 64
    /// `testbed report`: no such run, or no run recorded yet (EX_NOINPUT).
    public static let noSuchRun: Int32 = 66
    /// `testbed report --html`: the page could not be written (EX_CANTCREAT).
    public static let cannotCreate: Int32 = 73
    /// Interrupted (SIGINT, SIGTERM, SIGHUP): running work stopped, teardowns ran, results kept.
    /// The same under every scheme: it stops a bisection.
    public static let interrupted: Int32 = 130
    /// `git bisect run`'s "this commit cannot be tested" (skip it).
    public static let untestable: Int32 = 125
    /// `git bisect run`'s "stop the bisection": a bad command line under bisect.
    public static let stopBisection: Int32 = 128

    /// The status of a process that dies of a signal, as a shell reports it.
    ///
    /// - Parameter signal: the signal number (`SIGINT` is 2).
    /// - Returns: 128 + `signal`.
    public static func killed(by signal: Int32) -> Int32 {
        128 + signal
    }

    // MARK: - Codes the scheme changes

    /// Invalid declarations (a file that does not parse, a cycle…): 65, or
    /// 125 for bisect (this commit cannot be tested; 65 would read as bad).
    public var invalidDeclarations: Int32 { scheme == .bisect ? Self.untestable : 65 }

    /// Nothing was selected: 4, or 125 for bisect.
    public var nothingSelected: Int32 { scheme == .bisect ? Self.untestable : 4 }

    /// A suite path or environment file that does not exist: nil for the usual
    /// bad command line (64); 125 for bisect (it may not exist at this commit,
    /// and 64 would read as bad).
    public var missingInput: Int32? { scheme == .bisect ? Self.untestable : nil }

    /// Testbed cannot work on this host as it is set up (a file descriptor
    /// limit under 64, a results directory it cannot create or write): the
    /// lab's problem, 2 as an infrastructure failure; 125 for bisect.
    public var cannotWork: Int32 { scheme == .bisect ? Self.untestable : Self.infrastructureFailure }

    /// A bad command line: 64, or 128 for bisect (64 would mark every commit
    /// bad, 125 skip every one; 128 stops `git bisect run`).
    public var badCommandLine: Int32 { scheme == .bisect ? Self.stopBisection : Self.usage }

    // MARK: - The run's rule

    /// The exit code of a run.
    ///
    /// - Parameters:
    ///   - testFailures: how many tests failed, timed out or could not start.
    ///   - infrastructureFailures: failed or timed-out setups, teardowns and
    ///     restores, and blocked tests (a broken promise blocks tests without
    ///     a failed setup).
    ///   - interrupted: the run was stopped: 130 whatever else happened.
    ///   - nothingSelected: no test was selected: 4 (bisect 125).
    ///   - nothingTested: no selected test reached a verdict about the code
    ///     (each was unsupported or skipped itself): bisect's 125, standard's 0.
    ///   - recordingFailed: the results directory did not take the run as it
    ///     went (deleted, full, not writable), even if it was written later:
    ///     the infrastructure bit with `standard`; bisect keeps its verdict
    ///     (the commit is not to blame), and so do 4 and 130.
    /// - Returns: 0, 1, 2 or 3 (bisect: 0, 1 or 125), 4 or 130.
    public func run(testFailures: Int, infrastructureFailures: Int, interrupted: Bool, nothingSelected: Bool,
                    nothingTested: Bool = false, recordingFailed: Bool = false) -> Int32 {
        if interrupted { return Self.interrupted }
        if nothingSelected { return self.nothingSelected }
        switch scheme {
        case .standard:
            let infrastructure = infrastructureFailures > 0 || recordingFailed
            return (testFailures > 0 ? Self.testFailure : Self.success) | (infrastructure ? Self.infrastructureFailure : Self.success)
        case .bisect:
            if testFailures > 0 { return Self.testFailure }
            return infrastructureFailures > 0 || nothingTested ? Self.untestable : Self.success
        }
    }

    /// The exit code of a run from its outcomes: what the run row, the
    /// summary line, `testbed report` and the process all say.
    ///
    /// A failure its flaky policy forgave (`TestResult.flaky` is
    /// `.forgiven`) is a verdict but not a test failure: it leaves the code alone.
    ///
    /// - Parameters:
    ///   - tests: the result of every selected test (none: nothing selected).
    ///   - setups: the outcome of every setup, teardown and restore that ran or was skipped.
    ///   - interrupted: the run was stopped.
    ///   - recordingFailed: the results directory did not take the run as it went.
    /// - Returns: the code by `run(testFailures:infrastructureFailures:interrupted:nothingSelected:nothingTested:recordingFailed:)`.
    public func run(tests: some Collection<TestResult>, setups: some Sequence<SetupOutcome>, interrupted: Bool,
                    recordingFailed: Bool = false) -> Int32 {
        var testFailures = 0
        var blocked = 0
        var verdicts = 0
        for test in tests {
            if test.isCountedFailure { testFailures += 1 }
            if test.outcome == .blocked { blocked += 1 }
            if test.outcome.isVerdict { verdicts += 1 }
        }
        let setupFailures = setups.reduce(0) { $0 + ($1.isInfrastructureFailure ? 1 : 0) }
        return run(testFailures: testFailures, infrastructureFailures: setupFailures + blocked, interrupted: interrupted,
                   nothingSelected: tests.isEmpty, nothingTested: verdicts == 0, recordingFailed: recordingFailed)
    }
}
