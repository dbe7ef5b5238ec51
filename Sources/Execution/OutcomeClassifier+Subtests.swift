import Foundation
import ProcessSupervision
import Subtests

// A test's subtests: its output.log read through its protocol's parser once it has ended, and the verdict rule.
extension OutcomeClassifier {
    /// How much of a log is read at a time, in bytes (64 KiB): all the memory reading subtests takes beside the parser's.
    static let subtestChunk = 65536

    /// The protocols whose failed subtest fails a test that exited 0 (as meson judges TAP and GoogleTest tests);
    /// kvm-unit-tests' runner already turns a `FAIL` into its exit status.
    static let subtestsDecideVerdict: Set<OutputProtocol> = [.tap, .ktap, .gtest]

    /// The subtests `log` reports in `outputProtocol`, read from its start through `SubtestStream` in
    /// `subtestChunk`-byte pieces with `pread` (the file offset the test writes at is left alone). Nothing for
    /// `exitcode`, nor for a log that is not a regular file (a FIFO or a device a test planted).
    /// - Parameters:
    ///   - log: The test's output log, open for reading.
    ///   - outputProtocol: How the output reports its subtests.
    /// - Returns: The stream, finished; nil for `exitcode` or a log that cannot be read.
    static func subtests(of log: LogFile, protocol outputProtocol: OutputProtocol) -> SubtestStream? {
        guard outputProtocol != .exitcode else { return nil }
        var info = stat()
        guard fstat(log.descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var stream = SubtestStream(protocol: outputProtocol)
        var buffer = [UInt8](repeating: 0, count: subtestChunk)
        var offset: off_t = 0
        while true {
            let got = buffer.withUnsafeMutableBytes { pread(log.descriptor, $0.baseAddress, $0.count, offset) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            stream.feed(buffer[0..<got])
            offset += off_t(got)
        }
        stream.finish()
        return stream
    }

    /// Puts `stream`'s subtests on `result`, and applies the verdict rule: a test of a protocol in
    /// `subtestsDecideVerdict` that passed (exited 0) with a failed subtest is `fail`, its reason naming the first.
    /// - Parameters:
    ///   - result: The test's result, its outcome from its exit status.
    ///   - stream: Its output read through its protocol's parser.
    static func addSubtests(_ result: inout TestResult, _ stream: SubtestStream) {
        result.subtests = stream.subtests
        result.subtestCounts = stream.counts
        guard result.outcome == .pass, subtestsDecideVerdict.contains(stream.outputProtocol), let first = stream.firstFailure else { return }
        result.outcome = .fail
        let others = stream.counts.fail - 1
        result.reason = "subtest \(first.name) failed" + (first.reason.map { ": \($0)" } ?? "")
            + (others > 0 ? " (and \(others) more)" : "") + " though it exited 0"
    }
}
