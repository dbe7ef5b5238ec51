import Foundation
import Testing
import TestSupport

/// The `-j` of a run, from its first stderr line (`…, -j 2`).
func jobs(of run: Result) -> Int? {
    guard let line = run.stderr.split(separator: "\n").first(where: { $0.hasPrefix("testbed: run ") }),
          let range = line.range(of: "-j ", options: .backwards) else { return nil }
    return Int(line[range.upperBound...].prefix { $0.isNumber })
}

@Suite("exit codes, -j, timeouts and dirty hosts as tools and habits expect", .serialized)
struct RunPolicyTests {
    // MARK: - git bisect run

    @Test("--exit-codes bisect: 125 whenever this commit cannot be tested", arguments: [
        // (testbed.yaml, standard exit, bisect exit)
        ("tests:\n  a:\n    run: 'true'\n    timeout: soon\n", Int32(65), Int32(125)),           // invalid declarations
        ("tests:\n  a:\n    run: 'true'\n    requires: [\"kernel >= 999\"]\n", 0, 125),         // every test unsupported
        ("tests:\n  a: 'exit 77'\n  b:\n    run: 'true'\n    requires: [\"kernel >= 999\"]\n", 0, 125), // skipped or unsupported
        ("setups:\n  s:\n    run: 'exit 1'\ntests:\n  a:\n    run: 'true'\n    setup: [s]\n", 2, 125),      // the lab failed
        ("tests:\n  a: 'exit 1'\n  b:\n    run: 'true'\n    requires: [\"kernel >= 999\"]\n", 1, 1), // bad
        ("tests:\n  a: 'true'\n  b:\n    run: 'true'\n    requires: [\"kernel >= 999\"]\n", 0, 0),   // good
    ])
    func bisect(suite: String, standard: Int32, bisect: Int32) throws {
        let tree = try TemporaryTree(["testbed.yaml": suite])
        let plain = try testbed(["run", "."], in: tree.path)
        #expect(plain.status == standard, "\(plain.stdout)\(plain.stderr)")
        let forBisect = try testbed(["run", ".", "--exit-codes", "bisect"], in: tree.path)
        #expect(forBisect.status == bisect, "\(forBisect.stdout)\(forBisect.stderr)")
    }

