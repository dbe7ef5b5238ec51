import Foundation
import Testing
import TestSupport

/// `testbed report --format text|json|junit|tap`, end to end: each format
/// of a recorded run, the same bytes as its short flag, and the reports the
/// run wrote into its directory the same run as `report` reads back.
@Suite("report --format")
struct ReportFormatTests {
    static let suite = [
        "testbed.yaml": """
            setups:
              broken:
                run: 'exit 3'
            tests:
              good: 'true'
              bad: 'exit 1'
              behind:
                run: 'true'
                setup: [broken]
            """,
    ]

    /// A tree with one recorded run of `suite`.
    static func recorded() throws -> TemporaryTree {
        let tree = try TemporaryTree(suite)
        let run = try testbed(["run", ".", "-j", "1"], in: tree.path)
        #expect(run.status == 3)
        return tree
    }

    @Test("each format: what it starts with, and the same bytes as its flag", arguments: [
        ("text", nil, "run "), ("json", "--json", "{\n  \"run\" : {"), ("junit", "--junit", "<?xml version=\"1.0\""),
        ("tap", "--tap", "TAP version 13\n1..3\n"),
    ] as [(String, String?, String)])
    func format(name: String, flag: String?, start: String) throws {
        let tree = try Self.recorded()
        let formatted = try testbed(["report", "--format", name], in: tree.path)
        #expect(formatted.status == 0, "\(formatted.stderr)")
        #expect(formatted.stderr.isEmpty)
        #expect(formatted.stdout.hasPrefix(start), "\(formatted.stdout)")
        let short = try testbed(["report"] + (flag.map { [$0] } ?? []), in: tree.path)
        #expect(short.status == 0)
        #expect(short.stdout == formatted.stdout)
    }

    @Test("text says what failed and why, and the run's exit code")
    func text() throws {
        let tree = try Self.recorded()
        let text = try testbed(["report", "--format", "text"], in: tree.path).stdout
        #expect(text.contains("test failures (1)\n  /bad  fail"))
        #expect(text.contains("infrastructure failures (1): the lab, not the code\n  setup broken  failed"))
        #expect(text.contains("blocked 1 test: /behind"))
        #expect(text.hasSuffix(" — exit 3\n"))
    }

    @Test("report.json and junit.xml of the run directory are the run `report` reads back")
    func runDirectory() throws {
        let tree = try Self.recorded()
        let json = try testbed(["report", "--format", "json"], in: tree.path).json()
        let run = try #require(json["run"] as? [String: Any])
        let directory = try #require(run["directory"] as? String)
        let written = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/report.json")))
            as? [String: Any])
        let writtenRun = try #require(written["run"] as? [String: Any])
        #expect(writtenRun["id"] as? String == run["id"] as? String)
        #expect(writtenRun["exit_code"] as? Int == 3)
        #expect(run["exit_code"] as? Int == 3)
        #expect(NSArray(array: written["tests"] as? [Any] ?? []) == NSArray(array: json["tests"] as? [Any] ?? []))
        #expect(NSArray(array: written["setups"] as? [Any] ?? []).count == 1)
        let junit = try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
        let read = try testbed(["report", "--format", "junit"], in: tree.path).stdout
        // The same but for the run's timestamps' rounding: compare the test cases.
        #expect(junit.split(separator: "\n").filter { $0.contains("<testcase") || $0.contains("<error") || $0.contains("<failure") }
                == read.split(separator: "\n").filter { $0.contains("<testcase") || $0.contains("<error") || $0.contains("<failure") })
    }

    @Test("two formats at once, or a format and --list, are a bad command line", arguments: [
        ["--format", "json", "--tap"], ["--format", "text", "--list"], ["--format", "xml"], ["--json", "--junit"],
    ])
    func conflicting(arguments: [String]) throws {
        let tree = try Self.recorded()
        let result = try testbed(["report"] + arguments, in: tree.path)
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("Error: "), "\(result.stderr)")
    }

    @Test("the same format twice (--format json --json) is fine")
    func same() throws {
        let tree = try Self.recorded()
        let result = try testbed(["report", "--format", "json", "--json"], in: tree.path)
        #expect(result.status == 0)
        #expect(try result.json()["tests"] != nil)
    }
}
