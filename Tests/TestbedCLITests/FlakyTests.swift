import Foundation
import Testing
import TestSupport

/// The flaky policy (`flaky: K/N`) and `--rerun-failures`, with the built binary.
@Suite("Flaky tests and reruns, end to end")
struct FlakyTests {
    /// The python3 that has junitparser (Debian's, what .ci/run installs), else the one on PATH.
    static var python: String {
        if FileManager.default.fileExists(atPath: "/usr/bin/python3"),
           (try? run("/usr/bin/python3", ["-c", "import junitparser"]).status) == 0 {
            return "/usr/bin/python3"
        }
        return "python3"
    }

    @Test("flaky: 2/3: a first failure after passes leaves the exit code 0 and is shown forgiven; a second failure counts")
    func policy() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            tests:
              wobbly:
                run: 'if [ -e fail ]; then echo "it broke"; exit 1; fi'
                flaky: 2/3
              steady: 'true'
            """,
        ])
        for _ in 0..<2 {
            let passing = try testbed(["run", "."], in: tree.path)
            #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
        }
        FileManager.default.createFile(atPath: tree["fail"], contents: Data())
        let first = try testbed(["run", "."], in: tree.path)
        let firstOutput = first.stdout + first.stderr
        #expect(first.status == 0, "\(firstOutput)")
        #expect(firstOutput.contains("/wobbly  fail (flaky: 1 of the last 3, threshold 2)"), "\(firstOutput)")
        #expect(firstOutput.contains("1 flaky failure forgiven"), "\(firstOutput)")
        #expect(!firstOutput.contains("test failures"), "\(firstOutput)")
        // The console line says the threshold as the summary does; a forgiven failure is no regression.
        #expect(first.stderr.contains("(flaky: 1 of the last 3, threshold 2)"), "\(first.stderr)")
        #expect(!first.stdout.contains("regressions"), "\(first.stdout)")

        // `testbed runs` marks the forgiven failure, in the text and in the counts of the JSON.
        let runs = try testbed(["runs", "--limit", "1"], in: tree.path)
        #expect(runs.stdout.contains("1 pass, 1 fail (1 forgiven)"), "\(runs.stdout)")
        let listed = try #require(JSONSerialization.jsonObject(with: Data(try testbed(["runs", "--json", "--limit", "1"], in: tree.path).stdout.utf8))
            as? [[String: Any]])
        #expect(listed.first?["counts"] as? [String: Int] == ["pass": 1, "fail": 1, "forgiven": 1])

        let forgiven = try report(tree.path)
        #expect(forgiven.outcome("/wobbly") == "fail")
        let mark = forgiven.test("/wobbly")["flaky"] as? [String: Any]
        #expect(mark?["kind"] as? String == "forgiven")
        #expect(mark?["failures"] as? Int == 1)
        #expect(mark?["window"] as? Int == 3)
        #expect(mark?["threshold"] as? Int == 2)
        #expect(forgiven.run["exit_code"] as? Int == 0)
        let tap = try testbed(["report", "--tap"], in: tree.path)
        #expect(tap.stdout.contains("not ok 1 - /wobbly # TODO flaky: forgiven (1 of the last 3, threshold 2)"), "\(tap.stdout)")
        let junit = try testbed(["report", "--junit"], in: tree.path)
        #expect(junit.stdout.contains("<skipped message=\"flaky failure forgiven: fail (1 of the last 3, threshold 2): exit 1: it broke\"/>"),
                "\(junit.stdout)")

        let second = try testbed(["run", "."], in: tree.path)
        let secondOutput = second.stdout + second.stderr
        #expect(second.status == 1, "\(secondOutput)")
        #expect(secondOutput.contains("test failures (1)"), "\(secondOutput)")
        #expect(!secondOutput.contains("forgiven"), "\(secondOutput)")
        #expect(try report(tree.path).test("/wobbly")["flaky"] == nil)
    }

    @Test("--rerun-failures 2: fails, then passes: exit 0, both attempts recorded and kept, flaky in JSON and JUnit, the setup run again")
    func rerun() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              vm:
                run: echo up >> setups.count
                teardown: echo down >> teardowns.count
                scope: test
            tests:
              second-time-lucky:
                run: 'n=$(cat counter 2>/dev/null || echo 0); n=$((n+1)); echo $n > counter; echo "attempt $n"; [ $n -ge 2 ]'
                setup: [vm]
              never: 'echo nope; exit 3'
            """,
        ])
        let result = try testbed(["run", "--rerun-failures", "2", "--id", "/second-time-lucky", "."], in: tree.path)
        let output = result.stdout + result.stderr
        #expect(result.status == 0, "\(output)")
        #expect(output.contains("/second-time-lucky  pass (flaky: passed on attempt 2 of 3)"), "\(output)")
        // The summary counts the test once, among the passes.
        #expect(result.stdout.contains("\n1 passed (1 flaky: passed on a rerun) — exit 0\n"), "\(result.stdout)")
        let runs = try testbed(["runs"], in: tree.path)
        #expect(runs.stdout.contains("1 pass (1 flaky)"), "\(runs.stdout)")
        #expect(try String(contentsOfFile: tree["setups.count"], encoding: .utf8) == "up\nup\n")
        #expect(try String(contentsOfFile: tree["teardowns.count"], encoding: .utf8) == "down\ndown\n")

        let reported = try report(tree.path)
        let test = reported.test("/second-time-lucky")
        #expect(test["outcome"] as? String == "pass")
        let mark = test["flaky"] as? [String: Any]
        #expect(mark?["kind"] as? String == "rerun")
        #expect(mark?["attempts"] as? Int == 2)
        let attempts = try #require(test["attempts"] as? [[String: Any]])
        try #require(attempts.count == 1)
        #expect(attempts[0]["outcome"] as? String == "fail")
        #expect(attempts[0]["exit_status"] as? Int == 1)
        // Each attempt's log is its own: the first is kept as it was.
        let firstLog = try #require(attempts[0]["log"] as? String)
        let lastLog = try #require(test["log"] as? String)
        #expect(firstLog != lastLog)
        #expect(try String(contentsOfFile: firstLog, encoding: .utf8) == "attempt 1\n")
        #expect(try String(contentsOfFile: lastLog, encoding: .utf8) == "attempt 2\n")
        #expect(reported.run["rerun_failures"] as? Int == 2)

        let junit = try testbed(["report", "--junit"], in: tree.path)
        try junit.stdout.write(toFile: tree["junit.xml"], atomically: true, encoding: .utf8)
        let parsed = try run("/usr/bin/env", [Self.python, "-c", """
            import sys
            from junitparser import JUnitXml
            xml = JUnitXml.fromfile(sys.argv[1])
            for suite in xml:
                for case in suite:
                    flaky = case._elem.findall("flakyFailure")
                    print(case.name, "|", len(case.result), "|", ",".join(f.get("message") for f in flaky),
                          "|", ",".join(f.findtext("stackTrace").split("\\n")[0] for f in flaky))
            """, tree["junit.xml"]])
        #expect(parsed.status == 0, "junitparser: \(parsed.output)")
        #expect(parsed.output.contains("/second-time-lucky | 0 | attempt 1: exit 1: attempt 1 | attempt 1: exit 1: attempt 1"),
                "\(parsed.output)")
    }

    @Test("--rerun-failures 1 on a test that always fails: exit 1, both attempts recorded, JUnit rerunFailure")
    func rerunStillFails() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  never: 'echo nope; exit 3'\n"])
        let result = try testbed(["run", "--rerun-failures", "1", "."], in: tree.path)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect((result.stdout + result.stderr).contains("(failed all 2 attempts)"), "\(result.stdout)\(result.stderr)")
        let test = try report(tree.path).test("/never")
        #expect(test["flaky"] == nil)
        #expect((test["attempts"] as? [[String: Any]])?.map { $0["outcome"] as? String } == ["fail"])
        let junit = try testbed(["report", "--junit"], in: tree.path)
        #expect(junit.stdout.contains("<rerunFailure type=\"fail\" message=\"attempt 1: exit 3: nope\">"), "\(junit.stdout)")
        #expect(junit.stdout.contains("<failure type=\"fail\""), "\(junit.stdout)")
    }

    @Test("--rerun-failures below 0 is a usage error")
    func badCount() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n"])
        let result = try testbed(["run", "--rerun-failures=-1", "."], in: tree.path)
        #expect(result.status == 64)
        #expect(result.stderr.contains("--rerun-failures must be from 0 to 100"), "\(result.stderr)")
    }
}
