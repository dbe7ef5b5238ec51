@testable import Execution
import Foundation
import FoundationXML
@testable import Reporting
@testable import Results
import Testing
import TestSupport

/// The end of a failed test's output in the text report and in JUnit:
/// bounded, cut, and never a character a terminal or an XML reader chokes on.
@Suite("Failure tails: the text report and JUnit show the end of a failed step's log")
struct FailureTailReportTests {
    /// 60 numbered lines, then what a hostile or broken program prints.
    static let log = (1...60).map { "line \($0)\n" }.joined()
        + "CDATA end ]]> and <tag> & \u{1B}[31mred\u{0}nul \u{FFFE} \u{202E}bidi\rreturn\n"
        + String(repeating: "x", count: 400) + "\n"

    let tree: TemporaryTree
    let report: RunReport

    init() throws {
        tree = try TemporaryTree([
            "tests/bad/output.log": Self.log, "tests/slow/output.log": "booting\n", "tests/nostart/output.log": "testbed: cannot start x\n",
            "setups/img/run.log": "fetch failed: <404>\n",
        ])
        report = RunReport(
            run: .init(id: "r1", environment: "lab", started: Date(timeIntervalSince1970: 0), finished: Date(timeIntervalSince1970: 2),
                       exitCode: 3, complete: true, interrupted: false, haltedBy: nil, directory: tree.path, jobs: 1),
            tests: [
                TestResult(id: "/bad", outcome: .fail, exitStatus: 1, reason: "exit 1: boom", logDirectory: "tests/bad"),
                TestResult(id: "/slow", outcome: .timeout, reason: "ran past its timeout of 1s and was killed", logDirectory: "tests/slow"),
                TestResult(id: "/nostart", outcome: .error, reason: "cannot start x", logDirectory: "tests/nostart"),
                TestResult(id: "/gone", outcome: .fail, reason: "exit 2", logDirectory: "tests/gone"),
                TestResult(id: "/ok", outcome: .pass, logDirectory: "tests/bad"),
            ],
            setups: [SetupResult(name: "img", phase: .setup, outcome: .failed, reason: "exit 7", logPath: "setups/img/run.log")],
            facts: [])
    }

    @Test("the text report shows the last 8 lines of each failure's log, made printable and cut at 300 characters")
    func text() {
        let text = TextReport(report, color: false).render()
        let cut = String(repeating: "x", count: 300) + "…"
        let bad = "  /bad  fail  exit 1: boom\n" + (55...60).map { "      | line \($0)\n" }.joined()
            + "      | CDATA end ]]> and <tag> & ?[31mred?nul \u{FFFE} ?bidi?return\n"
            + "      | \(cut)\n"
            + "      log: \(tree.path)/tests/bad/output.log\n"
        #expect(text.contains(bad), "\(text)")
        #expect(text.contains("  /slow  timeout  ran past its timeout of 1s and was killed\n      | booting\n      log: "), "\(text)")
        #expect(text.contains("  /nostart  error  cannot start x\n      | testbed: cannot start x\n      log: "), "\(text)")
        #expect(text.contains("  /gone  fail  exit 2\n      log: \(tree.path)/tests/gone/output.log (not there)\n"), "\(text)")
        #expect(text.contains("  setup img  failed  exit 7\n      | fetch failed: <404>\n      log: "), "\(text)")
    }

    @Test("the tail follows tailLines")
    func count() {
        var text = TextReport(report, color: false)
        text.tailLines = 2
        #expect(text.render().contains("  /bad  fail  exit 1: boom\n      | CDATA end"), "\(text.render())")
    }

    /// The `testcase` element named `id`, as written.
    func testcase(_ xml: String, _ id: String) -> String? {
        guard let start = xml.range(of: "<testcase name=\"\(id)\""),
              let end = xml.range(of: "</testcase>", range: start.upperBound..<xml.endIndex) else { return nil }
        return String(xml[start.lowerBound..<end.upperBound])
    }

    /// The body of the first `<element ...>` after `<testcase name="id"`, as written.
    func raw(_ xml: String, _ id: String, _ element: String) -> String? {
        guard let testcase = xml.range(of: "<testcase name=\"\(id)\""),
              let open = xml.range(of: "<\(element)", range: testcase.upperBound..<xml.endIndex),
              let start = xml.range(of: ">", range: open.upperBound..<xml.endIndex),
              let end = xml.range(of: "</\(element)>", range: start.upperBound..<xml.endIndex) else { return nil }
        return String(xml[start.upperBound..<end.lowerBound])
    }

