import Foundation
import Testing
import TestSupport

/// A failed or timed-out test shows the end of its output where people look:
/// the summary of `testbed run` and `testbed report`, and the JUnit body and
/// `system-out` a CI page shows (read back by junitparser).
@Suite("failures you can read: output tails in the summary and in JUnit", .serialized)
struct FailureTailTests {
    /// `/boom` prints 20 lines (the last on stderr) and exits 1; `/hang`
    /// prints two lines and sleeps past its timeout; `/fine` passes.
    static let suite = [
        "testbed.yaml": """
            tests:
              boom: |
                i=1
                while [ $i -le 19 ]; do echo "boot line $i"; i=$((i+1)); done
                echo 'qemu-system-x86_64: <&"> no bootable device' >&2
                exit 1
              hang:
                run: 'echo waiting for the guest; echo "still no login prompt" >&2; exec sleep 30'
                timeout: 500ms
              fine: 'echo all good'
            """,
    ]

    /// The run's id, from `testbed-results/latest` (a link to the run directory).
    static func runID(_ tree: TemporaryTree) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: tree["testbed-results/latest"])
            .split(separator: "/").last.map(String.init) ?? ""
    }

    @Test("the summary of run and of report shows the last 8 lines of a failed test's output, and of a timed-out one's")
    func summaryTail() throws {
        let tree = try TemporaryTree(Self.suite)
        let result = try testbed(["run", ".", "--kill-grace", "1s"], in: tree.path)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let id = try Self.runID(tree)
        let boom = "  /boom  fail  exit 1: qemu-system-x86_64: <&\"> no bootable device\n"
            + (13...19).map { "      | boot line \($0)\n" }.joined()
            + "      | qemu-system-x86_64: <&\"> no bootable device\n"
            + "      log: testbed-results/\(id)/tests/boom/output.log\n"
        let hang = "  /hang  timeout  ran past its timeout of 500ms and was killed\n"
            + "      | waiting for the guest\n"
            + "      | still no login prompt\n"
            + "      log: testbed-results/\(id)/tests/hang/output.log\n"
        let report = try testbed(["report"], in: tree.path)
        for (name, text) in [("run", result.stdout), ("report", report.stdout)] {
            #expect(text.contains("test failures (2)\n"), "\(name): \(text)")
            #expect(text.contains(boom), "\(name): \(text)")
            #expect(text.contains(hang), "\(name): \(text)")
            #expect(!text.contains("boot line 12\n"), "\(name): at most 8 lines: \(text)")
            #expect(!text.contains("all good"), "\(name): a passing test's output is not shown")
        }
    }

    /// A python3 that can import junitparser: Debian's (what .ci/run installs), else the one on PATH.
    static func python() throws -> String {
        if FileManager.default.fileExists(atPath: "/usr/bin/python3"),
           try run("/usr/bin/python3", ["-c", "import junitparser"]).status == 0 {
            return "/usr/bin/python3"
        }
        return "python3"
    }

    /// The latest run's junit.xml as the run wrote it, and as `report --junit` writes it (saved as `reported.xml`).
    static func junitFiles(in tree: TemporaryTree) throws -> (directory: String, files: [String]) {
        let recorded = try #require(try testbed(["report", "--json"], in: tree.path).json()["run"] as? [String: Any])
        let directory = try #require(recorded["directory"] as? String)
        let reported = try testbed(["report", "--junit"], in: tree.path).stdout
        try reported.write(toFile: tree["reported.xml"], atomically: true, encoding: .utf8)
        return (directory, [directory + "/junit.xml", tree["reported.xml"]])
    }

    @Test("junitparser reads the failure's text (reason, output tail, log) and system-out of a failed and a timed-out test")
    func junitBodies() throws {
        let tree = try TemporaryTree(Self.suite)
        _ = try testbed(["run", ".", "--kill-grace", "1s"], in: tree.path)
        // The junit.xml the run wrote, and the one `report --junit` writes: both read the same.
        let (directory, files) = try Self.junitFiles(in: tree)
        for file in files {
            let parsed = try run("/usr/bin/env", [try Self.python(), "-c", """
                import sys, json
                from junitparser import JUnitXml
                out = {}
                for suite in JUnitXml.fromfile(sys.argv[1]):
                    for case in suite:
                        out[case.name] = {"results": [[type(r).__name__, r.message, r.text] for r in case.result],
                                          "system_out": case.system_out}
                print(json.dumps(out))
                """, file])
            #expect(parsed.status == 0, "junitparser: \(parsed.output)")
            let cases = try #require(try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [String: [String: Any]])
            let stderrLine = "qemu-system-x86_64: <&\"> no bootable device"
            let boomAll = (1...19).map { "boot line \($0)\n" }.joined() + stderrLine + "\n"
            let boom = try #require(cases["/boom"])
            let boomResult = try #require((boom["results"] as? [[Any]])?.first)
            #expect(boomResult[0] as? String == "Failure")
            #expect(boomResult[1] as? String == "exit 1: " + stderrLine)
            #expect(boomResult[2] as? String == "exit 1: \(stderrLine)\n\n\(boomAll)log: \(directory)/tests/boom/output.log", "\(boomResult)")
            #expect(boom["system_out"] as? String == boomAll, "all 20 lines are within the JUnit bound (50)")

            let hang = try #require(cases["/hang"])
            let hangResult = try #require((hang["results"] as? [[Any]])?.first)
            #expect(hangResult[0] as? String == "Failure")
            #expect(hangResult[1] as? String == "ran past its timeout of 500ms and was killed")
            #expect(hangResult[2] as? String == "ran past its timeout of 500ms and was killed\n\nwaiting for the guest\nstill no login prompt\n"
                    + "log: \(directory)/tests/hang/output.log", "\(hangResult)")
            #expect(hang["system_out"] as? String == "waiting for the guest\nstill no login prompt\n")

            let fine = try #require(cases["/fine"])
            #expect((fine["results"] as? [Any])?.isEmpty == true)
            #expect(fine["system_out"] is NSNull, "a passing test carries no output")
        }
    }

    @Test("junitparser reads a blocked test's error text: which setup blocked it, that setup's outcome and reason, its log's last 10 lines")
    func junitBlocked() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              bridge:
                run: 'i=1; while [ $i -le 14 ]; do echo "bridge line $i"; i=$((i+1)); done; echo "fetch <failed>: refused" >&2; exit 7'
              vm:
                run: 'true'
                after: [bridge]
            tests:
              behind-vm:
                run: 'true'
                setup: [vm]
              direct:
                run: 'true'
                setup: [bridge]
              independent: 'true'
            """])
        #expect(try testbed(["run", "."], in: tree.path).status == 2)
        // The junit.xml the run wrote, and the one `report --junit` writes: both read the same.
        let (directory, files) = try Self.junitFiles(in: tree)
        for file in files {
            let parsed = try run("/usr/bin/env", [try Self.python(), "-c", """
                import sys, json
                from junitparser import JUnitXml
                out = {}
                for suite in JUnitXml.fromfile(sys.argv[1]):
                    for case in suite:
                        out[case.name] = [[type(r).__name__, r.type, r.message, r.text] for r in case.result]
                print(json.dumps(out))
                """, file])
            #expect(parsed.status == 0, "junitparser: \(parsed.output)")
            let cases = try #require(try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [String: [[Any]]])
            let tail = (6...14).map { "bridge line \($0)\n" }.joined() + "fetch <failed>: refused\n"
            let detail = "\n\nsetup bridge failed (exit 7)\n" + tail + "log: \(directory)/setups/bridge/run.log"
            for id in ["/behind-vm", "/direct"] {
                let result = try #require(cases[id]?.first, "\(id): \(parsed.output)")
                #expect(result[0] as? String == "Error")
                #expect(result[1] as? String == "blocked")
                let message = try #require(result[2] as? String)
                #expect(message.hasPrefix("blocked by setup bridge: "), "\(message)")
                #expect(result[3] as? String == message + detail, "\(id): \(result)")
            }
            #expect(cases["/independent"]?.isEmpty == true)
            // The setup's own testcase still has all 15 lines.
            let bridge = try #require(cases["bridge"]?.first)
            #expect((bridge[3] as? String)?.contains("bridge line 1\nbridge line 2\n") == true, "\(bridge)")
        }
    }
}
