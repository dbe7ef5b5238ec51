import Execution
import Results

/// How every report says a flaky mark: the text report, the console line,
/// TAP and JUnit messages use the same words.
extension FlakyMark {
    /// `flaky: 1 of the last 3` (forgiven); `flaky: passed on attempt 2 of 3`
    /// (rerun; `of 3` when the run's `--rerun-failures` is known).
    ///
    /// - Parameter rerunFailures: the run's `--rerun-failures`, when recorded.
    /// - Returns: the words, without brackets.
    public func words(rerunFailures: Int?) -> String {
        switch self {
        case let .forgiven(failures, window, _):
            return "flaky: \(failures) of the last \(window)"
        case let .rerun(attempts):
            return "flaky: passed on attempt \(attempts)" + (rerunFailures.map { " of \(max($0 + 1, attempts))" } ?? "")
        }
    }
}

extension RunReport {
    /// The failures that count toward the exit code (`fail`, `timeout`,
    /// `error`, unless the flaky policy forgave them).
    public var countedFailures: [TestResult] { tests.filter(\.isCountedFailure) }

    /// The failures the flaky policy forgave: shown apart, not in the exit code.
    public var forgivenFailures: [TestResult] {
        tests.filter { test in
            if case .forgiven? = test.flaky { return test.outcome.isTestFailure }
            return false
        }
    }

    /// The tests that failed, then passed when run again (`--rerun-failures`).
    public var rerunPasses: [TestResult] {
        tests.filter { test in
            if case .rerun? = test.flaky { return true }
            return false
        }
    }
}
