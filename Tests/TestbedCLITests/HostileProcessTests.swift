import Foundation
import Testing
import TestSupport

/// Issue 14, "Testbed's own limits blamed on tests" (descriptors), "Signals
/// and pipes" and "Escapes from the process tree": the built binary against
/// a low descriptor limit, a reader that goes away, Ctrl-C during a restore
/// or a check, processes that shed their tag and group, and a killed guard.
@Suite("hostile process trees, limits, pipes and signals", .serialized)
struct HostileProcessTests {
    // MARK: - Descriptors

    /// `n` tests that each sleep a while, so that all of them run at once.
    func sleepSuite(_ count: Int, seconds: String) -> [String: String] {
        ["testbed.yaml": "tests:\n" + (1...count).map { "  t\($0): 'sleep \(seconds)'\n" }.joined()]
    }

    /// Runs testbed under `/bin/sh -c 'LIMITS; exec testbed ARGS'`.
    func testbed(limits: String, _ arguments: [String], in directory: String) throws -> Result {
        try TestbedCLITests.testbed(["-c", "\(limits); exec \"$0\" \"$@\"", testbedBinary] + arguments, in: directory,
                                    executable: "/bin/sh")
    }

    func hardLimit() -> Int {
        var limit = rlimit()
        _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        return limit.rlim_max > rlim_t(Int.max) ? Int.max : Int(limit.rlim_max)
    }

