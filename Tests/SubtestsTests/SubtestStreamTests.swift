@testable import Subtests
import Testing

/// `name outcome [reason]` per subtest, for compact expectations.
private func summary(_ subtests: [Subtest]) -> [String] {
    subtests.map { "\($0.name) \($0.outcome.rawValue)" + ($0.reason.map { " [\($0)]" } ?? "") }
}

/// The subtests of `output` read through `outputProtocol`, fed in chunks of `chunk` bytes.
private func parse(_ output: String, _ outputProtocol: OutputProtocol, chunk: Int = 7) -> SubtestStream {
    var stream = SubtestStream(protocol: outputProtocol)
    let bytes = Array(output.utf8)
    var start = 0
    while start < bytes.count {
        stream.feed(bytes[start..<min(bytes.count, start + chunk)])
        start += chunk
    }
    stream.finish()
    return stream
}

@Suite("subtest streams")
struct SubtestStreamTests {
    @Test("TAP 13: test points, directives, escapes, a YAML block, diagnostics", arguments: [
        ("TAP version 13\n1..4\nok 1 - first\nnot ok 2 - second\n  ---\n  message: 'boom'\n  ...\nok 3 # SKIP no network\n"
            + "not ok 4 - flaky one # TODO known bug\n",
         ["first pass", "second fail", "test 3 skip [no network]", "flaky one xfail [known bug]"]),
        ("1..3\nok 1 issue \\# 12\nok\nok 3 - done # with a comment\n",
         ["issue # 12 pass", "test 2 pass", "done pass [with a comment]"]),
        ("ok 1 - bonus # TODO not yet\nnot ok 2 - skipped it # skipped: no root\nok 3 - # a #hash\n",
         ["bonus pass [not yet]", "skipped it skip [no root]", "test 3 pass [a #hash]"]),
        ("okay this is not a test point\nnot ok2\n# ok 1 a comment\n", []),
    ])
    func tap13(output: String, expected: [String]) {
        let stream = parse(output, .tap)
        #expect(summary(stream.subtests) == expected)
        #expect(stream.subtests.map(\.ordinal) == Array(stride(from: 1, through: expected.count, by: 1)))
    }