    @Test("--exit-codes bisect: an invalid environment file and an empty selection are 125 too")
    func bisectOtherCases() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n", "bad.yaml": "probe: maybe\n"])
        #expect(try testbed(["run", ".", "-e", "bad.yaml"], in: tree.path).status == 65)
        #expect(try testbed(["run", ".", "-e", "bad.yaml", "--exit-codes", "bisect"], in: tree.path).status == 125)
        #expect(try testbed(["run", ".", "--tag", "none", "--exit-codes", "bisect"], in: tree.path).status == 125)
    }

    // MARK: - -j

    @Test("the default -j is the CPUs this process may run on (its affinity mask), not the machine's",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset")))
    func defaultJobsFollowAffinity() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n"])
        let one = try testbed(["-c", "0", testbedBinary, "run", "."], in: tree.path, executable: "/usr/bin/taskset")
        #expect(one.status == 0, "\(one.stderr)")
        #expect(jobs(of: one) == 1, "\(one.stderr)")
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            let two = try testbed(["-c", "0,1", testbedBinary, "run", "."], in: tree.path, executable: "/usr/bin/taskset")
            #expect(jobs(of: two) == 2, "\(two.stderr)")
        }
        // -j given wins.
        let given = try testbed(["-c", "0", testbedBinary, "run", ".", "-j", "3"], in: tree.path, executable: "/usr/bin/taskset")
        #expect(jobs(of: given) == 3, "\(given.stderr)")
    }

    // MARK: - Timeouts

    @Test("timeout: 0 means no limit; a negative timeout is refused naming its line")
    func zeroTimeout() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  unlimited:\n    run: sleep 0.3\n    timeout: 0\n"])
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try report(tree.path).outcome("/unlimited") == "pass")

        let negative = try TemporaryTree(["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    timeout: -5s\n"])
        let refused = try testbed(["run", "."], in: negative.path)
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("testbed.yaml:4:"), "\(refused.stderr)")
        #expect(refused.stderr.contains("\"-5s\", not a duration"), "\(refused.stderr)")
    }

    @Test("--timeout-multiplier F (-t) stretches every timeout for slow hosts; 0 lifts them", arguments: [
        ([String](), "timeout"), (["--timeout-multiplier", "10"], "pass"), (["-t", "10"], "pass"), (["-t", "0"], "pass"),
        (["-t", "0.5"], "timeout"), (["-t", "-1"], "pass"),
    ])
    func timeoutMultiplier(extra: [String], outcome: String) throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  slow:\n    run: sleep 0.4\n    timeout: 200ms\n"])
        let run = try testbed(["run", ".", "--kill-grace", "1s"] + extra, in: tree.path)
        #expect(run.status == (outcome == "pass" ? 0 : 1), "\(run.stdout)\(run.stderr)")
        let r = try report(tree.path)
        #expect(r.outcome("/slow") == outcome)
        if extra == ["-t", "0.5"] {
            #expect((r.test("/slow")["reason"] as? String)?.contains("timeout of 100ms") == true, "\(r.test("/slow"))")
        }
    }

    // MARK: - Tests that dirty the host

    @Test("a dirties test is unsupported where no restore can clean up after it; --allow-dirty runs it")
    func dirtiesNeedsRestore() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  breaks-host:\n    run: 'true'\n    dirties: true\n  clean: 'true'\n",
            "with-restore.yaml": "restore: 'true'\n",
            "without-restore.yaml": "description: a lab host nobody restores\n",
        ])
        let reason = "it would leave this host dirty and the environment declares no restore"
        for environment in [[], ["-e", "without-restore.yaml"]] {
            let check = try testbed(["check", ".", "--json"] + environment, in: tree.path)
            let tests = try #require(try check.json()["tests"] as? [[String: Any]])
            let dirty = try #require(tests.first { $0["id"] as? String == "/breaks-host" })
            #expect(dirty["status"] as? String == "unsupported")
            let unmet = dirty["unmet"] as? [[String: Any]] ?? []
            #expect(unmet.contains { ($0["reason"] as? String)?.hasPrefix(reason) == true }, "\(unmet)")
            let run = try testbed(["run", "."] + environment, in: tree.path)
            #expect(run.status == 0)
            #expect(try report(tree.path).outcome("/breaks-host") == "unsupported")
        }
        let allowed = try testbed(["run", ".", "--allow-dirty"], in: tree.path)
        #expect(allowed.status == 0)
        #expect(try report(tree.path).outcome("/breaks-host") == "pass")
        let restored = try testbed(["run", ".", "-e", "with-restore.yaml"], in: tree.path)
        #expect(restored.status == 0)
        #expect(try report(tree.path).outcome("/breaks-host") == "pass")
    }

    @Test("a tiny timeout is a tiny limit, not none")
    func tinyTimeout() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a:\n    run: sleep 0.5\n    timeout: 0.0004\n"])
        let run = try testbed(["run", ".", "--kill-grace", "1s"], in: tree.path)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect((try report(tree.path).test("/a")["reason"] as? String)?.contains("timeout of 1ms") == true)
    }

    @Test("huge timeouts are refused naming the line, never a crash; a huge -t lifts the limits")
    func hugeTimeouts() throws {
        for timeout in ["99999999999999999999", "2562047788015215h", "11y"] {
            let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    timeout: \(timeout)\n"])
            let check = try testbed(["check", "."], in: tree.path)
            #expect(check.status == 65, "\(timeout): \(check.stderr)")
            #expect(check.stderr.contains("testbed.yaml:4: timeout of test /a is \"\(timeout)\", not a duration; write seconds (90)"),
                    "\(check.stderr)")
        }
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a:\n    run: sleep 0.3\n    timeout: 100ms\n"])
        let run = try testbed(["run", ".", "-t", "1e30"], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try report(tree.path).outcome("/a") == "pass")
    }

    @Test("--exit-codes bisect: a suite path or environment file that does not exist (at this commit) is 125, not 64")
    func bisectMissingInputs() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n"])
        for arguments in [["run", "no-such-suite"], ["run", ".", "-e", "no-such-env.yaml"]] {
            #expect(try testbed(arguments, in: tree.path).status == 64)
            let bisect = try testbed(arguments + ["--exit-codes", "bisect"], in: tree.path)
            #expect(bisect.status == 125, "\(arguments): \(bisect.stderr)")
            #expect(bisect.stderr.contains("does not exist"), "\(bisect.stderr)")
        }
        // A bad command line stops the bisection (128 and above), instead of marking every commit bad.
        for arguments in [["run", ".", "-j", "0"], ["run", ".", "--no-such-option"]] {
            #expect(try testbed(arguments, in: tree.path).status == 64)
            let bisect = try testbed(arguments + ["--exit-codes", "bisect"], in: tree.path)
            #expect(bisect.status == 128, "\(arguments): \(bisect.stderr)")
            #expect(bisect.stderr.contains("Usage: testbed run"), "\(bisect.stderr)")
        }
    }

    @Test("per-test setups do not pile up: with -j 1 each test's setup, the test and its teardown run in turn")
    func perTestSetupsInTurn() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              guest:
                run: echo "setup $TESTBED_TEST_ID" >> "$TESTBED_RUN_DIR/order"
                teardown: echo "teardown $TESTBED_TEST_ID" >> "$TESTBED_RUN_DIR/order"
                scope: test
            tests:
            """ + (1...4).map { "\n  t\($0):\n    run: echo \"test $TESTBED_TEST_ID\" >> \"$TESTBED_RUN_DIR/order\"\n    setup: [guest]" }.joined()
                + "\n  plain: 'true'\n",
        ])
        // First without history, then ordered by the first run's durations, then in plan order.
        for extra in [[], [], ["--plan-order"]] {
            let run = try testbed(["run", ".", "-j", "1"] + extra, in: tree.path)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let directory = try #require(try report(tree.path).run["directory"] as? String)
            let order = try String(contentsOfFile: directory + "/order", encoding: .utf8).split(separator: "\n").map(String.init)
            let tests = order.filter { $0.hasPrefix("test ") }.map { String($0.dropFirst(5)) }
            #expect(order == tests.flatMap { ["setup \($0)", "test \($0)", "teardown \($0)"] }, "\(order)")
            #expect(Set(tests) == ["/t1", "/t2", "/t3", "/t4"])
            if extra == ["--plan-order"] { #expect(tests == ["/t1", "/t2", "/t3", "/t4"]) }
        }
    }

    @Test("a test that dirties the host runs alone, and the restore runs before anything else")
    func dirtiesRunsAlone() throws {
        let body = #"test ! -e "$TESTBED_RUN_DIR/dirt" || { echo saw a dirty host; exit 1; }"#
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n" + (1...2).map {
                "  dirty\($0):\n    run: '\(body); touch \"$TESTBED_RUN_DIR/dirt\"; sleep 0.3'\n    dirties: true\n"
            }.joined() + (1...4).map { "  clean\($0): '\(body); sleep 0.2; \(body)'\n" }.joined(),
            "env.yaml": "restore: rm -f \"$TESTBED_RUN_DIR/dirt\"\n",
        ])
        let run = try testbed(["run", ".", "-j", "3", "-e", "env.yaml"], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(Set(try report(tree.path).outcomes.values) == ["pass"])
    }

    @Test("a closed output pipe (testbed run | head) loses text, not the run: teardowns run, the run completes")
    func closedPipe() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              s:
                run: 'true'
                teardown: touch "$TESTBED_RUN_DIR/torn-down"
            tests:
            """ + (1...20).map { "\n  t\($0):\n    run: echo output \($0)\n    setup: [s]" }.joined() + "\n",
        ])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: testbedBinary)
        process.arguments = ["run", ".", "-j", "1"]
        process.currentDirectoryURL = URL(fileURLWithPath: tree.path)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        try pipe.fileHandleForReading.close()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(process.terminationStatus)")
        let r = try report(tree.path)
        #expect(r.run["complete"] as? Bool == true)
        let directory = try #require(r.run["directory"] as? String)
        #expect(FileManager.default.fileExists(atPath: directory + "/torn-down"))
    }
}
