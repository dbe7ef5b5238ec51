@testable import Execution
import Foundation
@testable import Reporting
@testable import Results
import Testing

@Suite("Reports never print a control, bidirectional or line-separator character raw")
struct UnprintableReportTests {
    static let hostile = "exit 1: evil \u{202E}txt.exe \u{9B}2J \u{7F}\u{2066}\u{200F}\u{2028}\u{1B}[31m"

    let report = RunReport(
        run: .init(id: "r1", environment: "lab", started: Date(timeIntervalSince1970: 0), finished: Date(timeIntervalSince1970: 2),
                   exitCode: 3, complete: true, interrupted: false, haltedBy: nil, directory: "/results/r1", jobs: 2),
        tests: [
            TestResult(id: "/fail", outcome: .fail, duration: 1, reason: hostile),
            TestResult(id: "/skip", outcome: .skip, reason: "skipped itself (exit 77): \u{202E}x"),
            TestResult(id: "/disk", outcome: .blocked, exitStatus: 1, reason: "exit 1 while the results disk (/r) was full",
                       blockedBy: "results disk"),
        ],
        setups: [SetupResult(name: "img", phase: .setup, outcome: .failed, reason: "exit 7 \u{202E}")],
        facts: [])

    /// A character that must not reach a terminal: what `isUnprintable` names, but a newline.
    static func raw(_ text: String) -> Bool {
        text.unicodeScalars.contains { scalar in
            scalar != "\n" && (scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || [0x061C, 0x200E, 0x200F, 0x2028, 0x2029].contains(scalar.value)
                || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value))
        }
    }

    @Test("JSON writes them \\uXXXX: the same text to a JSON reader")
    func json() throws {
        let text = ReportWriter.json(report)
        #expect(!Self.raw(text))
        #expect(text.contains(#""reason" : "exit 1: evil \u202etxt.exe \u009b2J \u007f\u2066\u200f\u2028\u001b[31m""#), "\(text)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let tests = try #require(object["tests"] as? [[String: Any]])
        #expect(tests[0]["reason"] as? String == Self.hostile)
    }

    @Test("TAP escapes them in its YAML blocks and on # SKIP lines")
    func tap() {
        let text = ReportWriter.tap(report)
        #expect(!Self.raw(text))
        #expect(text.contains(#"  message: "exit 1: evil \u202Etxt.exe \x9B2J \x7F\u2066\u200F\u2028\x1B[31m""#), "\(text)")
        #expect(text.contains("ok 2 - /skip # SKIP skip: skipped itself (exit 77): \\u{202E}x\n"), "\(text)")
    }

    @Test("JUnit shows them as ?; a test blocked by the results disk is not said to be blocked by a setup")
    func junit() {
        let text = ReportWriter.junit(report)
        #expect(!Self.raw(text))
        #expect(text.contains("message=\"exit 1: evil ?txt.exe ?2J ?????[31m\""), "\(text)")
        #expect(text.contains("<error type=\"blocked\" message=\"blocked by results disk: exit 1 while the results disk (/r) was full\">"
                              + "blocked by results disk: exit 1 while the results disk (/r) was full</error>"),
                "\(text)")
        #expect(text.contains("(exit 7 ?)"), "\(text)")
    }

    @Test("the text report escapes them as in a Swift literal")
    func text() {
        let text = TextReport(report, color: false).render()
        #expect(!Self.raw(text))
        #expect(text.contains("  /fail  fail  exit 1: evil \\u{202E}txt.exe \\u{9B}2J \\u{7F}\\u{2066}\\u{200F}\\u{2028}\\u{1B}[31m\n"), "\(text)")
        #expect(text.contains("  setup img  failed  exit 7 \\u{202E}\n"), "\(text)")
    }
}

@Suite("ReportFormat: one path to every writer")
struct ReportFormatUnitTests {
    let report = UnprintableReportTests().report

    @Test("each format renders what its writer writes", arguments: ReportFormat.allCases)
    func sameAsWriter(format: ReportFormat) {
        let expected = switch format {
        case .text: TextReport(report, color: false).render()
        case .json: ReportWriter.json(report)
        case .junit: ReportWriter.junit(report)
        case .tap: ReportWriter.tap(report)
        }
        #expect(format.render(report) == expected)
        var chunks: [String] = []
        format.write(report) { chunks.append($0) }
        #expect(chunks.joined() == expected)
    }

    @Test("colour only in text")
    func color() {
        #expect(ReportFormat.text.render(report, color: true).contains("\u{1B}[31m"))
        for format in [ReportFormat.json, .junit, .tap] {
            #expect(format.render(report, color: true) == format.render(report, color: false))
        }
    }
}