    @Test("TAP 14: indented subtests named after their parent (its test point wins over a Subtest comment)")
    func tap14() {
        let output = """
            TAP version 14
            1..3
            # Subtest: parser
                1..2
                ok 1 - reads
                not ok 2 - writes
            not ok 1 - parser
                1..1
                # Subtest: deep
                    ok 1 - leaf
                ok 1 - inner
            ok 2 - outer
            ok 3 - last

            """
        let stream = parse(output, .tap)
        #expect(summary(stream.subtests) == [
            "parser/reads pass", "parser/writes fail", "parser fail",
            "outer/inner/leaf pass", "outer/inner pass", "outer pass", "last pass",
        ])
        #expect(stream.firstFailure?.name == "parser/writes")
        #expect(stream.counts == SubtestCounts(pass: 5, fail: 2, skip: 0))
    }

    @Test("a plan's missing tests are failures; Bail out! stops the reading")
    func planAndBailOut() {
        let short = parse("1..4\nok 1 - a\nok 2 - b\n", .tap)
        #expect(summary(short.subtests) == [
            "a pass", "b pass", "test 3 fail [planned (1..4) but never reported]", "test 4 fail [planned (1..4) but never reported]",
        ])
        let bailed = parse("1..3\nok 1 - a\nBail out! database gone\nok 2 - b\n", .tap)
        #expect(summary(bailed.subtests) == [
            "a pass", "Bail out! fail [database gone]", "test 2 fail [planned (1..3) but never reported]",
            "test 3 fail [planned (1..3) but never reported]",
        ])
        #expect(bailed.firstFailure?.name == "Bail out!")
    }

    @Test("KTAP: nested levels by indentation, the Subtest header inside the block, kernel directives")
    func ktap() {
        let output = """
            KTAP version 1
            1..2
                KTAP version 1
                # Subtest: example
                1..3
                ok 1 example_simple_test
                not ok 2 example_skip_test # SKIP this test should be skipped
                not ok 3 example_fail # TIMEOUT
            not ok 1 example
                KTAP version 1
                # Subtest: other
                1..2
                not ok 1 known # XFAIL bug 42
                ok 2 expected # XFAIL as ksft_test_result_xfail prints it
            ok 2 other

            """
        let stream = parse(output, .ktap)
        #expect(summary(stream.subtests) == [
            "example/example_simple_test pass", "example/example_skip_test skip [this test should be skipped]",
            "example/example_fail fail", "example fail", "other/known xfail [bug 42]",
            "other/expected xfail [as ksft_test_result_xfail prints it]", "other pass",
        ])
    }

    @Test("kselftest: the runner's `# ` prefix nests a test's own TAP under the runner's test point")
    func kselftest() {
        let output = """
            TAP version 13
            1..2
            # timeout set to 45
            # selftests: net: reuseport
            # TAP version 13
            # 1..3
            # # Starting 3 tests
            # ok 1 reuseport.bind
            # not ok 2 reuseport.connect
            # ok 3 # SKIP no ipv6
            # # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
            not ok 1 selftests: net: reuseport # exit=1
            # selftests: net: socket
            ok 2 selftests: net: socket

            """
        let stream = parse(output, .ktap)
        #expect(summary(stream.subtests) == [
            "selftests: net: reuseport/reuseport.bind pass", "selftests: net: reuseport/reuseport.connect fail",
            "selftests: net: reuseport/test 3 skip [no ipv6]", "selftests: net: reuseport fail [exit=1]", "selftests: net: socket pass",
        ])
    }

    @Test("kvm-unit-tests: report lines, with prefixes, colours and timestamps; summaries are not reports")
    func kvmUnitTests() {
        let output = """
            enabling apic
            PASS: actual 0 == expected 0
            FAIL: apic: x2apic: self-IPI
            XFAIL: pmu: counters overflow
            XPASS: emulator: movnti
            KFAIL: vmx: known broken
            [    1.234] SKIP: pmu: PMU not supported (no PMU on TCG)
            \u{1B}[32mPASS\u{1B}[0m: coloured
            SUMMARY: 7 tests, 2 unexpected failures
            INFO: pmu: PASS: not a report
            PASS apic (12 tests)

            """
        let stream = parse(output, .kvmUnitTests)
        #expect(summary(stream.subtests) == [
            "actual 0 == expected 0 pass", "apic: x2apic: self-IPI fail [FAIL: apic: x2apic: self-IPI]",
            "pmu: counters overflow xfail [XFAIL: pmu: counters overflow]", "emulator: movnti fail [XPASS: emulator: movnti]",
            "vmx: known broken xfail [KFAIL: vmx: known broken]", "pmu: PMU not supported (no PMU on TCG) skip [no PMU on TCG]",
            "coloured pass",
        ])
    }

    @Test("GoogleTest: RUN and its end; the summary's FAILED lines are not counted again; a crash is a failure")
    func gtest() {
        let output = """
            [==========] Running 4 tests from 1 test suite.
            [----------] 4 tests from Math
            [ RUN      ] Math.Adds
            [       OK ] Math.Adds (0 ms)
            [ RUN      ] Math.Divides
            math_test.cc:12: Failure
            Expected equality of these values:
            [  FAILED  ] Math.Divides (1 ms)
            [ RUN      ] Math.Sqrt
            math_test.cc:20: Skipped
            [  SKIPPED ] Math.Sqrt (0 ms)
            [ RUN      ] Inst/Math.Param/0
            [  FAILED  ] Inst/Math.Param/0, where GetParam() = 4 (0 ms)
            [==========] 4 tests from 1 test suite ran. (1 ms total)
            [  PASSED  ] 2 tests.
            [  FAILED  ] 1 test, listed below:
            [  FAILED  ] Math.Divides
            [ RUN      ] Math.Crashes
            Segmentation fault
            """
        let stream = parse(output, .gtest)
        #expect(summary(stream.subtests) == [
            "Math.Adds pass", "Math.Divides fail [math_test.cc:12: Failure]", "Math.Sqrt skip [math_test.cc:20: Skipped]",
            "Inst/Math.Param/0 fail", "Math.Crashes fail [never finished]",
        ])
    }

    @Test("exitcode reads nothing")
    func exitcode() {
        let stream = parse("ok 1 - a\nPASS: b\n", .exitcode)
        #expect(!stream.parses)
        #expect(stream.subtests.isEmpty)
    }

    @Test("bounded: long lines are cut, subtests past the limit are counted, not kept")
    func bounded() {
        var stream = SubtestStream(protocol: .tap, maximumKept: 3)
        let long = "ok 1 - " + String(repeating: "x", count: 10_000) + "\n"
        stream.feed(Array(long.utf8))
        for number in 2...10 { stream.feed(Array("not ok \(number) - n\(number)\n".utf8)) }
        stream.finish()
        #expect(stream.subtests.count == 3)
        #expect(stream.subtests[0].name.utf8.count == SubtestStream.maximumLineBytes - "ok 1 - ".count)
        #expect(stream.dropped == 7)
        #expect(stream.counts == SubtestCounts(pass: 1, fail: 9, skip: 0))
        #expect(stream.firstFailure?.name == "n2")
    }
}

@Suite("subtest streams: plans too long to name")
struct SubtestPlanLimitTests {
    @Test("a plan of a million never reported: 10,000 named failures kept, every one counted, quickly")
    func hugePlan() {
        var stream = SubtestStream(protocol: .tap)
        stream.feed(Array("1..1000000\nok 1 - only\n".utf8))
        stream.finish()
        #expect(stream.subtests.count == SubtestStream.maximumKept)
        #expect(stream.counts == SubtestCounts(pass: 1, fail: 999_999, skip: 0))
        #expect(stream.dropped == 1_000_000 - SubtestStream.maximumKept)
        #expect(stream.subtests.last?.name == "test \(SubtestStream.maximumKept)")
    }
}

@Suite("subtest streams: deep nesting")
struct SubtestNestingLimitTests {
    @Test("a name nested 200 levels deep is cut to 4 KiB")
    func deep() {
        var stream = SubtestStream(protocol: .tap)
        let depth = 200
        var output = String(repeating: "    ", count: depth) + "ok 1 - leaf\n"
        for level in stride(from: depth - 1, through: 0, by: -1) {
            output += String(repeating: "    ", count: level) + "ok 1 - " + String(repeating: "n", count: 40) + "\n"
        }
        stream.feed(Array(output.utf8))
        stream.finish()
        #expect(stream.subtests.count == depth + 1)
        #expect(stream.subtests.allSatisfy { $0.name.utf8.count <= SubtestStream.maximumLineBytes })
        #expect(stream.subtests.first?.name.hasSuffix("…") == true)
        #expect(stream.subtests.last?.name == String(repeating: "n", count: 40))
    }
}
