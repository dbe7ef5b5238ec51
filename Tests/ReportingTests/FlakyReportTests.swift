@testable import Execution
import Foundation
import FoundationXML
@testable import Reporting
@testable import Results
import Testing
import TestSupport

/// Flaky marks and attempts in every report format.
@Suite("Flaky marks and attempts in the text, JSON, JUnit and TAP reports")
struct FlakyReportTests {
    let tree: TemporaryTree
    let report: RunReport

    init() throws {
        tree = try TemporaryTree([
            "tests/lucky/output.log": "attempt 1\nit broke\n", "tests/lucky/attempt-2/output.log": "attempt 2\n",
            "tests/wobbly/output.log": "wobbled\n", "tests/never/output.log": "nope 1\n", "tests/never/attempt-2/output.log": "nope 2\n",
        ])
        var run = RunReport.Run(id: "r1", environment: "lab", started: Date(timeIntervalSince1970: 0), finished: Date(timeIntervalSince1970: 2),
                                exitCode: 1, complete: true, interrupted: false, haltedBy: nil, directory: tree.path, jobs: 1)
        run.rerunFailures = 2
        report = RunReport(run: run, tests: [
            TestResult(id: "/lucky", outcome: .pass, exitStatus: 0, logDirectory: "tests/lucky/attempt-2",
                       attempts: [TestAttempt(outcome: .fail, duration: 0.5, exitStatus: 1, reason: "exit 1: it broke", logDirectory: "tests/lucky")],
                       flaky: .rerun(attempts: 2)),
            TestResult(id: "/wobbly", outcome: .fail, exitStatus: 1, reason: "exit 1: wobbled", logDirectory: "tests/wobbly",
                       flaky: .forgiven(failures: 1, window: 3, threshold: 2)),
            TestResult(id: "/never", outcome: .fail, exitStatus: 3, reason: "exit 3: nope 2", logDirectory: "tests/never/attempt-2",
                       attempts: [TestAttempt(outcome: .error, reason: "cannot start", logDirectory: "tests/never")]),
            TestResult(id: "/fine", outcome: .pass, exitStatus: 0),
        ], setups: [], facts: [])
    }

    @Test("text: counted failures apart from the flaky section; the summary names the forgiven failure and the rerun pass")
    func text() {
        let text = TextReport(report, color: false).render()
        #expect(text.contains("test failures (1)\n  /never  fail (failed all 2 attempts)  exit 3: nope 2\n"), "\(text)")
        #expect(text.contains("flaky (2): not counted in the exit code\n"), "\(text)")
        #expect(text.contains("  /wobbly  fail (flaky: 1 of the last 3, threshold 2)  exit 1: wobbled\n      | wobbled\n"), "\(text)")
        #expect(text.contains("  /lucky  pass (flaky: passed on attempt 2 of 3)\n      attempt 1: fail  exit 1: it broke"), "\(text)")
        #expect(text.contains("2 passed (1 flaky: passed on a rerun), 1 failed, 1 flaky failure forgiven — exit 1"), "\(text)")
        #expect(report.exitCode(.standard) == 1)
    }

    @Test("JSON: flaky as an object, attempts with their logs, the run's rerun_failures")
    func json() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ReportWriter.json(report).utf8)) as? [String: Any])
        #expect((object["run"] as? [String: Any])?["rerun_failures"] as? Int == 2)
        let tests = try #require(object["tests"] as? [[String: Any]])
        let (lucky, wobbly) = (tests[0], tests[1])
        let (never, fine) = (tests[2], tests[3])
        let rerun = try #require(lucky["flaky"] as? [String: Any])
        #expect(rerun.count == 2 && rerun["kind"] as? String == "rerun" && rerun["attempts"] as? Int == 2, "\(rerun)")
        let forgiven = try #require(wobbly["flaky"] as? [String: Any])
        #expect(forgiven.count == 4 && forgiven["kind"] as? String == "forgiven" && forgiven["failures"] as? Int == 1
                && forgiven["window"] as? Int == 3 && forgiven["threshold"] as? Int == 2, "\(forgiven)")
        let attempts = try #require(lucky["attempts"] as? [[String: Any]])
        #expect(attempts.count == 1)
        #expect(attempts[0]["attempt"] as? Int == 1)
        #expect(attempts[0]["outcome"] as? String == "fail")
        #expect(attempts[0]["exit_status"] as? Int == 1)
        #expect(attempts[0]["log"] as? String == tree.path + "/tests/lucky/output.log")
        #expect(lucky["log"] as? String == tree.path + "/tests/lucky/attempt-2/output.log")
        #expect((never["attempts"] as? [[String: Any]])?.first?["outcome"] as? String == "error")
        #expect(never["flaky"] == nil)
        #expect(fine["attempts"] == nil && fine["flaky"] == nil)
    }

    @Test("JUnit: flakyFailure in a rerun pass, rerunError beside a failure, a forgiven failure skipped; counts agree")
    func junit() throws {
        let xml = ReportWriter.junit(report)
        #expect(xml.contains("<testsuite name=\"testbed.lab\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\""), "\(xml)")
        #expect(xml.contains("""
                  <flakyFailure type="fail" message="attempt 1: exit 1: it broke">
                    <stackTrace>attempt 1: exit 1: it broke

            attempt 1
            it broke
            log: \(tree.path)/tests/lucky/output.log</stackTrace>
                    <system-out>attempt 1
            it broke
            </system-out>
                  </flakyFailure>
            """), "\(xml)")
        #expect(xml.contains("<skipped message=\"flaky failure forgiven: fail (1 of the last 3, threshold 2): exit 1: wobbled\"/>"), "\(xml)")
        #expect(xml.contains("<rerunError type=\"error\" message=\"attempt 1: cannot start\">"), "\(xml)")
        #expect(!xml.contains("<failure type=\"fail\" message=\"exit 1: wobbled\""), "\(xml)")
        // An XML reader takes it whole.
        let parser = XMLParser(data: Data(xml.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    }

    @Test("TAP: a forgiven failure is a TODO; a rerun pass is ok with its attempts in the YAML block")
    func tap() {
        let tap = ReportWriter.tap(report)
        #expect(tap.contains("not ok 2 - /wobbly # TODO flaky: forgiven (1 of the last 3, threshold 2)\n"), "\(tap)")
        let lucky = "ok 1 - /lucky\n  ---\n  flaky: \"flaky: passed on attempt 2 of 3\"\n  attempts: 2\n"
            + "  attempt_1: \"fail: exit 1: it broke\"\n  ...\n"
        #expect(tap.contains(lucky), "\(tap)")
        #expect(tap.contains("not ok 3 - /never\n"), "\(tap)")
    }
}
