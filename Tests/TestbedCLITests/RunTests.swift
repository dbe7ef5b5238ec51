import Foundation
import Testing
import TestSupport

/// Starts the built binary without waiting for it.
func startTestbed(_ arguments: [String], in directory: String) throws -> (Process, TemporaryTree) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: testbedBinary)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var environment = ProcessInfo.processInfo.environment
    environment["NO_COLOR"] = "1"
    process.environment = environment
    let scratch = try TemporaryTree()
    _ = FileManager.default.createFile(atPath: scratch["out"], contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["out"]))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["out"]))
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return (process, scratch)
}

func pids(in file: String) -> [Int32] {
    ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(whereSeparator: \.isNewline).compactMap { Int32($0) }
}

/// The outcome, reason and blame of each test in `report --json`.
struct Reported {
    let json: [String: Any]
    var run: [String: Any] { json["run"] as? [String: Any] ?? [:] }
    var tests: [[String: Any]] { json["tests"] as? [[String: Any]] ?? [] }
    var setups: [[String: Any]] { json["setups"] as? [[String: Any]] ?? [] }
    /// Each test's outcome by id.
    var outcomes: [String: String] {
        Dictionary(tests.map { ($0["id"] as? String ?? "", $0["outcome"] as? String ?? "") }, uniquingKeysWith: { a, _ in a })
    }

    func test(_ id: String) -> [String: Any] { tests.first { $0["id"] as? String == id } ?? [:] }
    func outcome(_ id: String) -> String? { test(id)["outcome"] as? String }
    func setup(_ name: String, phase: String = "setup") -> [[String: Any]] {
        setups.filter { $0["name"] as? String == name && $0["phase"] as? String == phase }
    }
}

func report(_ directory: String, _ extra: [String] = []) throws -> Reported {
    let result = try testbed(["report", "--json"] + extra, in: directory)
    #expect(result.status == 0, "\(result.stderr)")
    return Reported(json: try result.json())
}

let infraSuite: [String: String] = [
    "testbed.yaml": """
    setups:
      image:
        run: echo fetched > "$TESTBED_RUN_DIR/image"; echo "IMAGE=$TESTBED_RUN_DIR/image" >> "$TESTBED_EXPORT"
        teardown: rm -f "$IMAGE"
        provides: ["image:alpine"]
      bridge:
        run: 'echo "connecting to 127.0.0.1:9"; echo "fetch failed: connection refused" >&2; exit 7'
        teardown: echo cleaned >> "$TESTBED_RUN_DIR/bridge-teardown"
      vm:
        run: 'true'
        after: [bridge]
    tests:
      uses-image:
        run: test "$(cat "$IMAGE")" = fetched
        requires: ["image:alpine"]
      behind-vm-1:
        run: 'true'
        setup: [vm]
      behind-vm-2:
        run: 'true'
        setup: [vm]
      independent: 'true'
    """,
]

