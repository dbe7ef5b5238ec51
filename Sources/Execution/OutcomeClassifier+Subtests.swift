import Foundation
import ProcessSupervision
import Subtests

// A test's subtests: its output.log read through its protocol's parser (`SubtestReader`), and the verdict rule.
extension OutcomeClassifier {
    /// The protocols whose failed subtest fails a test that exited 0 (as meson judges TAP and GoogleTest tests);
    /// kvm-unit-tests' runner already turns a `FAIL` into its exit status.
    static let subtestsDecideVerdict: Set<OutputProtocol> = [.tap, .ktap, .gtest]

    /// The subtests `log` reports in `outputProtocol`, read from its start, all at once (`SubtestReader` not live).
    /// - Parameters:
    ///   - log: The test's output log, open for reading.
    ///   - outputProtocol: How the output reports its subtests.
    /// - Returns: The stream, finished; nil for `exitcode` or a log that is not a regular file.
    static func subtests(of log: LogFile, protocol outputProtocol: OutputProtocol) -> SubtestStream? {
        SubtestReader(log: log, protocol: outputProtocol, live: false)?.finish()
    }

    /// Puts `stream`'s subtests on `result`, and applies the verdict rule: a test of a protocol in
    /// `subtestsDecideVerdict` that passed (exited 0) with a failed subtest is `fail`, its reason naming the first;
    /// a test that failed by its exit status with a failed subtest has that subtest in its reason (`exit 1: subtest X failed`).
    /// - Parameters:
    ///   - result: The test's result, its outcome from its exit status.
    ///   - stream: Its output read through its protocol's parser.
    static func addSubtests(_ result: inout TestResult, _ stream: SubtestStream) {
        result.subtests = stream.subtests
        result.subtestCounts = stream.counts
        if result.outcome == .fail, result.signal == nil, let code = result.exitStatus, let first = stream.firstFailure {
            // A failure its exit status tells: its first failed subtest says more than its last line (a register dump,
            // a summary, a later passing subtest).
            let others = stream.counts.fail - 1
            // A reason that only repeats the name (kvm-unit-tests' `FAIL: NAME`) is left out.
            let why = first.reason.flatMap { $0.contains(first.name) ? nil : ": \($0)" } ?? ""
            result.reason = "exit \(code): subtest \(first.name) failed" + why + (others > 0 ? " (and \(others) more)" : "")
            return
        }
        guard result.outcome == .pass, subtestsDecideVerdict.contains(stream.outputProtocol), let first = stream.firstFailure else { return }
        result.outcome = .fail
        let others = stream.counts.fail - 1
        result.reason = "subtest \(first.name) failed" + (first.reason.map { ": \($0)" } ?? "")
            + (others > 0 ? " (and \(others) more)" : "") + " though it exited 0"
    }
}
