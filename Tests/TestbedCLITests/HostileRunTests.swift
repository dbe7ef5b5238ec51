import Foundation
import Testing
import TestSupport

/// Runs the binary and waits with wait4: the exit status and its peak RSS in KiB.
func testbedMeasured(_ arguments: [String], in directory: String) throws -> (status: Int32, peakKiB: Int) {
    var pid: pid_t = 0
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    // env -C changes directory, then execs testbed in the same process.
    let words = ["/usr/bin/env", "-C", directory, testbedBinary] + arguments
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    let rc = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
    try #require(rc == 0)
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    return ((status >> 8) & 0xFF, usage.ru_maxrss)
}

@Suite("hostile tests and hosts: exact outcomes, nothing lost", .serialized)
struct HostileRunTests {
    @Test("a test that prints binary garbage: its failure reason and every report stay valid")
    func garbage() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              noise: "head -c 65536 /dev/urandom; printf '\\\\377\\\\376\\\\000\\\\033[31m<&>\\\\n'; exit 3"
            """])
        let run = try testbed(["run", "--json", "."], in: tree.path)
        #expect(run.status == 1, "\(run.stderr)")
        let json = try run.json()
        let test = try #require((json["tests"] as? [[String: Any]])?.first)
        #expect(test["outcome"] as? String == "fail")
        #expect((test["reason"] as? String)?.hasPrefix("exit 3") == true)
        for format in ["--junit", "--tap"] {
            let report = try testbed(["report", format], in: tree.path)
            #expect(report.status == 0)
            #expect(report.stdout.contains("noise"))
            #expect(!report.stdout.contains("\u{1B}"), "escape bytes must not reach \(format)")
        }
        let log = try Data(contentsOf: URL(fileURLWithPath: tree["testbed-results/latest/tests/noise/output.log"]))
        #expect(log.count >= 65536)
    }

    @Test("a test that prints 1 GiB: it passes, the log holds all of it, Testbed's memory stays flat")
    func gigabyte() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  big: 'head -c 1073741824 /dev/zero'\n  small: 'true'\n"])
        let big = try testbedMeasured(["run", "-q", "--id", "/big", "."], in: tree.path)
        #expect(big.status == 0)
        let small = try testbedMeasured(["run", "-q", "--id", "/small", "."], in: tree.path)
        #expect(small.status == 0)
        // Two runs in one second have ids that do not sort by time: find the one that ran /big.
        let runs = try FileManager.default.contentsOfDirectory(atPath: tree["testbed-results"]).filter { $0.hasPrefix("20") }
        let bigRun = try #require(runs.first { FileManager.default.fileExists(atPath: tree["testbed-results/\($0)/tests/big"]) })
        let bigLog = try FileManager.default.attributesOfItem(atPath: tree["testbed-results/\(bigRun)/tests/big/output.log"])
        #expect((bigLog[.size] as? Int) == 1 << 30)
        #expect(big.peakKiB - small.peakKiB < 50 * 1024, "1 GiB of output cost \(big.peakKiB - small.peakKiB) KiB")
    }

    @Test("a test that closes stdout and stderr and keeps running is waited for, not taken for finished")
    func closesOutput() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  quiet: 'exec >&- 2>&-; sleep 0.5; exit 0'\n"])
        let run = try testbed(["run", "--json", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        let test = try #require((try run.json()["tests"] as? [[String: Any]])?.first)
        #expect(test["outcome"] as? String == "pass")
        #expect((test["duration"] as? Double ?? 0) >= 0.45)
    }

    @Test("a test that forks a daemon and exits 0 passes, and the daemon does not outlive it")
    func daemon() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              forks: 'sleep 300 & echo $! > "$TESTBED_OUTPUT_DIR/daemon"; exit 0'
              detaches: 'setsid sh -c "echo \\$\\$ > \\"$TESTBED_OUTPUT_DIR/daemon\\"; exec sleep 300" & until [ -s "$TESTBED_OUTPUT_DIR/daemon" ]; do sleep \
            0.01; done'
            """])
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        for id in ["forks", "detaches"] {
            let pids = pids(in: tree["testbed-results/latest/tests/\(id)/daemon"])
            #expect(pids.count == 1)
            for pid in pids { #expect(isGone(pid), "the daemon of \(id) (pid \(pid)) outlived its test") }
        }
    }

    @Test("a test that ignores SIGTERM times out, is killed after the grace, and the run goes on")
    func ignoresTerm() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              stubborn:
                run: 'trap "" TERM; echo $$ > "$TESTBED_OUTPUT_DIR/pid"; while :; do sleep 0.05; done'
                timeout: 1s
              after: 'true'
            """])
        let start = Date()
        let run = try testbed(["run", "--json", "--kill-grace", "0.5s", "-j", "1", "--plan-order", "."], in: tree.path)
        #expect(run.status == 1)
        #expect(Date().timeIntervalSince(start) < 20)
        let result = Reported(json: try run.json()).outcomes
        #expect(result == ["/stubborn": "timeout", "/after": "pass"])
        for pid in pids(in: tree["testbed-results/latest/tests/stubborn/pid"]) { #expect(isGone(pid)) }
    }

    @Test("a test that execs into another program is followed to its end")
    func execs() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  hop: 'exec sh -c \"sleep 0.3; exit 7\"'\n"])
        let run = try testbed(["run", "--json", "."], in: tree.path)
        #expect(run.status == 1)
        let test = try #require((try run.json()["tests"] as? [[String: Any]])?.first)
        #expect(test["outcome"] as? String == "fail")
        #expect((test["reason"] as? String)?.hasPrefix("exit 7") == true)
        #expect((test["duration"] as? Double ?? 0) >= 0.25)
    }

    @Test("exported values arrive as literal text: $(rm -rf ~) is never run")
    func literalExports() throws {
        let tree = try TemporaryTree([
            "home/canary": "still here\n",
            "testbed.yaml": """
                setups:
                  evil:
                    run: |
                      printf '%s\\n' 'KEY=$(rm -rf ~)' 'OTHER=`touch $HOME/pwned`; $HOME' >> "$TESTBED_EXPORT"
                tests:
                  reads:
                    run: 'printf "%s|%s" "$KEY" "$OTHER" > "$TESTBED_OUTPUT_DIR/seen"'
                    setup: [evil]
                """,
        ])
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = tree["home"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: testbedBinary)
        process.arguments = ["run", "-q", "."]
        process.currentDirectoryURL = URL(fileURLWithPath: tree.path)
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: tree["home/canary"]))
        #expect(!FileManager.default.fileExists(atPath: tree["home/pwned"]))
        let seen = try String(contentsOfFile: tree["testbed-results/latest/tests/reads/seen"], encoding: .utf8)
        #expect(seen == "$(rm -rf ~)|`touch $HOME/pwned`; $HOME")
    }

    @Test("ids with spaces, %, ~ and dots keep every file inside the results directory")
    func hostileIDs() throws {
        // (`..` and `.` as id parts are refused when the suite loads: HostileDeclarationTests.)
        let tree = try TemporaryTree(["suite/testbed.yaml": """
            tests:
              "with space/and%percent": 'echo x > "$TESTBED_OUTPUT_DIR/f"'
              "dots..inside/x.": 'echo x > "$TESTBED_OUTPUT_DIR/f"'
              "~tilde/%2E%2E": 'echo x > "$TESTBED_OUTPUT_DIR/f"'
            """])
        let run = try testbed(["run", "--results", "results", "suite"], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        let outcomes = try report(tree.path, ["--results", "results"]).outcomes
        #expect(outcomes.count == 3)
        #expect(outcomes.values.allSatisfy { $0 == "pass" }, "\(outcomes)")
        // Nothing but the results and the suite at the top of the tree; every output file below tests/.
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: tree.path)) == ["suite", "results"])
        let files = FileManager.default.enumerator(atPath: tree["results"])?.compactMap { $0 as? String }.filter { $0.hasSuffix("/f") } ?? []
        #expect(files.count == 3, "\(files)")
        #expect(files.allSatisfy { $0.split(separator: "/").count == 4 && $0.split(separator: "/")[1] == "tests" }, "\(files)")
    }

    @Test("a drop-in whose file name is not UTF-8 is an error naming it, not a test that silently vanishes")
    func nonUTF8Name() throws {
        let tree = try TemporaryTree(["suite/ok.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n"], executables: ["suite/ok.sh"])
        var bytes = Array((tree["suite"] + "/bad").utf8) + [0xFF, 0xFE, 0]
        let fd = bytes.withUnsafeMutableBufferPointer {
            open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_WRONLY | O_CREAT, 0o755)
        }
        try #require(fd >= 0)
        let script = "#!/bin/sh\n# testbed-tags: odd\nexit 0\n"
        _ = script.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        for command in ["check", "run"] {
            let result = try testbed([command, "suite"], in: tree.path)
            #expect(result.status == 65)
            #expect(result.stderr.contains("testbed: error: suite/bad\u{FFFD}\u{FFFD}: the name is not valid UTF-8, "
                + "so it cannot become a test id; rename it"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: tree["testbed-results"]))
    }

    @Test("a read-only results directory: exit 2 before anything runs, saying so")
    func readOnlyResults() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  t: 'touch ran'\n"])
        try tree.directory("ro")
        let mounted = geteuid() == 0 && mountTmpfs(tree["ro"], options: "ro,size=1m")
        if !mounted { try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: tree["ro"]) }
        defer { if mounted { unmount(tree["ro"]) } }
        if !mounted && geteuid() == 0 { return }  // root ignores permissions and cannot mount here: nothing to test
        for results in ["ro", "ro/sub"] {
            let run = try testbed(["run", "--results", results, "."], in: tree.path)
            #expect(run.status == 2)
            #expect(run.stderr.contains("testbed: error: results directory \(results) is not writable"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: tree["ran"]))
        }
    }

    @Test("a corrupt testbed.sqlite: run and report stop with the file named and the fix")
    func corruptDatabase() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  t: 'touch ran'\n",
                                      "testbed-results/testbed.sqlite": String(repeating: "not a database ", count: 500)])
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 2)
        #expect(run.stderr.contains("testbed-results/testbed.sqlite: file is not a database; move it aside"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tree["ran"]))
        let report = try testbed(["report"], in: tree.path)
        #expect(report.status == 66)
        #expect(report.stderr.contains("file is not a database"))
    }

    @Test("results on a full filesystem: a clear error at the start, or warnings and every result that fit")
    func fullFilesystem() throws {
        guard geteuid() == 0 else { return }  // needs a small tmpfs
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  t: 'true'\n"])
        try tree.directory("small")
        guard mountTmpfs(tree["small"], options: "size=256k") else { return }
        defer { unmount(tree["small"]) }
        // Full from the start.
        FileManager.default.createFile(atPath: tree["small/fill"], contents: nil)
        let fill = try FileHandle(forWritingTo: URL(fileURLWithPath: tree["small/fill"]))
        while (try? fill.write(contentsOf: Data(count: 4096))) != nil {}
        try? fill.close()
        let full = try testbed(["run", "--results", "small/results", "."], in: tree.path)
        #expect(full.status == 2)
        #expect(full.stderr.contains("is full; free some space"), "\(full.stderr)")
        // Full during the run: the test that fills it passes, later ones still get rows or warnings, no crash.
        try FileManager.default.removeItem(atPath: tree["small/fill"])
        try tree.write("testbed.yaml", "tests:\n  fill: 'head -c 1000000 /dev/zero > \"$TESTBED_OUTPUT_DIR/blob\"; true'\n  after: 'echo hello'\n")
        let during = try testbed(["run", "-j", "1", "--plan-order", "--results", "small/results", "."], in: tree.path)
        // /after cannot write its output either (echo fails): the disk's fault, not the
        // code's, so it is blocked by the results disk (FullResultsDiskTests), and the lost
        // results are an infrastructure failure too: exit 2, and the summary says it all.
        #expect(during.status == 2, "\(during.stderr)")
        #expect(during.stdout.contains("1 passed, 1 blocked by infrastructure"), "\(during.stdout)")
        #expect(during.stderr.contains("testbed: warning: cannot record results in"), "\(during.stderr)")
        // Lost: the run's end (an error), or, when the database's log had room for some of them, the records that did not fit (a note).
        let lost = during.stderr.contains("could not be written to small/results (database or disk is full)")
            || during.stdout.contains("of this run could not be written (database or disk is full)")
        #expect(lost, "\(during.stdout)\(during.stderr)")
        #expect(!during.stderr.contains("Fatal error"))
    }

    @Test("testbed report on an empty results directory exits 66 and says what to do")
    func emptyReport() throws {
        let tree = try TemporaryTree()
        try tree.directory("results")
        let report = try testbed(["report", "--results", "results"], in: tree.path)
        #expect(report.status == 66)
        #expect(report.stderr.contains("no runs recorded in results yet; run `testbed run` first"))
    }

    @Test("a setup that hangs times out as infrastructure; its tests are blocked, others pass")
    func hangingSetup() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              hang:
                run: 'sleep 300'
                timeout: 1s
            tests:
              behind: {run: 'true', setup: [hang]}
              free: 'true'
            """])
        let run = try testbed(["run", "--json", "--kill-grace", "0.2s", "."], in: tree.path)
        #expect(run.status == 2)
        let json = try run.json()
        #expect(Reported(json: json).outcomes == ["/behind": "blocked", "/free": "pass"])
        let setup = try #require((json["setups"] as? [[String: Any]])?.first)
        #expect(setup["outcome"] as? String == "timeout")
    }

    @Test("a setup whose export file is not KEY=VALUE fails as infrastructure, naming the line")
    func badExports() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              bad:
                run: 'echo "no equals sign here" >> "$TESTBED_EXPORT"'
            tests:
              behind: {run: 'true', setup: [bad]}
            """])
        let run = try testbed(["run", "--json", "."], in: tree.path)
        #expect(run.status == 2)
        let setup = try #require((try run.json()["setups"] as? [[String: Any]])?.first)
        #expect(setup["outcome"] as? String == "failed")
        let reason = try testbed(["report"], in: tree.path).stdout
        #expect(reason.contains("line 1"), "\(reason)")
    }

    @Test("a test that kills its own process group fails with the signal; the run goes on")
    func killsItsGroup() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  suicide: 'kill -KILL 0'\n  next: 'true'\n"])
        let run = try testbed(["run", "--json", "-j", "1", "."], in: tree.path)
        #expect(run.status == 1)
        let json = try run.json()
        #expect(Reported(json: json).outcomes == ["/suicide": "fail", "/next": "pass"])
        let test = (json["tests"] as? [[String: Any]])?.first { $0["id"] as? String == "/suicide" }
        #expect((test?["reason"] as? String)?.contains("SIGKILL") == true)
    }
}

/// Mounts a tmpfs (root only); false when that is not possible here.
func mountTmpfs(_ path: String, options: String) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/mount")
    process.arguments = ["-t", "tmpfs", "-o", options, "tmpfs", path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// Whether this machine lets the tests mount a small tmpfs (root, and a
/// container that allows mounts): tried once.
let tmpfsMountable: Bool = {
    guard geteuid() == 0, let tree = try? TemporaryTree() else { return false }
    guard (try? tree.directory("probe")) != nil, mountTmpfs(tree["probe"], options: "size=64k") else { return false }
    unmount(tree["probe"])
    return true
}()

func unmount(_ path: String) {
    _ = umount2(path, Int32(MNT_DETACH))
}