    @Test("JUnit: failure and error bodies hold the reason, the last 50 lines and the log; system-out the lines; all XML-safe")
    func junit() throws {
        let xml = ReportWriter.junit(report)
        let escapedLast = "CDATA end ]]&gt; and &lt;tag&gt; &amp; ?[31mred?nul ? ?bidi?return\n" + String(repeating: "x", count: 300) + "…\n"
        let lines = (13...60).map { "line \($0)\n" }.joined() + escapedLast
        #expect(raw(xml, "/bad", "failure") == "exit 1: boom\n\n\(lines)log: \(tree.path)/tests/bad/output.log", "\(xml)")
        #expect(raw(xml, "/bad", "system-out") == lines, "\(xml)")
        #expect(raw(xml, "/slow", "failure") == "ran past its timeout of 1s and was killed\n\nbooting\nlog: \(tree.path)/tests/slow/output.log")
        #expect(raw(xml, "/nostart", "error") == "cannot start x\n\ntestbed: cannot start x\nlog: \(tree.path)/tests/nostart/output.log")
        #expect(raw(xml, "/gone", "failure") == "exit 2\n\nlog: \(tree.path)/tests/gone/output.log (not there)")
        #expect(testcase(xml, "/gone")?.contains("<system-out>") == false, "no system-out without lines")
        #expect(testcase(xml, "/bad")?.contains("<system-out>") == true)
        #expect(xml.contains("<testcase name=\"/ok\" classname=\"testbed\" time=\"0.0\"/>\n"), "a pass has neither")
        #expect(raw(xml, "img", "error") == "infrastructure failure: img failed (exit 7)\n\nfetch failed: &lt;404&gt;\n"
                + "log: \(tree.path)/setups/img/run.log")
        #expect(raw(xml, "img", "system-out") == "fetch failed: &lt;404&gt;\n")
        #expect(!xml.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0xFFFE || $0.value == 0xFFFF })

        // An XML reader takes it whole, and reads the text back unescaped.
        final class Reader: NSObject, XMLParserDelegate {
            var outs: [String] = []
            var text: String?
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String]) {
                if name == "system-out" { text = "" }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { text? += string }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "system-out", let text { outs.append(text) }
                text = nil
            }
        }
        let reader = Reader()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = reader
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(reader.outs.first?.hasSuffix("CDATA end ]]> and <tag> & ?[31mred?nul ? ?bidi?return\n" + String(repeating: "x", count: 300) + "…\n")
                == true, "\(reader.outs)")
    }

    @Test("JUnit: a blocked test's error body names its setup (for a scope: test setup, the one run for it), its reason and last lines")
    func junitBlocked() throws {
        let tree = try TemporaryTree(["setups/vm/a.log": "vm for a\n", "setups/vm/b.log": "no memory for b\n", "setups/img/run.log": "fetched\n"])
        let report = RunReport(
            run: .init(id: "r2", environment: "lab", started: Date(timeIntervalSince1970: 0), finished: Date(timeIntervalSince1970: 2),
                       exitCode: 2, complete: true, interrupted: false, haltedBy: nil, directory: tree.path, jobs: 1),
            tests: [
                TestResult(id: "/b", outcome: .blocked, reason: "setup vm failed", blockedBy: "vm"),
                TestResult(id: "/disk", outcome: .blocked, reason: "the results disk is full", blockedBy: "results disk"),
                TestResult(id: "/promise", outcome: .blocked, reason: "setup img ran, but cmd:qemu is still unmet", blockedBy: "img"),
            ],
            setups: [
                SetupResult(name: "vm", test: "/a", phase: .setup, outcome: .failed, reason: "exit 1", logPath: "setups/vm/a.log"),
                SetupResult(name: "vm", test: "/b", phase: .setup, outcome: .failed, reason: "exit 2", logPath: "setups/vm/b.log"),
                SetupResult(name: "img", phase: .setup, outcome: .ok, logPath: "setups/img/run.log"),
            ],
            facts: [])
        let xml = ReportWriter.junit(report)
        #expect(raw(xml, "/b", "error") == "blocked by setup vm: setup vm failed\n\nsetup vm [/b] failed (exit 2)\nno memory for b\n"
                + "log: \(tree.path)/setups/vm/b.log", "\(xml)")
        #expect(raw(xml, "/disk", "error") == "blocked by results disk: the results disk is full", "\(xml)")
        #expect(raw(xml, "/promise", "error") == "blocked by setup img: setup img ran, but cmd:qemu is still unmet\n\nsetup img ok\nfetched\n"
                + "log: \(tree.path)/setups/img/run.log", "\(xml)")
        #expect(testcase(xml, "/b")?.contains("<system-out>") == false, "the setup's output is not the test's")
    }
}
