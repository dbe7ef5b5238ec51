import Foundation
import Testing
import TestSupport

/// A typo, a lab tag, and names a setup or a probe knows.
let typoSuite: [String: String] = [
    "suite/testbed.yaml": """
        setups:
          disk:
            run: 'true'
            provides: ["disk:scratch"]
        tests:
          typo:
            run: 'true'
            requires: ["kernal >= 5.10"]
          lab:
            run: 'true'
            requires: [DELL_R420]
          disk:
            run: 'true'
            requires: ["disk:scratch", "cmd:sh", "kernel >= 2.6"]
        """,
    "lab.yaml": "provides: [DELL_R420]\n",
]

let kernalWarning = "suite/testbed.yaml:8: \"kernal\" is no fact Testbed probes, the environment declares or a setup provides; "
    + "did you mean \"kernel\"? (1 test; declare it in an environment file's facts: (kernal: VALUE) if the lab has it)"
let labWarning = "suite/testbed.yaml:11: \"DELL_R420\" is no fact Testbed probes, the environment declares or a setup provides "
    + "(1 test; declare it in an environment file's provides: if it is a lab tag)"

@Suite("a name nobody provides is named", .serialized)
struct UnknownFactWarningTests {
    @Test("check, plan and run warn once per unknown name, naming file:line and the fix; the command goes on", arguments: [
        (["check", "suite"], 0), (["plan", "suite"], 0), (["run", "suite"], 0),
    ] as [([String], Int32)])
    func warns(arguments: [String], status: Int32) throws {
        let tree = try TemporaryTree(typoSuite)
        let result = try testbed(arguments, in: tree.path)
        #expect(result.status == status, "\(result.stderr)")
        let warnings = result.stderr.split(separator: "\n").filter { $0.hasPrefix("testbed: warning: ") }.map(String.init)
        #expect(warnings == ["testbed: warning: " + kernalWarning, "testbed: warning: " + labWarning], "\(result.stderr)")
    }

    @Test("--strict turns them into exit 65 before anything runs", arguments: ["check", "plan", "run"])
    func strict(command: String) throws {
        let tree = try TemporaryTree(typoSuite)
        let result = try testbed([command, "--strict", "suite"], in: tree.path)
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("testbed: error: " + kernalWarning), "\(result.stderr)")
        #expect(result.stderr.contains("testbed: error: " + labWarning), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: tree["suite/testbed-results"]))
    }

    @Test("a lab tag the environment declares is known; --strict then passes with the typo fixed")
    func environmentDeclares() throws {
        let tree = try TemporaryTree(typoSuite)
        let result = try testbed(["check", "-e", "lab.yaml", "suite"], in: tree.path)
        #expect(result.status == 0)
        #expect(result.stderr == "testbed: warning: \(kernalWarning)\n", "\(result.stderr)")
        try tree.write("suite/testbed.yaml", typoSuite["suite/testbed.yaml"]!.replacingOccurrences(of: "kernal", with: "kernel"))
        let strict = try testbed(["check", "--strict", "-e", "lab.yaml", "suite"], in: tree.path)
        #expect(strict.status == 0, "\(strict.stderr)")
        #expect(strict.stderr.isEmpty, "\(strict.stderr)")
    }

    @Test("many tests with one typo: one warning, counting them; only selected tests count")
    func counted() throws {
        var yaml = "tests:\n"
        for n in 0..<3 { yaml += "  t\(n):\n    run: 'true'\n    requires: [\"kernal >= 5.10\", \"cpuflag:vmx\"]\n" }
        yaml += "  other:\n    run: 'true'\n    requires: [\"kernal >= 5.10\"]\n    tags: [apart]\n"
        let tree = try TemporaryTree(["testbed.yaml": yaml])
        let all = try testbed(["check", "."], in: tree.path)
        #expect(all.stderr == """
            testbed: warning: testbed.yaml:4: "kernal" is no fact Testbed probes, the environment declares or a setup provides; did you mean "kernel"? (4 \
            tests; declare it in an environment file's facts: (kernal: VALUE) if the lab has it)
            testbed: warning: testbed.yaml:4: "cpuflag:vmx" is no fact Testbed probes, the environment declares or a setup provides; did you mean \
            "cpu-flag:vmx"? (3 tests; declare it in an environment file's provides: if it is a lab tag)

            """, "\(all.stderr)")
        let tagged = try testbed(["check", ".", "--tag", "apart"], in: tree.path)
        #expect(tagged.stderr.contains("testbed.yaml:13: \"kernal\""), "\(tagged.stderr)")
        #expect(tagged.stderr.contains("(1 test;"), "\(tagged.stderr)")
        #expect(!tagged.stderr.contains("cpuflag"), "\(tagged.stderr)")
    }

    @Test("the report of a run lists each unsupported test with the reasons recorded then")
    func reportReasons() throws {
        let tree = try TemporaryTree(typoSuite)
        let run = try testbed(["run", "suite"], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        let expected = """

            unsupported (2)
              /typo
                  needs kernal >= 5.10; kernal is not present on this host; did you mean kernel?
              /lab
                  needs DELL_R420; DELL_R420 is not present on this host

            """
        #expect(run.stdout.contains(expected), "\(run.stdout)")
        let report = try testbed(["report"], in: tree["suite"])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains(expected), "\(report.stdout)")
        #expect(!report.stdout.contains("testbed check"), "a past run's reasons, not today's host: \(report.stdout)")
    }
}
