@testable import Execution
import Foundation
import ProcessSupervision
import Subtests
import TestSupport
import Testing

@Suite("subtests and the verdict")
struct SubtestVerdictTests {
    /// `text` written to a log file open for reading and writing, as a test's output.log is.
    static func log(_ text: String, in tree: TemporaryTree) throws -> LogFile {
        let path = tree["output.log"]
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)
        try #require(fd >= 0)
        return LogFile(descriptor: fd, relative: "output.log")
    }

    @Test("tap, ktap and gtest: an exit-0 test with a failed subtest fails, naming the first; kvm-unit-tests keeps its exit status",
          arguments: [(OutputProtocol.tap, "ok 1 - a\nnot ok 2 - b # oops\nnot ok 3 - c\n", TestOutcome.fail, Optional<String>.some(
                       "subtest b failed: oops (and 1 more) though it exited 0")),
                      (.ktap, "    # Subtest: s\n    not ok 1 x\nnot ok 1 s\n", .fail, "subtest s/x failed (and 1 more) though it exited 0"),
                      (.gtest, "[ RUN      ] A.B\nx.cc:1: Failure\n[  FAILED  ] A.B (0 ms)\n", .fail,
                       "subtest A.B failed: x.cc:1: Failure though it exited 0"),
                      (.kvmUnitTests, "FAIL: apic\n", .pass, nil),
                      (.tap, "ok 1 - a\nnot ok 2 - b # TODO later\n", .pass, nil)])
    func verdict(outputProtocol: OutputProtocol, output: String, outcome: TestOutcome, reason: String?) throws {
        let tree = try TemporaryTree()
        let log = try Self.log(output, in: tree)
        let stream = try #require(OutcomeClassifier.subtests(of: log, protocol: outputProtocol))
        var result = TestResult(id: "/t", outcome: .pass, exitStatus: 0)
        OutcomeClassifier.addSubtests(&result, stream)
        #expect(result.outcome == outcome)
        #expect(result.reason == reason)
        #expect(!result.subtests.isEmpty)
        #expect(result.subtestCounts?.total == result.subtests.count)
    }

    @Test("a test failed by its exit status names its first failed subtest; exitcode reads nothing")
    func failedAndExitcode() throws {
        let tree = try TemporaryTree()
        let log = try Self.log("not ok 1 - b\n", in: tree)
        let stream = try #require(OutcomeClassifier.subtests(of: log, protocol: .tap))
        var result = TestResult(id: "/t", outcome: .fail, exitStatus: 2, reason: "exit 2: not ok 1 - b")
        OutcomeClassifier.addSubtests(&result, stream)
        #expect(result.reason == "exit 2: subtest b failed")
        #expect(result.subtests.map(\.name) == ["b"])
        #expect(OutcomeClassifier.subtests(of: log, protocol: .exitcode) == nil)
    }
}

@Suite("subtests read while the test runs")
struct SubtestReaderTests {
    @Test("a live reader reads what the test wrote before it ends, and the rest when finished")
    func live() async throws {
        let tree = try TemporaryTree()
        let log = try SubtestVerdictTests.log("ok 1 - early\n", in: tree)
        let reader = try #require(SubtestReader(log: log, protocol: .tap, live: true))
        let deadline = Date().addingTimeInterval(5)
        while reader.bytesRead < 13, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(reader.bytesRead == 13, "read while the test runs")
        log.append("not ok 2 - late\n")
        let stream = reader.finish()
        #expect(stream.subtests.map(\.name) == ["early", "late"])
        #expect(reader.bytesRead == 29)
    }

    @Test("no reader for exitcode, nor for a log that is not a regular file")
    func none() throws {
        let tree = try TemporaryTree()
        let log = try SubtestVerdictTests.log("ok 1\n", in: tree)
        #expect(SubtestReader(log: log, protocol: .exitcode, live: true) == nil)
        let null = LogFile(descriptor: open("/dev/null", O_RDWR | O_CLOEXEC), relative: "null")
        #expect(SubtestReader(log: null, protocol: .tap, live: true) == nil)
    }
}
