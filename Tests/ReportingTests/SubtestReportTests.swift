@testable import Execution
import Foundation
@testable import Reporting
@testable import Results
import Subtests
import Testing
import TestSupport

/// Subtests in every report format.
@Suite("Subtests in the text, JSON, JUnit and TAP reports")
struct SubtestReportTests {
    let tree: TemporaryTree
    let report: RunReport

    init() throws {
        tree = try TemporaryTree(["tests/tap/output.log": "ok 1 - a\nnot ok 2 - b#1\n"])
        let run = RunReport.Run(id: "r1", environment: "lab", started: Date(timeIntervalSince1970: 0), finished: Date(timeIntervalSince1970: 2),
                                exitCode: 1, complete: true, interrupted: false, haltedBy: nil, directory: tree.path, jobs: 1)
        var tap = TestResult(id: "/tap", outcome: .fail, exitStatus: 0, reason: "subtest s/b#1 failed: it broke though it exited 0",
                             logDirectory: "tests/tap")
        tap.subtests = [Subtest(name: "s/a", outcome: .pass, ordinal: 1), Subtest(name: "s/b#1", outcome: .fail, reason: "it broke", ordinal: 2),
                        Subtest(name: "c", outcome: .skip, reason: "no root", ordinal: 3),
                        Subtest(name: "d", outcome: .xfail, reason: "known", ordinal: 4)]
        tap.subtestCounts = SubtestCounts(pass: 1, fail: 26, skip: 1, xfail: 1)
        report = RunReport(run: run, tests: [tap, TestResult(id: "/fine", outcome: .pass, exitStatus: 0)], setups: [], facts: [])
    }

    @Test("text: the failed subtests under their test, and how many more failed than were kept")
    func text() {
        let text = TextReport(report, color: false).render()
        #expect(text.contains("  /tap  fail  subtest s/b#1 failed: it broke though it exited 0\n      ✗ subtest s/b#1  it broke\n"
                              + "      … and 25 more failed subtests\n"), "\(text)")
    }

    @Test("JSON: subtests and subtest_counts on the test that has them only")
    func json() throws {
        let object = try JSONSerialization.jsonObject(with: Data(ReportWriter.json(report).utf8)) as? [String: Any]
        let tests = try #require(object?["tests"] as? [[String: Any]])
        let subtests = try #require(tests[0]["subtests"] as? [[String: String]])
        #expect(subtests == [["name": "s/a", "outcome": "pass"], ["name": "s/b#1", "outcome": "fail", "reason": "it broke"],
                             ["name": "c", "outcome": "skip", "reason": "no root"], ["name": "d", "outcome": "xfail", "reason": "known"]])
        #expect(tests[0]["subtest_counts"] as? [String: Int] == ["pass": 1, "fail": 26, "skip": 1, "xfail": 1])
        #expect(tests[1]["subtests"] == nil && tests[1]["subtest_counts"] == nil)
    }

    @Test("JUnit: a test case per subtest after its test's; the suite's counts include them")
    func junit() {
        let xml = ReportWriter.junit(report)
        #expect(xml.contains("<testsuite name=\"testbed.lab\" tests=\"6\" failures=\"2\" errors=\"0\" skipped=\"2\""), "\(xml)")
        #expect(xml.contains("    <testcase name=\"s/a\" classname=\"/tap\" time=\"0\"/>\n"), "\(xml)")
        #expect(xml.contains("    <testcase name=\"s/b#1\" classname=\"/tap\" time=\"0\">\n"
                             + "      <failure type=\"subtest\" message=\"it broke\">it broke</failure>\n    </testcase>\n"), "\(xml)")
        #expect(xml.contains("<testcase name=\"d\" classname=\"/tap\" time=\"0\">\n      <skipped message=\"expected failure: known\"/>"))
        let tapCase = xml.range(of: "<testcase name=\"/tap\"")
        let subCase = xml.range(of: "<testcase name=\"s/a\"")
        #expect(tapCase != nil && subCase != nil && tapCase!.lowerBound < subCase!.lowerBound)
    }

    @Test("TAP: version 14 with each test's subtests indented before it, read back the same by the TAP parser")
    func tap() {
        let tap = ReportWriter.tap(report)
        #expect(tap.hasPrefix("TAP version 14\n1..2\n    # Subtest: /tap\n    1..4\n    ok 1 - s/a\n"), "\(tap)")
        var stream = SubtestStream(protocol: .tap)
        stream.feed(Array(tap.utf8))
        stream.finish()
        let names = stream.subtests.map { "\($0.name) \($0.outcome.rawValue)" + ($0.reason.map { " [\($0)]" } ?? "") }
        #expect(names == ["/tap/s/a pass", "/tap/s/b#1 fail", "/tap/c skip [no root]", "/tap/d xfail [known]", "/tap fail", "/fine pass"])
        let plain = RunReport(run: report.run, tests: [TestResult(id: "/fine", outcome: .pass, exitStatus: 0)], setups: [], facts: [])
        #expect(ReportWriter.tap(plain).hasPrefix("TAP version 13\n"))
    }
}