    @Test("300 tests at once under a soft limit of 256: the soft limit is raised for them; every test passes")
    func lowSoftLimit() throws {
        let tree = try TemporaryTree(sleepSuite(300, seconds: "0.5"))
        let run = try testbed(limits: "ulimit -Sn 256", ["run", "-q", "-j", "300", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stderr.contains("Too many open files"))
        let r = try report(tree.path)
        #expect(r.tests.count == 300)
        #expect(Set(r.outcomes.values) == ["pass"], "\(r.tests.filter { $0["outcome"] as? String != "pass" }.prefix(3))")
        if hardLimit() >= 4096 {
            // Room for all of them: nothing is lowered.
            #expect(!run.stderr.contains("lowered"), "\(run.stderr)")
            #expect(run.stderr.contains(": 300 tests, -j 300\n"), "\(run.stderr)")
        }
    }

    @Test("300 tests at once under a hard limit of 256: -j is lowered with one line; every test passes")
    func lowHardLimit() throws {
        let tree = try TemporaryTree(sleepSuite(300, seconds: "0.2"))
        let run = try testbed(limits: "ulimit -Sn 256; ulimit -Hn 256", ["run", "-q", "-j", "300", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n").filter { $0.contains("lowered") }
        #expect(lines.count == 1, "\(run.stderr)")
        let line = String(lines.first ?? "")
        #expect(line.hasPrefix("testbed: -j 300 lowered to ") && line.hasSuffix(": 256 file descriptors (ulimit -Hn)"), "\(line)")
        // 256 less what is open at start and a margin of 48, four descriptors a step.
        let jobs = Int(line.dropFirst("testbed: -j 300 lowered to ".count).prefix { $0.isNumber }) ?? 0
        #expect((40...52).contains(jobs), "\(line)")
        #expect(run.stderr.contains(": 300 tests, -j \(jobs)\n"), "the run header shows what runs: \(run.stderr)")
        let r = try report(tree.path)
        #expect(r.tests.count == 300)
        #expect(Set(r.outcomes.values) == ["pass"], "\(r.tests.filter { $0["outcome"] as? String != "pass" }.prefix(3))")
    }

    @Test("-j 9223372036854775807 (and other sums past Int.max): lowered with its one line, every test passes")
    func hugeJobs() throws {
        let tree = try TemporaryTree(sleepSuite(3, seconds: "0"))
        for jobs in ["9223372036854775807", "2305843009213693952"] {
            let run = try testbed(limits: "ulimit -Hn 4096", ["run", "-q", "-j", jobs, "."], in: tree.path)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("testbed: -j \(jobs) lowered to "), "\(run.stderr)")
        }
    }

    // MARK: - Pipes

    @Test("testbed run … 2>&1 | head -n 2 loses output only: every test runs, the teardown runs, results complete, exit 1 as without the pipe",
          arguments: [[], ["--json"]])
    func headClosesThePipe(extra: [String]) throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              s:
                run: 'true'
                teardown: touch "$TESTBED_RUN_DIR/torn-down"
            tests:
              failing: {run: 'echo failing; exit 3', setup: [s]}
            """ + (1...12).map { "\n  t\($0): {run: 'echo line \($0); sleep 0.05', setup: [s]}" }.joined() + "\n",
        ])
        let arguments = (["run", "-j", "1", "--plan-order"] + extra + ["."]).map { "'\($0)'" }.joined(separator: " ")
        let script = "{ \"$0\" \(arguments); echo $? > status; } 2>&1 | head -n 2 > head.txt"
        let shell = try TestbedCLITests.testbed(["-c", script, testbedBinary], in: tree.path, executable: "/bin/sh")
        #expect(shell.status == 0, "\(shell.stderr)")
        let head = try String(contentsOfFile: tree["head.txt"], encoding: .utf8)
        #expect(head.split(separator: "\n").count == 2, "\(head)")
        if extra.isEmpty { #expect(head.hasPrefix("testbed: run "), "\(head)") }
        #expect(try String(contentsOfFile: tree["status"], encoding: .utf8) == "1\n", "a failed test: exit 1, as without the pipe")
        let r = try report(tree.path)
        #expect(r.run["complete"] as? Bool == true)
        #expect(r.outcomes.count == 13)
        #expect(r.outcome("/failing") == "fail")
        #expect(r.outcomes.filter { $0.value == "pass" }.count == 12, "\(r.outcomes)")
        #expect(r.setup("s", phase: "teardown").first?["outcome"] as? String == "ok")
        let directory = try #require(r.run["directory"] as? String)
        #expect(FileManager.default.fileExists(atPath: directory + "/torn-down"))
        #expect(processes(ofRunsUnder: tree.path).isEmpty)
    }

    // MARK: - Signals during restores and checks

    /// Sends one SIGINT once `file` exists; returns the exit status and how long testbed took to end.
    func interrupt(when file: String, in tree: TemporaryTree, _ arguments: [String]) throws -> (status: Int32, seconds: Double, output: String) {
        let (process, output) = try startTestbed(arguments, in: tree.path)
        #expect(eventually(within: 30) { FileManager.default.fileExists(atPath: tree["testbed-results/latest/" + file]) },
                "\(file) never appeared")
        kill(process.processIdentifier, SIGINT)
        let sent = Date()
        let ended = eventually(within: 20) { !process.isRunning }
        if !ended { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, Date().timeIntervalSince(sent),
                (try? String(contentsOfFile: output["out"], encoding: .utf8)) ?? "")
    }

    @Test("one SIGINT during a restore that hangs: the restore is terminated, exit 130 within seconds, results recorded")
    func interruptHangingRestore() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            tests:
              dirty: {run: 'true', dirties: true}
              after: 'true'
            """,
            "env.yaml": "restore: echo $$ > \"$TESTBED_RUN_DIR/restore.pid\"; exec sleep 300\n",
        ])
        let (status, seconds, output) = try interrupt(when: "restore.pid", in: tree,
                                                      ["run", "-j", "1", "--plan-order", "-e", "env.yaml", "."])
        #expect(status == 130, "\(output)")
        #expect(seconds < 5, "one interrupt stops the restore: \(seconds) s")
        for pid in pids(in: tree["testbed-results/latest/restore.pid"]) {
            #expect(eventually(within: 5) { isGone(pid) }, "the restore (pid \(pid)) outlived the run")
        }
        let r = try report(tree.path)
        #expect(r.run["interrupted"] as? Bool == true)
        #expect(r.outcome("/dirty") == "pass")
        #expect(r.outcome("/after") == "interrupted")
        let restore = try #require(r.setups.first { $0["phase"] as? String == "restore" })
        #expect(restore["outcome"] as? String == "interrupted")
        #expect(restore["reason"] as? String == "stopped by an interrupt")
    }

    @Test("one SIGINT during a setup check that hangs: the check is terminated, the setups that ran are torn down, exit 130")
    func interruptHangingCheck() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              base:
                run: 'true'
                teardown: touch "$TESTBED_RUN_DIR/base.down"
              slow:
                after: [base]
                check: echo $$ > "$TESTBED_RUN_DIR/check.pid"; exec sleep 300
                run: 'true'
                teardown: touch "$TESTBED_RUN_DIR/slow.down"
            tests:
              t: {run: 'true', setup: [slow]}
            """,
        ])
        let (status, seconds, output) = try interrupt(when: "check.pid", in: tree, ["run", "."])
        #expect(status == 130, "\(output)")
        #expect(seconds < 5, "one interrupt stops the check: \(seconds) s")
        for pid in pids(in: tree["testbed-results/latest/check.pid"]) {
            #expect(eventually(within: 5) { isGone(pid) }, "the check (pid \(pid)) outlived the run")
        }
        let r = try report(tree.path)
        #expect(r.outcome("/t") == "interrupted")
        #expect(r.setup("slow").first?["outcome"] as? String == "interrupted")
        #expect(r.setup("base", phase: "teardown").first?["outcome"] as? String == "ok", "a setup that ran is torn down")
        #expect(FileManager.default.fileExists(atPath: tree["testbed-results/latest/base.down"]))
        #expect(!FileManager.default.fileExists(atPath: tree["testbed-results/latest/slow.down"]), "slow never ran: nothing to tear down")
    }

    @Test("a restore that starts after the interrupt (after a dirtying test it stopped) runs to its end, as teardowns do")
    func restoreAfterInterrupt() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            tests:
              dirty: {run: 'touch "$TESTBED_RUN_DIR/dirty.started"; exec sleep 300', dirties: true}
            """,
            "env.yaml": "restore: sleep 0.5; touch \"$TESTBED_RUN_DIR/restored\"\n",
        ])
        let (status, _, output) = try interrupt(when: "dirty.started", in: tree,
                                                ["run", "--kill-grace", "1s", "-e", "env.yaml", "."])
        #expect(status == 130, "\(output)")
        #expect(FileManager.default.fileExists(atPath: tree["testbed-results/latest/restored"]))
        let r = try report(tree.path)
        #expect(r.outcome("/dirty") == "interrupted")
        #expect(r.setups.first { $0["phase"] as? String == "restore" }?["outcome"] as? String == "ok")
    }

    @Test("a teardown already running at the first interrupt keeps running to its end (within its timeout)")
    func teardownRunningAtInterrupt() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              env:
                run: 'true'
                teardown: touch "$TESTBED_RUN_DIR/teardown.started"; sleep 1; touch "$TESTBED_RUN_DIR/teardown.done"
            tests:
              t: {run: 'true', setup: [env]}
            """,
        ])
        let (status, _, output) = try interrupt(when: "teardown.started", in: tree, ["run", "."])
        #expect(status == 130, "\(output)")
        #expect(FileManager.default.fileExists(atPath: tree["testbed-results/latest/teardown.done"]))
        let r = try report(tree.path)
        #expect(r.outcome("/t") == "pass")
        #expect(r.setup("env", phase: "teardown").first?["outcome"] as? String == "ok")
    }

    // MARK: - Escapes from the process tree

    @Test("processes that clear their environment and leave their group or session do not outlive their test")
    func escapeesDie() throws {
        let perl = FileManager.default.isExecutableFile(atPath: "/usr/bin/perl")
        let tree = try TemporaryTree([
            "testbed.yaml": """
            tests:
              setsid: 'env -i setsid sleep 300 & echo $! > "$TESTBED_OUTPUT_DIR/pids"'
              nested: 'env -i setsid sh -c "sleep 300 & sleep 300 & wait" & echo $! > "$TESTBED_OUTPUT_DIR/pids"; sleep 0.2'
            """ + (perl ? "\n  setpgrp: env -i perl -e 'setpgrp; sleep 300' & echo $! > \"$TESTBED_OUTPUT_DIR/pids\"; sleep 0.2\n" : "\n"),
        ])
        let run = try TestbedCLITests.testbed(["run", "-j", "1", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        let ids = ["setsid", "nested"] + (perl ? ["setpgrp"] : [])
        for id in ids {
            let pids = pids(in: tree["testbed-results/latest/tests/\(id)/pids"])
            #expect(pids.count == 1, "\(id)")
            for pid in pids {
                #expect(eventually(within: 5) { isGone(pid) }, "the escapee of \(id) (pid \(pid)) outlived the run")
                if !isGone(pid) { kill(pid, SIGKILL) }
            }
        }
        // The nested one's children too: no `sleep 300` of this run is left (they have no tag to find them by).
        #expect(eventually(within: 5) { sleepers(under: tree.path).isEmpty })
    }

    @Test("a pid hopper (clears its environment, leaves its session, forks and exits every 2 ms, ignores SIGTERM) does not outlive the run",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/perl")))
    func pidHopperDies() throws {
        let marker = "tbhop\(UInt32.random(in: 0...UInt32.max))"
        let tree = try TemporaryTree([
            "hop.pl": hopperScript(marker),
            "testbed.yaml": """
            tests:
              hopper: perl hop.pl && sleep 0.3
              after: sleep 0.2
            """,
        ])
        let run = try TestbedCLITests.testbed(["run", "-j", "1", "--plan-order", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: tree["testbed-results/latest/tests/hopper/started"]), "the hopper started")
        defer { killHoppers(marker) }
        let gone = eventually(within: 5) { hoppers(marker).isEmpty && { usleep(50_000); return hoppers(marker).isEmpty }() }
        #expect(gone, "a pid hopper of the run is still running: \(hoppers(marker))")
    }

    @Test("an escapee lives while its test runs; a setup's untagged service lives until its teardown, then goes")
    func escapeesLiveWhileOwned() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              svc:
                run: 'env -i setsid sleep 300 & echo $! > "$TESTBED_RUN_DIR/svc.pid"'
                teardown: kill -0 "$(cat "$TESTBED_RUN_DIR/svc.pid")" && touch "$TESTBED_RUN_DIR/svc.alive-at-teardown"
            tests:
              owner: 'env -i setsid sleep 300 & P=$!; sleep 1.2; kill -0 $P'
              user: {run: 'sleep 0.6; kill -0 "$(cat "$TESTBED_RUN_DIR/svc.pid")"', setup: [svc]}
            """,
        ])
        let run = try TestbedCLITests.testbed(["run", "-j", "2", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let r = try report(tree.path)
        #expect(r.outcome("/owner") == "pass", "its escapee lived while it ran")
        #expect(r.outcome("/user") == "pass", "the service lived for the test")
        #expect(FileManager.default.fileExists(atPath: tree["testbed-results/latest/svc.alive-at-teardown"]))
        for pid in pids(in: tree["testbed-results/latest/svc.pid"]) {
            #expect(eventually(within: 5) { isGone(pid) }, "the service (pid \(pid)) outlived the run")
            if !isGone(pid) { kill(pid, SIGKILL) }
        }
        #expect(eventually(within: 5) { sleepers(under: tree.path).isEmpty })
    }

    @Test("kill -9 of the guard, then of testbed: a new guard took over and no process of the run is left")
    func guardKilledFirst() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              svc:
                run: 'env -i setsid sleep 300 & echo $! > "$TESTBED_RUN_DIR/svc.pid"'
            tests:
              user:
                run: 'env -i setsid sleep 300 & echo $! > "$TESTBED_RUN_DIR/grandchild.pid"; touch "$TESTBED_RUN_DIR/started"; exec sleep 300'
                setup: [svc]
            """,
        ])
        let (process, output) = try startTestbed(["run", "."], in: tree.path)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        #expect(eventually(within: 30) { FileManager.default.fileExists(atPath: tree["testbed-results/latest/started"]) })
        let first = try #require(guards(of: process.processIdentifier).first)
        kill(first, SIGKILL)
        let text = { (try? String(contentsOfFile: output["out"], encoding: .utf8)) ?? "" }
        #expect(eventually(within: 10) { text().contains("testbed: warning: the guard process (pid \(first)) ended (killed by signal 9 (SIGKILL)); "
            + "started another (pid ") },
                "\(text())")
        let second = guards(of: process.processIdentifier)
        #expect(second.count == 1 && second.first != first)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let named = pids(in: tree["testbed-results/latest/svc.pid"]) + pids(in: tree["testbed-results/latest/grandchild.pid"])
        #expect(named.count == 2)
        for pid in named {
            #expect(eventually(within: 10) { isGone(pid) }, "process \(pid) outlived testbed and its guard")
            if !isGone(pid) { kill(pid, SIGKILL) }
        }
        #expect(eventually(within: 10) { processes(ofRunsUnder: tree.path).isEmpty })
        #expect(eventually(within: 10) { sleepers(under: tree.path).isEmpty })
    }
}

/// The guard processes (`testbed guard`) among the children of `pid`.
func guards(of pid: pid_t) -> [pid_t] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    let children = tasks.flatMap { task in
        ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { pid_t($0) }
    }
    return children.filter { child in
        let arguments = (FileManager.default.contents(atPath: "/proc/\(child)/cmdline") ?? Data()).split(separator: 0)
        return arguments.count > 1 && String(decoding: arguments[1], as: UTF8.self) == "guard"
    }
}

/// `sleep 300` processes whose working directory lies under `directory`
/// (escapees carry no variable to find them by, but keep their directory).
func sleepers(under directory: String) -> [pid_t] {
    let resolved = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
    return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name -> pid_t? in
        guard let pid = pid_t(name), !isGone(pid),
              let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"),
              cwd == resolved || cwd.hasPrefix(resolved + "/") || cwd == directory || cwd.hasPrefix(directory + "/"),
              let arguments = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        let words = arguments.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        let line = words.joined(separator: " ")
        return line.contains("sleep") && line.contains("300") ? pid : nil
    }
}

/// A perl script that records it started (in `$TESTBED_OUTPUT_DIR/started`),
/// clears its environment, ignores SIGTERM, SIGINT and SIGHUP, leaves its
/// session, and then forks and exits every 2 ms: a new pid each time, named `marker`.
func hopperScript(_ marker: String) -> String {
    """
    open(my $started, '>', "$ENV{TESTBED_OUTPUT_DIR}/started") or die; close $started;
    %ENV = ();
    use POSIX qw(setsid);
    $SIG{TERM} = 'IGNORE'; $SIG{INT} = 'IGNORE'; $SIG{HUP} = 'IGNORE';
    $0 = "\(marker)";
    exit 0 if fork();
    setsid();
    while (1) { my $p = fork(); if (!defined $p) { select(undef, undef, undef, 0.01); next } exit 0 if $p; select(undef, undef, undef, 0.002); }
    """
}

/// The live processes named `marker` (a hopper's).
func hoppers(_ marker: String) -> [pid_t] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name -> pid_t? in
        guard let pid = pid_t(name), let state = processState(pid), state != "Z",
              let words = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return String(decoding: words, as: UTF8.self).hasPrefix(marker) ? pid : nil
    }
}

/// Never leaves a hopper behind on this machine, whatever a test's verdict:
/// its group's SIGKILL, until none is left.
func killHoppers(_ marker: String) {
    for _ in 0..<100 where !hoppers(marker).isEmpty {
        for pid in hoppers(marker) {
            let group = getpgid(pid)
            if group > 1 && group != getpgrp() { kill(-group, SIGKILL) }
        }
        usleep(10_000)
    }
}
