import Foundation
import Testing
import TestSupport

/// Kernel health end to end (docs/kernel-health.md): a fixture host root (`--host-root`) whose `dev/kmsg` is a
/// regular file and whose `proc/sys/kernel/tainted` a test bumps; and, where /dev/kmsg can be read and written, the real one.
@Suite("Kernel health: taint and kernel log, end to end")
struct KernelHealthTests {
    /// A suite of three tests run in turn (`-j 1`): `a-first` passes, `b-taints` writes `record` to the fixture's
    /// kernel log and sets `taint`, `c-last` passes; the fixture starts with `initialTaint`.
    static func suite(record: String = "<4>WARNING: CPU: 1 PID: 77 at drivers/gpu/x.c:12 x_init+0x2/0x9", taint: Int = 512,
                      initialTaint: Int = 0) throws -> TemporaryTree {
        let tree = try TemporaryTree(["root/dev/kmsg": "6,1,100,-;an old record\n", "root/proc/sys/kernel/tainted": "\(initialTaint)\n"])
        try tree.write("suite/testbed.yaml", """
            tests:
              a-first: 'true'
              b-taints: 'echo breaking; echo "\(record)" >> \(tree["root/dev/kmsg"]); echo \(taint) > \(tree["root/proc/sys/kernel/tainted"])'
              c-last: 'true'
            """)
        return tree
    }

    @Test("a test that taints the kernel fails with the flag and the log line; the rest is interrupted; exit 3; JSON and text carry it")
    func tainted() throws {
        let tree = try Self.suite()
        let result = try testbed(["run", ".", "-j", "1", "--host-root", tree["root"]], in: tree["suite"])
        let output = result.stdout + result.stderr
        #expect(result.status == 3, "\(output)")
        let reported = try report(tree["suite"])
        #expect(reported.outcome("/a-first") == "pass")
        #expect(reported.outcome("/b-taints") == "fail")
        let reason = reported.test("/b-taints")["reason"] as? String ?? ""
        #expect(reason.hasPrefix("the kernel became tainted while it ran: W (the kernel issued a warning)"), "\(reason)")
        #expect(reason.contains("WARNING: CPU: 1 PID: 77 at drivers/gpu/x.c:12"), "\(reason)")
        #expect(reported.outcome("/c-last") == "interrupted")
        #expect(reported.test("/c-last")["reason"] as? String == "not run: the host became unhealthy: /b-taints tainted the kernel (W)")
        let kernelLog = reported.test("/b-taints")["kernel_log"] as? String ?? ""
        #expect(kernelLog.contains("] <4> WARNING: CPU: 1 PID: 77"), "\(kernelLog)")
        #expect(!kernelLog.contains("an old record"))
        #expect(reported.test("/a-first")["kernel_log"] == nil)
        let health = reported.setup("kernel", phase: "health")
        #expect(health.count == 1)
        #expect(health.first?["outcome"] as? String == "failed")
        #expect(reported.run["halted_by"] as? String == "/b-taints tainted the kernel (W)")
        // kmsg.log beside the test's output.
        let log = try #require(reported.test("/b-taints")["log"] as? String)
        let kmsg = try String(contentsOfFile: log.replacingOccurrences(of: "output.log", with: "kmsg.log"), encoding: .utf8)
        #expect(kmsg.contains("] <4> WARNING: CPU: 1 PID: 77 at drivers/gpu/x.c:12 x_init+0x2/0x9\n"), "\(kmsg)")
        // The text report shows the kernel log under the failure, and the health failure as infrastructure.
        let text = try testbed(["report"], in: tree["suite"])
        #expect(text.stdout.contains("kmsg | ["), "\(text.stdout)")
        #expect(text.stdout.contains("health kernel [/b-taints]  failed"), "\(text.stdout)")
        #expect(text.stdout.contains("exit 3"), "\(text.stdout)")
    }

