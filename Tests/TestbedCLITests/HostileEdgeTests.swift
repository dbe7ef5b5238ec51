import Foundation
import Testing
import TestSupport

/// A test's verdict when the results disk is full: its output (its stdout and
/// stderr are its log, on that disk) could not be written, so a failure is
/// the lab's, not the code's.
@Suite("hostile results: a full disk is not a test failure", .serialized)
struct FullResultsDiskTests {
    @Test("tests and a setup that fail while the results disk is full are blocked by it (exit 2), a quiet one passes, later ones run as usual",
          .enabled(if: tmpfsMountable, "needs root and a machine that allows mounting a small tmpfs"))
    func failuresWhileFull() throws {
        let tree = try TemporaryTree()
        try tree.directory("small")
        try #require(mountTmpfs(tree["small"], options: "size=600k"))
        defer { unmount(tree["small"]) }
        // -j 2 in plan order: the setup and /a-fill start; /a-fill fills the disk and
        // holds it full until /e-go says so; /b…/d run one by one while it is full
        // (each verdict is made when it ends, before the next starts); /e-go then
        // waits until /a-fill has freed the disk, and /f-after writes to a disk with room.
        let marks = tree.path
        let full = "until [ -e \(marks)/filled ]; do sleep 0.05; done"
        try tree.write("testbed.yaml", """
            setups:
              writes:
                run: '\(full); echo preparing'
            tests:
              a-fill: 'sleep 0.3; head -c 10000000 /dev/zero > "$TESTBED_OUTPUT_DIR/fill" 2>/dev/null; touch \(marks)/filled; until [ -e \(marks)/go ]; do \
            sleep 0.05; done; rm "$TESTBED_OUTPUT_DIR/fill"; touch \(marks)/freed'
              b-echo: '\(full); echo p'
              c-killed: '\(full); echo p || kill -KILL $$'
              d-behind: {run: 'echo p', setup: [writes]}
              d-quiet: '\(full); true'
              e-go: 'touch \(marks)/go; until [ -e \(marks)/freed ]; do sleep 0.05; done'
              f-after: 'echo late'
            """)
        let run = try testbed(["run", "-j", "2", "--plan-order", "--results", "small/results", "."], in: tree.path)
        #expect(run.status == 2, "bit 2 (the lab), not bit 1 (the code): \(run.stdout)\(run.stderr)")
        let disk = tree["small/results"]
        let testSaid = "while the results disk (\(disk)) was full: its output could not be written, so its verdict cannot be trusted; "
            + "free space and run it again"
        let setupSaid = "exit 1 while the results disk (\(disk)) was full: its output could not be written; free space and run it again"
        // As each step ends (stderr), then the summary (stdout).
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains("INFRA setup writes  \(setupSaid)"), "\(run.stderr)")
        #expect(lines.contains { $0.hasPrefix("BLOCKED /b-echo (") && $0.hasSuffix(" s)  exit 1 \(testSaid)") }, "\(run.stderr)")
        #expect(lines.contains { $0.hasPrefix("BLOCKED /c-killed (") && $0.hasSuffix(" s)  killed by signal 9 (SIGKILL) \(testSaid)") },
                "\(run.stderr)")
        #expect(lines.contains("BLOCKED /d-behind  setup writes failed"), "\(run.stderr)")
        #expect(!run.stderr.contains("FAIL"), "\(run.stderr)")
        #expect(run.stdout.contains("""

            infrastructure failures (1): the lab, not the code
              setup writes  failed  \(setupSaid)

            """), "\(run.stdout)")
        #expect(run.stdout.hasSuffix("""

            blocked (2)
              /b-echo  exit 1 \(testSaid)
              /c-killed  killed by signal 9 (SIGKILL) \(testSaid)

            4 passed, 3 blocked by infrastructure, 1 infrastructure failure — exit 2

            """), "\(run.stdout)")

        let reported = try reportedRun(run, in: tree.path, results: "small/results")
        #expect(reported.run["exit_code"] as? Int == 2)
        #expect(reported.outcomes == ["/a-fill": "pass", "/b-echo": "blocked", "/c-killed": "blocked", "/d-behind": "blocked",
                                      "/d-quiet": "pass", "/e-go": "pass", "/f-after": "pass"])
        let echo = reported.test("/b-echo")
        #expect(echo["reason"] as? String == "exit 1 \(testSaid)")
        #expect(echo["blocked_by"] as? String == "results disk" && echo["exit_status"] as? Int == 1)
        let killed = reported.test("/c-killed")
        #expect(killed["reason"] as? String == "killed by signal 9 (SIGKILL) \(testSaid)")
        #expect(killed["blocked_by"] as? String == "results disk" && killed["signal"] as? Int == 9)
        let setup = try #require(reported.setup("writes").first)
        #expect(setup["outcome"] as? String == "failed" && setup["reason"] as? String == setupSaid)
        #expect(reported.test("/d-behind")["blocked_by"] as? String == "writes")

        let tap = try testbed(["report", "--tap", "--results", "small/results"], in: tree.path).stdout
        #expect(tap.contains("not ok 2 - /b-echo\n  ---\n  outcome: blocked\n  blocked_by: \"results disk\"\n  message: \"exit 1 \(testSaid)\"\n"),
                "\(tap)")
        let junit = try testbed(["report", "--junit", "--results", "small/results"], in: tree.path).stdout
        #expect(junit.contains("<error type=\"blocked\" message=\"blocked by results disk: exit 1 \(testSaid)\">"
                               + "blocked by results disk: exit 1 \(testSaid)</error>"), "\(junit)")
    }
}

/// What a test prints is shown (a reason, a log's tail) with every control,
/// bidirectional and line-separator character as `?` or escaped.
@Suite("hostile output: no bidirectional or control character reaches a terminal or report raw", .serialized)
struct UnprintableOutputTests {
    @Test("a last line with U+202E, U+2066, U+200F, a C1 CSI and DEL: ? in the console, report, TAP and JUnit; \\u escapes in JSON")
    func bidiInOutput() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "setups:\n  img:\n    run: ./bad.sh\ntests:\n  fails: ./bad.sh\n  behind: {run: 'true', setup: [img]}\n",
            "bad.sh": "#!/bin/sh\nprintf 'evil \\342\\200\\256txt.exe \\342\\201\\246iso \\342\\200\\217rlm \\302\\2332J \\177del\\n'\nexit 3\n",
        ], executables: ["bad.sh"])
        let run = try testbed(["run", "-j", "1", "--plan-order", "."], in: tree.path)
        #expect(run.status == 3)
        let shown = "evil ?txt.exe ?iso ?rlm ?2J ?del"
        #expect(run.stdout.contains("  exit 3: \(shown)\n"), "\(run.stdout)")
        #expect(!hasBidiOrControl(run.stdout + run.stderr), "\(run.stdout)")
        let text = try testbed(["report"], in: tree.path).stdout
        #expect(text.contains("  /fails  fail  exit 3: \(shown)\n      | \(shown)\n"), "with its output's tail: \(text)")
        #expect(text.contains("      | \(shown)\n"), "the setup's log tail: \(text)")
        let tap = try testbed(["report", "--tap"], in: tree.path).stdout
        #expect(tap.contains("  message: \"exit 3: \(shown)\"\n"), "\(tap)")
        let junit = try testbed(["report", "--junit"], in: tree.path).stdout
        #expect(junit.contains("<failure type=\"fail\" message=\"exit 3: \(shown)\">exit 3: \(shown)\n\n\(shown)\nlog: "), "\(junit)")
        #expect(junit.contains("<system-out>\(shown)\n</system-out>"), "the output's tail: \(junit)")
        let json = try testbed(["report", "--json"], in: tree.path)
        #expect((try report(tree.path).test("/fails")["reason"] as? String) == "exit 3: \(shown)")
        for output in [text, tap, junit, json.stdout] { #expect(!hasBidiOrControl(output), "\(output)") }
    }
}

/// Whether a text holds what must not reach a terminal raw: C0 controls but a
/// newline, DEL and C1 controls, bidirectional controls, line separators.
func hasBidiOrControl(_ text: String) -> Bool {
    text.unicodeScalars.contains { scalar in
        switch scalar.value {
        case 0x0A: false
        case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029: true
        default: false
        }
    }
}

/// Input at the edges of the grammars: not a regular file, characters libyaml
/// refuses, durations and numbers in forms that are not documented.
@Suite("hostile inputs: sockets, refused characters, durations and digits at the edges", .serialized)
struct InputEdgeCLITests {
    @Test("a Unix socket named as a test (even with its x bits) or as an environment: exit 65 naming it; met in a suite: not a test")
    func socketAsTest() throws {
        let tree = try TemporaryTree(["suite/ok.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n"], executables: ["suite/ok.sh"])
        try #require(makeUnixSocket(tree["t.sock"]) && makeUnixSocket(tree["env.yaml"]) && makeUnixSocket(tree["suite/s.sock"]))
        #expect(chmod(tree["t.sock"], 0o755) == 0 && chmod(tree["suite/s.sock"], 0o755) == 0)
        let refusal = "./t.sock: is a socket, not a regular file, so it cannot run as a test; name an executable file, a suite directory or a testbed.yaml\n"
        for command in ["check", "run"] {
            let result = try boundedTestbed([command, "./t.sock"], in: tree.path).result
            #expect(result.status == 65, "\(command): \(result.stdout)")
            #expect(result.stderr == "testbed: error: \(refusal)", "\(command): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: tree["testbed-results"]), "nothing ran")
        let environment = try boundedTestbed(["check", "-e", "env.yaml", "suite"], in: tree.path).result
        #expect(environment.status == 65)
        #expect(environment.stderr == "testbed: error: env.yaml: is a socket, not a regular file; name a YAML file\n", "\(environment.stderr)")
        let walked = try boundedTestbed(["check", "suite"], in: tree.path).result
        #expect(walked.status == 0 && walked.stdout.contains("runnable (1)\n  /ok.sh\n"), "\(walked.stdout)\(walked.stderr)")
    }

    @Test("a YAML key holding U+009B or DEL: exit 65 naming its real line and column, the character escaped", arguments: [
        ("tests:\n  ok: 'true'\n  \"a\u{9B}b\": 'true'\n", 3, 5, "\\u{9B}"),
        ("tests:\n  ok: 'true'\n\n  a\u{7F}b: 'true'\n", 4, 4, "\\u{7F}"),
        ("# comment\nsetups:\n  s:\n    run: 'true'\n    description: \"é\u{7F}\"\n", 5, 20, "\\u{7F}"),
    ])
    func refusedCharacterLine(yaml: String, line: Int, column: Int, shown: String) throws {
        let tree = try TemporaryTree(["testbed.yaml": yaml])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 65)
        #expect(result.stderr == "testbed: error: testbed.yaml:\(line): YAML syntax error: control character `\(shown)` is not allowed "
            + "(column \(column)); fix the YAML at that line\n", "\(result.stderr)")
        #expect(!hasBidiOrControl(result.stderr))
    }

    @Test("timeouts outside the documented grammar (hexadecimal, exponents, a unit twice): exit 65 naming file:line and the value",
          arguments: ["0x1", "0x1p0", "1d1d", "1e3", "30s1m", "+5", "６０s"])
    func undocumentedTimeouts(value: String) throws {
        try expectTimeoutRefused(value)
    }

    @Test("-t and --kill-grace outside their grammars: exit 64 naming the option and the value, saying what to write", arguments: [
        (["-t", "0x10"], "--timeout-multiplier 0x10 is not a decimal number; write e.g. 2 or 0.5 (0 or less: no timeouts)"),
        (["-t", "0x1p0"], "--timeout-multiplier 0x1p0 is not a decimal number; write e.g. 2 or 0.5 (0 or less: no timeouts)"),
        (["-t", "nan"], "--timeout-multiplier nan is not a decimal number; write e.g. 2 or 0.5 (0 or less: no timeouts)"),
        (["-t", "1e-320"], "--timeout-multiplier 1e-320 is above 0 but under 0.001, the smallest multiplier (timeouts are kept in whole "
            + "milliseconds); write at least 0.001, or 0 or less for no timeouts"),
        (["--timeout-multiplier", "1e-400"], "--timeout-multiplier 1e-400 is above 0 but under 0.001, the smallest multiplier (timeouts "
            + "are kept in whole milliseconds); write at least 0.001, or 0 or less for no timeouts"),
        (["--kill-grace", "0x5"], "--kill-grace 0x5 is not a duration; " + durationForms),
        (["--kill-grace", "1d1d"], "--kill-grace 1d1d is not a duration; " + durationForms),
    ])
    func undocumentedOptions(arguments: [String], message: String) throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n"])
        let result = try boundedTestbed(["run"] + arguments + ["."], in: tree.path).result
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("Error: \(message)\n"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tree["testbed-results"]), "nothing ran")
    }

    @Test("-t -inf, -0 and inf follow the documented rule: 0 or less lifts every timeout, and so does one too large to matter",
          arguments: ["-inf", "-0", "inf", "-1e-400"])
    func infiniteMultipliers(value: String) throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  slow:\n    run: sleep 0.4\n    timeout: 100ms\n"])
        let run = try boundedTestbed(["run", "--kill-grace", "1s", "-t", value, "."], in: tree.path).result
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try report(tree.path).outcome("/slow") == "pass")
    }

    @Test("-t 0.001, the smallest: a 10s timeout becomes 10ms, and the report says 10ms")
    func smallestMultiplier() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  slow:\n    run: sleep 2\n    timeout: 10s\n"])
        let run = try boundedTestbed(["run", "--kill-grace", "1s", "-t", "0.001", "."], in: tree.path).result
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(try report(tree.path).test("/slow")["reason"] as? String == "ran past its timeout of 10ms and was killed")
    }

    @Test("a requirement with digits that are not ASCII (full-width, Arabic-Indic): exit 65 naming file:line and the column, the fix in ASCII")
    func foreignDigits() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [\"kernel >= ６０\"]\n  b:\n    run: 'true'\n    requires: [kernel-٦.١+]\n",
            "t.sh": "#!/bin/sh\n# testbed-requires: qemu >= 8.２\nexit 0\n",
        ], executables: ["t.sh"])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 65)
        #expect(result.stderr == """
            testbed: error: testbed.yaml:4: test /a: invalid requirement "kernel >= ６０": `６` in value `６０` is not an ASCII digit at column 11; write versions \
            and numbers with the digits 0-9: `kernel >= 60`
            testbed: error: testbed.yaml:7: test /b: invalid requirement "kernel-٦.١+": `٦` in version `٦.١` is not an ASCII digit at column 8; write \
            versions with the digits 0-9: `kernel-6.1+`
            testbed: error: t.sh:2: test /t.sh: invalid requirement "qemu >= 8.２": `２` in value `8.２` is not an ASCII digit at column 11; write versions and \
            numbers with the digits 0-9: `qemu >= 8.2`

            """, "\(result.stderr)")
        // The same requirement in ASCII is met on any Linux host past 2.6.
        try tree.write("testbed.yaml", "tests:\n  a:\n    run: 'true'\n    requires: [\"kernel >= 2\"]\n")
        try FileManager.default.removeItem(atPath: tree["t.sh"])
        let ascii = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(ascii.status == 0 && ascii.stdout.contains("runnable (1)\n  /a\n"), "\(ascii.stdout)\(ascii.stderr)")
    }
}
