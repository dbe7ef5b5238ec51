@testable import Execution
import Foundation
@testable import Requirements
@testable import Reporting
@testable import Results
import TestSupport
import Testing

func sampleInfo(_ directory: String, id: String = "r1") -> RunInfo {
    RunInfo(id: id, environment: "lab", started: Date(timeIntervalSince1970: 1_700_000_000), directory: directory,
            tests: ["/a", "/b", "/c", "/u"],
            decided: [TestResult(id: "/u", outcome: .unsupported, reason: "needs kvm; this host has no /dev/kvm")],
            facts: [Fact(name: "kernel", value: "6.1.0", source: "uname -r")], jobs: 2)
}

@Suite("Result store")
struct ResultStoreTests {
    @Test("events written as they happen; a run without its finish reads as incomplete")
    func incomplete() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let recorder = store.recorder(runID: "r1")
        await recorder.record(.started(sampleInfo(tree.path)))
        await recorder.record(.testFinished(TestResult(id: "/a", outcome: .pass, started: Date(), duration: 0.5, exitStatus: 0)))
        // A second process opens the same database while the run goes on.
        let reader = try SQLiteRunStore(directory: tree.path, create: false)
        let report = try reader.report()
        #expect(report.run.complete == false)
        #expect(report.run.finished == nil)
        #expect(report.tests.map(\.outcome) == [.pass, .interrupted, .interrupted, .unsupported])
        #expect(report.tests[1].reason?.contains("testbed was killed") == true)
        #expect(report.facts.map(\.name) == ["kernel"])
    }

    @Test("a finished run round-trips: outcomes, blame, setups, exit code")
    func complete() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let recorder = store.recorder(runID: "r1")
        let info = sampleInfo(tree.path)
        await recorder.record(.started(info))
        let tests = [
            TestResult(id: "/a", outcome: .fail, duration: 1, exitStatus: 2, reason: "exit 2"),
            TestResult(id: "/b", outcome: .blocked, reason: "setup img failed", blockedBy: "img"),
            TestResult(id: "/c", outcome: .pass, duration: 0.1, exitStatus: 0),
            TestResult(id: "/u", outcome: .unsupported, reason: "needs kvm"),
        ]
        let setups = [SetupResult(name: "img", phase: .setup, outcome: .failed, duration: 2, exitStatus: 7, reason: "exit 7", logPath: "setups/img/run.log"),
                      SetupResult(name: "img", phase: .teardown, outcome: .ok)]
        for test in tests.prefix(3) { await recorder.record(.testFinished(test)) }
        for setup in setups { await recorder.record(.setupFinished(setup)) }
        let summary = RunSummary(id: "r1", started: info.started, finished: info.started.addingTimeInterval(3),
                                 tests: tests, setups: setups, interrupted: false, haltedBy: nil)
        await recorder.record(.finished(summary))
        let report = try store.report("r")
        #expect(report.run.complete)
        #expect(report.run.exitCode == 3)
        #expect(report.exitCode(.standard) == 3)
        #expect(report.tests.map(\.outcome) == [.fail, .blocked, .pass, .unsupported])
        #expect(report.tests[1].blockedBy == "img")
        #expect(report.setups.map(\.label) == ["img", "img (teardown)"])
        #expect(report.infrastructureFailures.count == 1)
        #expect(try store.runs().map(\.id) == ["r1"])
        #expect(throws: StoreError.self) { try store.report("nope") }
    }

    @Test("no database yet: report says so")
    func empty() throws {
        let tree = try TemporaryTree()
        #expect(throws: StoreError.self) { try SQLiteRunStore(directory: tree.path, create: false) }
    }

    @Test("run ids are unique and get their own directory; latest follows the newest")
    func runIDs() throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let ids = try (0..<20).map { _ in try store.newRun().id }
        #expect(Set(ids).count == 20)
        store.pointLatest(at: ids[3])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: tree["latest"]) == ids[3])
        store.pointLatest(at: ids[4])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: tree["latest"]) == ids[4])
    }
}

@Suite("Report writers")
struct ReportWriterTests {
    let report = RunReport(
        run: .init(id: "r1", environment: "lab", started: Date(timeIntervalSince1970: 0), finished: Date(timeIntervalSince1970: 2),
                   exitCode: 3, complete: true, interrupted: false, haltedBy: nil, directory: "/results/r1", jobs: 2),
        tests: [
            TestResult(id: "/ok", outcome: .pass, duration: 0.25),
            TestResult(id: "/a <&> \"#b\"", outcome: .fail, duration: 1, reason: "exit 1: got <1> & \u{1B}[31mred\n#2"),
            TestResult(id: "/blocked", outcome: .blocked, reason: "setup img failed", blockedBy: "img"),
            TestResult(id: "/skipped", outcome: .skip, reason: "no hugepages"),
        ],
        setups: [SetupResult(name: "img", phase: .setup, outcome: .failed, reason: "exit 7")],
        facts: [])

    @Test("JSON keeps DESIGN.md's names")
    func json() throws {
        let object = try #require(JSONSerialization.jsonObject(with: Data(ReportWriter.json(report).utf8)) as? [String: Any])
        let run = try #require(object["run"] as? [String: Any])
        for key in ["id", "environment", "started", "finished", "exit_code", "complete"] { #expect(run[key] != nil, "\(key)") }
        let tests = try #require(object["tests"] as? [[String: Any]])
        #expect(tests[2]["blocked_by"] as? String == "img")
        #expect(tests[0]["duration"] as? Double == 0.25)
        let setups = try #require(object["setups"] as? [[String: Any]])
        #expect(setups.first?["name"] as? String == "img")
        #expect(setups.first?["outcome"] as? String == "failed")
    }

    @Test("JUnit escapes markup and drops control characters")
    func junit() {
        let xml = ReportWriter.junit(report)
        #expect(xml.contains("name=\"/a &lt;&amp;&gt; &quot;#b&quot;\""))
        #expect(xml.contains("message=\"exit 1: got &lt;1&gt; &amp; ?[31mred&#10;#2\""))
        #expect(xml.contains("<error type=\"blocked\" message=\"blocked by setup img: setup img failed\">blocked by setup img: setup img failed"
                             + "\n\nsetup img failed (exit 7)</error>"), "\(xml)")
        #expect(xml.contains("<skipped message=\"skip: no hugepages\"/>"))
        #expect(!xml.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    }

    @Test("TAP escapes # in names and puts the why in YAML")
    func tap() {
        let tap = ReportWriter.tap(report).split(separator: "\n").map(String.init)
        #expect(tap[0] == "TAP version 13")
        #expect(tap[1] == "1..4")
        #expect(tap[2] == "ok 1 - /ok")
        #expect(tap[3] == "not ok 2 - /a <&> \"\\#b\"")
        #expect(tap.contains("  message: \"exit 1: got <1> & \\x1B[31mred\\n#2\""))
        #expect(tap.contains("  blocked_by: \"img\""))
        #expect(tap.contains("ok 4 - /skipped # SKIP skip: no hugepages"))
    }

    @Test("the text summary puts infrastructure apart and names what it blocked")
    func text() {
        let text = TextReport(report, color: false).render()
        #expect(text.contains("test failures (1)"))
        #expect(text.contains("infrastructure failures (1): the lab, not the code\n  setup img  failed  exit 7"))
        #expect(text.contains("blocked 1 test: /blocked"))
        #expect(text.hasSuffix("1 passed, 1 failed, 1 skipped, 1 blocked by infrastructure, 1 infrastructure failure — exit 3\n"))
    }
}