    @Test("a taint from a setup stops the next test at once and names the setup; unknown bits are shown one way; the summary names the tests")
    func taintedBySetup() throws {
        let tree = try TemporaryTree(["root/dev/kmsg": "", "root/proc/sys/kernel/tainted": "0\n"])
        // 16384 (L) and bit 21, unknown to the table.
        try tree.write("suite/testbed.yaml", """
            setups:
              breaker: {run: 'echo 2113536 > \(tree["root/proc/sys/kernel/tainted"])'}
            tests:
              one: {run: 'true', setup: [breaker]}
              two: {run: 'true', setup: [breaker]}
            """)
        let result = try testbed(["run", ".", "-j", "1", "--host-root", tree["root"]], in: tree["suite"])
        let output = result.stdout + result.stderr
        #expect(result.status == 2, "\(output)")
        #expect(!output.contains("PASS"), "\(output)")
        let reported = try report(tree["suite"])
        #expect(reported.outcome("/one") == "interrupted")
        #expect(reported.outcome("/two") == "interrupted")
        let why = "the kernel became tainted during setup breaker (L#21)"
        #expect(reported.test("/one")["reason"] as? String == "not run: the host became unhealthy: " + why)
        let health = reported.setup("kernel", phase: "health")
        #expect(health.first?["reason"] as? String == "the host became unhealthy: the kernel became tainted while no test ran "
                + "(during setup breaker): L (a soft lockup occurred), #21 (bit 21, unknown to this Testbed); not blamed on a test")
        #expect(result.stdout.contains("not run (2)\n  /one, /two  the host became unhealthy: \(why)\n"), "\(result.stdout)")
        #expect(result.stderr.contains("INTERRUPTED 2 tests never started: /one, /two  the host became unhealthy: \(why)"), "\(result.stderr)")
        // The unknown bit as it is shown: --taint-ignore takes it, with lowercase letters.
        try "0\n".write(toFile: tree["root/proc/sys/kernel/tainted"], atomically: false, encoding: .utf8)
        let ignored = try testbed(["run", ".", "-j", "1", "--host-root", tree["root"], "--taint-ignore", "l#21"], in: tree["suite"])
        #expect(ignored.status == 0, "\(ignored.stdout)\(ignored.stderr)")
    }

    @Test("a taint file holding no integer is said on one line, escaped")
    func malformedTaintFile() throws {
        let tree = try TemporaryTree(["root/dev/kmsg": "", "root/proc/sys/kernel/tainted": "garbage\n", "suite/testbed.yaml": "tests:\n  a: 'true'\n"])
        let result = try testbed(["run", ".", "--host-root", tree["root"]], in: tree["suite"])
        let line = result.stderr.split(separator: "\n").first { $0.contains("holds") }
        #expect(line?.contains(#"holds "garbage\n", not an integer"#) == true, "\(result.stderr)")
    }

    @Test("a taint present before the run is said once and not blamed; the run keeps it")
    func taintedBefore() throws {
        let tree = try Self.suite(taint: 512, initialTaint: 512)
        let result = try testbed(["run", ".", "-j", "1", "--host-root", tree["root"]], in: tree["suite"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let line = "testbed: the kernel was already tainted before this run: W (the kernel issued a warning); not blamed on any test"
        #expect(result.stderr.components(separatedBy: line).count == 2, "\(result.stderr)")
        // Under the run's own first line, which stays first.
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("testbed: run ") == true && lines.dropFirst().first == line, "\(result.stderr)")
        let reported = try report(tree["suite"])
        #expect(reported.run["taint_at_start"] as? String == "W")
        #expect(Set(reported.outcomes.values) == ["pass"])
    }

    @Test("--taint-ignore W and the environment file's taint-ignore let a warning pass; a bad letter is a usage error")
    func ignored() throws {
        let tree = try Self.suite()
        let flag = try testbed(["run", ".", "-j", "1", "--host-root", tree["root"], "--taint-ignore", "O,W"], in: tree["suite"])
        #expect(flag.status == 0, "\(flag.stdout)\(flag.stderr)")
        try "0\n".write(toFile: tree["root/proc/sys/kernel/tainted"], atomically: false, encoding: .utf8)
        try tree.write("lab.yaml", "taint-ignore: [W]\n")
        let file = try testbed(["run", ".", "-j", "1", "--host-root", tree["root"], "-e", tree["lab.yaml"]], in: tree["suite"])
        #expect(file.status == 0, "\(file.stdout)\(file.stderr)")
        #expect(try report(tree["suite"]).outcome("/b-taints") == "pass")
        let bad = try testbed(["run", ".", "--host-root", tree["root"], "--taint-ignore", "Q"], in: tree["suite"])
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("unknown taint letter 'Q'; use letters of PFSRMBUDAWCIOELKXTNJ in either case"), "\(bad.stderr)")
        try tree.write("bad.yaml", "taint-ignore: [W, q]\n")
        let badFile = try testbed(["run", ".", "--host-root", tree["root"], "-e", tree["bad.yaml"]], in: tree["suite"])
        #expect(badFile.status != 0)
        #expect(badFile.stderr.contains("bad.yaml:1"), "\(badFile.stderr)")
        #expect(badFile.stderr.contains("unknown taint letter 'q'"), "\(badFile.stderr)")
    }

    @Test("a host root without the taint file or the kernel log: one line each, and the run goes on")
    func unreadable() throws {
        let tree = try Self.suite()
        try tree.directory("empty")
        let result = try testbed(["run", ".", "-j", "1", "--host-root", tree["empty"]], in: tree["suite"])
        // b-taints writes into the fixture, not into the empty root: nothing is blamed.
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let taintLine = "testbed: cannot read \(tree["empty"])/proc/sys/kernel/tainted: No such file or directory; "
            + "the kernel's taint is not checked in this run"
        let kmsgLine = "testbed: cannot read \(tree["empty"])/dev/kmsg: No such file or directory; tests' kernel logs are not kept in this run"
        #expect(result.stderr.components(separatedBy: taintLine).count == 2, "\(result.stderr)")
        #expect(result.stderr.components(separatedBy: kmsgLine).count == 2, "\(result.stderr)")
    }

    @Test("on a host whose /dev/kmsg can be read and written, a record a test writes there is in its kmsg.log",
          .enabled(if: access("/dev/kmsg", R_OK | W_OK) == 0 && getuid() == 0))
    func realKernelLog() throws {
        let marker = "testbed-xyz-\(UUID().uuidString)"
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              writes-kmsg: 'echo "<4>\(marker)" > /dev/kmsg'
              quiet: 'true'
            """])
        let result = try testbed(["run", ".", "-j", "1"], in: tree.path)
        let reported = try report(tree.path)
        #expect(reported.outcome("/writes-kmsg") == "pass", "\(result.stderr)")
        let log = try #require(reported.test("/writes-kmsg")["log"] as? String)
        let kmsg = try String(contentsOfFile: log.replacingOccurrences(of: "output.log", with: "kmsg.log"), encoding: .utf8)
        #expect(kmsg.contains("<12> \(marker)\n"), "\(kmsg)")
        #expect((reported.test("/quiet")["kernel_log"] as? String ?? "").contains(marker) == false)
    }
}