@Suite("testbed run, end to end", .serialized)
struct RunTests {
    @Test("a failed setup is infrastructure: dependents blocked naming the root, independent tests pass, exit 2")
    func infrastructureFailure() throws {
        let tree = try TemporaryTree(infraSuite)
        let result = try testbed(["run", "."], in: tree.path)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("infrastructure failures (1)"))
        #expect(result.stdout.contains("setup bridge  failed  exit 7"))
        #expect(result.stdout.contains("| fetch failed: connection refused"), "the log tail is shown")
        #expect(result.stdout.contains("log: testbed-results/"))
        #expect(result.stdout.contains("blocked 2 tests: /behind-vm-1, /behind-vm-2"))
        #expect(!result.stdout.contains("test failures"))
        let r = try report(tree.path)
        #expect(r.outcome("/uses-image") == "pass")
        #expect(r.outcome("/independent") == "pass")
        for id in ["/behind-vm-1", "/behind-vm-2"] {
            #expect(r.outcome(id) == "blocked")
            #expect(r.test(id)["blocked_by"] as? String == "bridge", "the chain bridge -> vm -> test blames bridge")
        }
        #expect(r.setup("bridge").first?["outcome"] as? String == "failed")
        #expect(r.setup("vm").first?["outcome"] as? String == "blocked")
        #expect(r.setup("bridge", phase: "teardown").first?["outcome"] as? String == "ok", "a failed setup is torn down")
        #expect(FileManager.default.fileExists(atPath: tree["testbed-results/latest/bridge-teardown"]))
        #expect(r.setup("vm", phase: "teardown").isEmpty)
        #expect(r.run["exit_code"] as? Int == 2)
        #expect(r.run["complete"] as? Bool == true)
    }

    @Test("with a test failure besides, exit 3; bisect maps to 1, infrastructure alone to 125")
    func exitCodes() throws {
        var files = infraSuite
        files["more/testbed.yaml"] = "tests:\n  broken: 'echo assertion failed; exit 1'\n"
        let tree = try TemporaryTree(files)
        let both = try testbed(["run", "."], in: tree.path)
        #expect(both.status == 3)
        #expect(both.stdout.contains("test failures (1)\n  /more/broken  fail  exit 1: assertion failed"))
        #expect(try testbed(["run", ".", "--exit-codes", "bisect"], in: tree.path).status == 1)
        #expect(try testbed(["run", ".", "--exit-codes", "bisect", "--id", "/behind-vm-1"], in: tree.path).status == 125)
        #expect(try testbed(["run", ".", "--id", "/independent"], in: tree.path).status == 0)
        #expect(try testbed(["run", ".", "--id", "/more"], in: tree.path).status == 1)
        let none = try testbed(["run", ".", "--tag", "nothing"], in: tree.path)
        #expect(none.status == 4)
        #expect(none.stderr.contains("no tests selected"))
    }

    @Test("every outcome")
    func outcomes() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              fake-tool:
                run: 'true'
                provides: ["cmd:testbed-no-such-tool"]
            tests:
              pass: 'true'
              fail: 'echo expected 4 got 5; exit 1'
              signal: 'kill -SEGV $$'
              timeout:
                run: sleep 30
                timeout: 300ms
              not-found: no-such-command-anywhere --flag
              not-built: ./build/not-built-yet --flag
              not-found-in-shell-line: FOO=1 no-such-command-anywhere 2>&1 | cat
              exits-127: 'echo "guest aborted (abort())"; exit 127'
              exits-126: 'echo not executable, on purpose; exit 126'
              inner-missing: 'echo start; no-such-inner-command'
              sh-script: ./plain-script --flag
              env-missing: ./env-script
              skip: 'echo no hugepages here; exit 77'
              custom-skip:
                run: exit 4
                skip-code: 4
              unsupported:
                run: 'true'
                requires: ["kernel >= 999"]
              broken-promise:
                run: 'true'
                requires: ["cmd:testbed-no-such-tool"]
            """,
            "noexec.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n",
            "no-shebang.sh": "echo hi\n# testbed-tags: x\n",
            "bad-interpreter.sh": "#!/nonexistent/interpreter\n# testbed-tags: x\n",
            "plain-script": "test \"$1\" = --flag\n",
            "dos.sh": "#!/bin/sh\r\n# testbed-tags: x\r\nexit 0\r\n",
            "env-script": "#!/usr/bin/env testbed-no-such-interpreter\n",
        ], executables: ["no-shebang.sh", "bad-interpreter.sh", "plain-script", "env-script", "dos.sh"])
        // noexec.sh has a header but no x bit: it is not discovered; named outright it is an error.
        let result = try testbed(["run", ".", "--kill-grace", "1s"], in: tree.path)
        #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
        let r = try report(tree.path)
        let expected: [String: String] = [
            "/pass": "pass", "/fail": "fail", "/signal": "fail", "/timeout": "timeout", "/not-found": "error",
            "/not-built": "error", "/not-found-in-shell-line": "error", "/exits-127": "fail", "/exits-126": "fail",
            "/inner-missing": "fail", "/sh-script": "pass", "/env-missing": "error", "/dos.sh": "error",
            "/skip": "skip", "/custom-skip": "skip", "/unsupported": "unsupported", "/broken-promise": "blocked",
            "/no-shebang.sh": "error", "/bad-interpreter.sh": "error",
        ]
        for (id, outcome) in expected { #expect(r.outcome(id) == outcome, "\(id): \(r.test(id))") }
        #expect(r.test("/fail")["reason"] as? String == "exit 1: expected 4 got 5")
        #expect(r.test("/fail")["exit_status"] as? Int == 1)
        #expect(r.test("/signal")["signal"] as? Int == Int(SIGSEGV))
        #expect((r.test("/timeout")["reason"] as? String)?.contains("timeout of 300ms") == true)
        // `error` only when the program never started; a started one's 126/127 is its own verdict.
        #expect((r.test("/not-found")["reason"] as? String)?.hasPrefix("cannot start no-such-command-anywhere: it is not on PATH") == true)
        #expect((r.test("/not-built")["reason"] as? String)?.hasPrefix("cannot start ./build/not-built-yet: it does not exist in ") == true)
        #expect((r.test("/not-found-in-shell-line")["reason"] as? String)?.hasPrefix("cannot start no-such-command-anywhere") == true)
        #expect(r.test("/exits-127")["reason"] as? String == "exit 127: guest aborted (abort())")
        #expect(r.test("/exits-127")["exit_status"] as? Int == 127)
        #expect(r.test("/exits-126")["exit_status"] as? Int == 126)
        #expect(r.test("/inner-missing")["exit_status"] as? Int == 127)
        #expect((r.test("/inner-missing")["reason"] as? String)?.contains("no-such-inner-command") == true)
        #expect((r.test("/dos.sh")["reason"] as? String)?.hasSuffix("its #! line ends with a carriage return (DOS line endings); "
            + "convert the file with dos2unix") == true)
        #expect((r.test("/env-missing")["reason"] as? String)?.contains("its #! interpreter is missing: testbed-no-such-interpreter "
            + "(through /usr/bin/env) does not exist") == true)
        #expect((r.test("/skip")["reason"] as? String) == "skipped itself (exit 77): no hugepages here")
        #expect((r.test("/unsupported")["reason"] as? String)?.hasPrefix("needs kernel >= 999; this host has") == true)
        #expect(r.test("/broken-promise")["blocked_by"] as? String == "fake-tool")
        #expect((r.test("/broken-promise")["reason"] as? String)?.contains("setup fake-tool ran, but cmd:testbed-no-such-tool is still unmet: "
            + "testbed-no-such-tool is not on PATH") == true)
        #expect((r.test("/no-shebang.sh")["reason"] as? String)?.contains("no #! line") == true)
        #expect((r.test("/bad-interpreter.sh")["reason"] as? String)?.contains("interpreter is missing") == true)
        // Named outright, a file that is not executable is refused before anything runs.
        let named = try testbed(["run", tree["noexec.sh"], "--results", tree["named-results"]], in: tree.path)
        #expect(named.status == 65)
        #expect(named.stderr.contains("noexec.sh: is not executable, so it cannot run as a test; chmod +x it"))
        #expect(!FileManager.default.fileExists(atPath: tree["named-results"]))
    }

    @Test("-j 1, -j1 and --jobs 1 run one test at a time", arguments: [["-j", "1"], ["-j1"], ["--jobs", "1"]])
    func oneAtATime(jobs: [String]) throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n" + (1...3).map {
            "  t\($0): echo start >> \"$TESTBED_RUN_DIR/order\"; sleep 0.1; echo end >> \"$TESTBED_RUN_DIR/order\"\n"
        }.joined()])
        let result = try testbed(["run", "."] + jobs, in: tree.path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let order = try String(contentsOfFile: tree["testbed-results/latest/order"], encoding: .utf8)
        #expect(order == String(repeating: "start\nend\n", count: 3))
    }

    @Test("-j3 runs three tests at once: each waits until all three have started")
    func threeAtOnce() throws {
        // A barrier, not a timing guess: with fewer than 3 at once, the first waits 30 s and fails.
        let wait = "echo x >> \"$TESTBED_RUN_DIR/started\"; i=0; "
            + "while [ \"$(wc -l < \"$TESTBED_RUN_DIR/started\")\" -lt 3 ]; do i=$((i+1)); [ $i -lt 3000 ] || exit 1; sleep 0.01; done"
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n" + (1...3).map { "  t\($0): '\(wait)'\n" }.joined()])
        let result = try testbed(["run", ".", "-j3"], in: tree.path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test("a shared setup runs once and its teardown once, after the last test; per-test setups wrap each test")
    func setupCounts() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              shared:
                run: echo run >> "$TESTBED_RUN_DIR/shared.count"
                teardown: echo teardown >> "$TESTBED_RUN_DIR/shared.count"
              each:
                run: echo "setup $TESTBED_TEST_ID" >> "$TESTBED_RUN_DIR/each.log"
                teardown: echo "teardown $TESTBED_TEST_ID" >> "$TESTBED_RUN_DIR/each.log"
                scope: test
                after: [shared]
            tests:
            """ + (1...6).map {
                "\n  t\($0):\n    run: echo \"test $TESTBED_TEST_ID\" >> \"$TESTBED_RUN_DIR/each.log\"; "
                    + "echo test >> \"$TESTBED_RUN_DIR/shared.count\"\n    setup: [each]"
            }.joined(),
        ])
        let result = try testbed(["run", ".", "-j", "3"], in: tree.path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let shared = try String(contentsOfFile: tree["testbed-results/latest/shared.count"], encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(shared.first == "run")
        #expect(shared.last == "teardown")
        #expect(shared.filter { $0 == "run" }.count == 1)
        #expect(shared.filter { $0 == "teardown" }.count == 1)
        #expect(shared.filter { $0 == "test" }.count == 6)
        let each = try String(contentsOfFile: tree["testbed-results/latest/each.log"], encoding: .utf8).split(separator: "\n").map(String.init)
        for n in 1...6 {
            let setup = try #require(each.firstIndex(of: "setup /t\(n)"))
            let test = try #require(each.firstIndex(of: "test /t\(n)"))
            let teardown = try #require(each.firstIndex(of: "teardown /t\(n)"))
            #expect(setup < test && test < teardown)
            #expect(each.filter { $0 == "setup /t\(n)" }.count == 1)
        }
    }

    @Test("a test whose child ignores SIGTERM times out, the run goes on, and no process of it survives")
    func timeoutKillsGroup() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            tests:
              stubborn:
                run: 'sh -c "trap \\"\\" TERM; echo \\$\\$ >> \\"$TESTBED_OUTPUT_DIR/pids\\"; sleep 300" & echo $$ >> "$TESTBED_OUTPUT_DIR/pids"; sleep 300'
                timeout: 500ms
              escaper:
                run: 'setsid sh -c "echo \\$\\$ >> \\"$TESTBED_OUTPUT_DIR/pids\\"; exec sleep 300" & until [ -s "$TESTBED_OUTPUT_DIR/pids" ]; do sleep 0.01; \
            done; exit 0'
              after: 'true'
            """,
        ])
        let result = try testbed(["run", ".", "--kill-grace", "300ms", "-j", "1"], in: tree.path)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let r = try report(tree.path)
        #expect(r.outcome("/stubborn") == "timeout")
        #expect(r.outcome("/escaper") == "pass")
        #expect(r.outcome("/after") == "pass")
        let stubborn = pids(in: tree["testbed-results/latest/tests/stubborn/pids"])
        let escaped = pids(in: tree["testbed-results/latest/tests/escaper/pids"])
        #expect(stubborn.count == 2)
        #expect(escaped.count == 1)
        for pid in stubborn + escaped {
            #expect(isGone(pid), "process \(pid) outlived its test")
            if !isGone(pid) { kill(pid, SIGKILL) }
        }
    }

    @Test("kill -9 mid-run: finished results are readable and the run is marked incomplete")
    func killed() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            tests:
              a: 'true'
              b: 'true'
              slow:
                run: 'echo $$ > "$TESTBED_RUN_DIR/slow.pid"; exec sleep 300'
            """,
        ])
        let (process, output) = try startTestbed(["run", ".", "-j", "3"], in: tree.path)
        let started = eventually {
            guard FileManager.default.fileExists(atPath: tree["testbed-results/latest/slow.pid"]) else { return false }
            let r = try? testbed(["report", "--json"], in: tree.path).json()
            let tests = r?["tests"] as? [[String: Any]] ?? []
            return tests.filter { $0["outcome"] as? String == "pass" }.count == 2
        }
        #expect(started, "\((try? String(contentsOfFile: output["out"], encoding: .utf8)) ?? "")")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        for pid in pids(in: tree["testbed-results/latest/slow.pid"]) { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
        let r = try report(tree.path)
        #expect(r.run["complete"] as? Bool == false)
        #expect(r.run["finished"] == nil)
        #expect(r.outcome("/a") == "pass")
        #expect(r.outcome("/b") == "pass")
        #expect(r.outcome("/slow") == "interrupted")
        let text = try testbed(["report"], in: tree.path)
        #expect(text.stdout.contains("incomplete: testbed stopped before the run finished"))
    }

    @Test("SIGINT mid-run: exit 130, teardowns ran, finished results kept")
    func interrupted() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              env:
                run: 'true'
                teardown: echo torn down > "$TESTBED_RUN_DIR/teardown.done"
            tests:
              quick:
                run: 'true'
                setup: [env]
              slow:
                run: 'touch "$TESTBED_RUN_DIR/slow.started"; sleep 300'
                setup: [env]
              later:
                run: 'true'
                setup: [env]
            """,
        ])
        let (process, output) = try startTestbed(["run", ".", "-j", "1", "--kill-grace", "1s"], in: tree.path)
        #expect(eventually { FileManager.default.fileExists(atPath: tree["testbed-results/latest/slow.started"]) })
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130, "\((try? String(contentsOfFile: output["out"], encoding: .utf8)) ?? "")")
        #expect(FileManager.default.fileExists(atPath: tree["testbed-results/latest/teardown.done"]))
        let r = try report(tree.path)
        #expect(r.outcome("/quick") == "pass")
        #expect(r.outcome("/slow") == "interrupted")
        #expect(r.outcome("/later") == "interrupted")
        #expect(r.run["interrupted"] as? Bool == true)
        #expect(r.setup("env", phase: "teardown").first?["outcome"] as? String == "ok")
    }

    @Test("a second SIGINT kills at once, slow teardowns included")
    func secondInterrupt() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              env:
                run: 'true'
                teardown: 'echo $$ > "$TESTBED_RUN_DIR/teardown.pid"; exec sleep 300'
            tests:
              slow:
                run: 'touch "$TESTBED_RUN_DIR/slow.started"; exec sleep 300'
                setup: [env]
            """,
        ])
        let (process, _) = try startTestbed(["run", ".", "--kill-grace", "300ms"], in: tree.path)
        #expect(eventually { FileManager.default.fileExists(atPath: tree["testbed-results/latest/slow.started"]) })
        kill(process.processIdentifier, SIGINT)
        #expect(eventually { FileManager.default.fileExists(atPath: tree["testbed-results/latest/teardown.pid"]) },
                "the first interrupt lets the teardown start")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        for pid in pids(in: tree["testbed-results/latest/teardown.pid"]) {
            #expect(eventually(within: 5) { isGone(pid) }, "the teardown was killed")
            if !isGone(pid) { kill(pid, SIGKILL) }
        }
        let r = try report(tree.path)
        #expect(r.outcome("/slow") == "interrupted")
        #expect(r.setup("env", phase: "teardown").first?["outcome"] as? String == "interrupted")
    }

    @Test("two runs on the same results directory at once both succeed")
    func concurrentRuns() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n" + (1...20).map { "  t\($0): 'sleep 0.05'\n" }.joined(),
        ])
        let (first, _) = try startTestbed(["run", "."], in: tree.path)
        let (second, _) = try startTestbed(["run", "."], in: tree.path)
        first.waitUntilExit()
        second.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect(second.terminationStatus == 0)
        let list = try testbed(["report", "--list"], in: tree.path)
        #expect(list.stdout.split(separator: "\n").count == 2)
        #expect(list.stdout.split(separator: "\n").allSatisfy { $0.hasSuffix("exit 0") })
    }

    @Test("exclusive tests run alone; dirties runs the environment's restore")
    func exclusiveAndRestore() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n" + (1...4).map {
                "  t\($0): 'echo start t\($0) >> \"$TESTBED_RUN_DIR/order\"; sleep 0.2; echo end t\($0) >> \"$TESTBED_RUN_DIR/order\"'\n"
            }.joined() + """
              alone:
                run: 'echo start alone >> "$TESTBED_RUN_DIR/order"; sleep 0.2; echo end alone >> "$TESTBED_RUN_DIR/order"'
                exclusive: true
                dirties: true
            """,
            "env.yaml": "restore: echo restore >> \"$TESTBED_RUN_DIR/order\"\n",
        ])
        let result = try testbed(["run", ".", "-j", "4", "-e", "env.yaml"], in: tree.path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let order = try String(contentsOfFile: tree["testbed-results/latest/order"], encoding: .utf8).split(separator: "\n").map(String.init)
        let start = try #require(order.firstIndex(of: "start alone"))
        #expect(order[start + 1] == "end alone", "nothing ran beside the exclusive test: \(order)")
        #expect(order[start + 2] == "restore", "restore right after the test that dirties: \(order)")
        let r = try report(tree.path)
        #expect(r.setup("restore", phase: "restore").first?["outcome"] as? String == "ok")
    }

    @Test("--halt-on-infra launches nothing new after an infrastructure failure")
    func halt() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              broken:
                run: exit 1
            tests:
              first:
                run: 'true'
                setup: [broken]
              second: 'true'
              third: 'true'
            """,
        ])
        let result = try testbed(["run", ".", "-j", "1", "--halt-on-infra"], in: tree.path)
        #expect(result.status == 2)
        let r = try report(tree.path)
        #expect(r.outcome("/first") == "blocked")
        #expect(r.outcome("/second") == "interrupted")
        #expect((r.test("/third")["reason"] as? String)?.contains("--halt-on-infra") == true)
        #expect(r.run["halted_by"] as? String == "broken")
    }

    @Test("run --json prints the report; test ids cannot escape the results directory")
    func jsonAndPaths() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  \"a b/c%d\": 'echo x > \"$TESTBED_OUTPUT_DIR/out\"'\n  \"~weird\": 'true'\n",
        ])
        let result = try testbed(["run", ".", "--json"], in: tree.path)
        #expect(result.status == 0)
        let json = try result.json()
        let tests = try #require(json["tests"] as? [[String: Any]])
        #expect(tests.map { $0["id"] as? String } == ["/a b/c%d", "/~weird"])
        let runDirectory = try #require((json["run"] as? [String: Any])?["directory"] as? String)
        #expect(FileManager.default.fileExists(atPath: runDirectory + "/tests/a%20b~c%25d/out"))
        #expect(FileManager.default.fileExists(atPath: runDirectory + "/tests/%7Eweird/output.log"))
        #expect(FileManager.default.fileExists(atPath: runDirectory + "/report.json"))
        #expect(FileManager.default.fileExists(atPath: runDirectory + "/junit.xml"))
    }

    @Test("JUnit output is accepted by junitparser; TAP by prove")
    func consumers() throws {
        var files = infraSuite
        files["more/testbed.yaml"] = "tests:\n  broken: 'exit 1'\n  skipped: 'exit 77'\n  'odd <&\"> #id': 'true'\n"
        let tree = try TemporaryTree(files)
        _ = try testbed(["run", "."], in: tree.path)
        let junit = try testbed(["report", "--junit"], in: tree.path)
        try junit.stdout.write(toFile: tree["junit.xml"], atomically: true, encoding: .utf8)
        // Debian's python3-junitparser (what .ci/run installs), else a python3 on PATH that has it.
        var python = "python3"
        if FileManager.default.fileExists(atPath: "/usr/bin/python3"),
           try run("/usr/bin/python3", ["-c", "import junitparser"]).status == 0 {
            python = "/usr/bin/python3"
        }
        let parsed = try run("/usr/bin/env", [python, "-c", """
            import sys
            from junitparser import JUnitXml, Error, Failure, Skipped
            xml = JUnitXml.fromfile(sys.argv[1])
            for suite in xml:
                for case in suite:
                    kinds = [type(r).__name__ + ":" + (r.message or "") for r in case.result]
                    print(suite.name, "|", case.name, "|", ",".join(kinds))
            """, tree["junit.xml"]])
        #expect(parsed.status == 0, "junitparser: \(parsed.output)")
        let lines = parsed.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("testbed.local | /independent | "))
        #expect(lines.contains { $0.hasPrefix("testbed.local | /behind-vm-1 | Error:blocked by setup bridge") })
        #expect(lines.contains("testbed.local | /more/broken | Failure:exit 1"))
        #expect(lines.contains { $0.hasPrefix("testbed.local | /more/skipped | Skipped:skip") })
        #expect(lines.contains("testbed.local | /more/odd <&\"> #id | "))
        #expect(lines.contains { $0.hasPrefix("testbed.setups | bridge | Error:infrastructure failure") })

        let tap = try testbed(["report", "--tap"], in: tree.path)
        try tap.stdout.write(toFile: tree["report.tap"], atomically: true, encoding: .utf8)
        let prove = try run("/usr/bin/env", ["prove", "--exec", "cat", tree["report.tap"]])
        #expect(prove.output.contains("Failed 3/7 subtests"), "prove: \(prove.output)")
        #expect(!prove.output.contains("Parse errors"), "prove: \(prove.output)")
        #expect(prove.status != 0, "prove fails a run with failures")
    }
}

/// Runs a helper program and returns its combined output.
func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let scratch = try TemporaryTree()
    _ = FileManager.default.createFile(atPath: scratch["out"], contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["out"]))
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    try handle.close()
    return (process.terminationStatus, (try? String(contentsOfFile: scratch["out"], encoding: .utf8)) ?? "")
}
