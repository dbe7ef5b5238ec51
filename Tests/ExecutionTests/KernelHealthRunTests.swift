import Catalog
@testable import Execution
import Foundation
import KernelHealth
import Planning
import ProcessSupervision
import TestSupport
import Testing

/// A fixture host for the kernel health monitor: `dev/kmsg` (a regular file) and `proc/sys/kernel/tainted`.
struct FixtureKernel: Sendable {
    let tree: TemporaryTree

    init(taint: UInt64 = 0) throws {
        tree = try TemporaryTree(["dev/kmsg": "", "proc/sys/kernel/tainted": "\(taint)\n"])
    }

    /// A monitor of this fixture, as a run would start it.
    func monitor(ignoring ignored: String = "") throws -> KernelHealthMonitor {
        let taint = tree["proc/sys/kernel/tainted"]
        return KernelHealthMonitor(log: KernelLogReader(source: try KernelLog.open(tree["dev/kmsg"])), taintPath: taint,
                                   ignored: try Taint.letters(ignored), atStart: try KernelHealthMonitor.readTaint(taint))
    }

    /// What a test that breaks the kernel does: a record in the log, a flag more in the taint.
    func breaks(_ record: String, taint: UInt64) -> @Sendable () -> Void {
        let tree = self.tree
        return {
            let handle = FileHandle(forWritingAtPath: tree["dev/kmsg"])!
            handle.seekToEndOfFile()
            handle.write(Data((record + "\n").utf8))
            handle.closeFile()
            try? "\(taint)\n".write(toFile: tree["proc/sys/kernel/tainted"], atomically: false, encoding: .utf8)
        }
    }
}

/// Runs `tests` on a fake launcher with the kernel health monitor of `kernel`.
func runWatched(_ tests: [TestDefinition], setups: [SetupDefinition] = [], kernel: FixtureKernel, ignoring: String = "", jobs: Int = 1,
                scripts: [String: FakeLauncher.Script]) async throws -> (FakeRun, TemporaryTree) {
    let plan = try Resolver(catalog: SuiteCatalog(tests: tests, setups: setups, roots: []), facts: host).resolve()
    let tree = try TemporaryTree()
    let log = EventLog()
    let launcher = FakeLauncher(scripts)
    var options = ExecutorOptions(jobs: jobs, runID: "fake", layout: try RunLayout(directory: tree.path), baseEnvironment: ["PATH": "/bin"])
    options.kernelHealth = try kernel.monitor(ignoring: ignoring)
    let executor = Executor(plan: plan, facts: host, options: options, launcher: launcher, recorders: [log])
    return (FakeRun(summary: await executor.run(facts: []), log: log, launcher: launcher), tree)
}

func plainTest(_ id: String) -> TestDefinition {
    TestDefinition(id: id, command: .shell("test \(id)"), directory: "/", location: here)
}

@Suite("Kernel health in a run: taint blamed, kmsg.log kept, the host unhealthy", .timeLimit(.minutes(1)))
struct KernelHealthRunTests {
    @Test("a test that taints the kernel fails with the flags and the log line; what is left is interrupted; exit 3")
    func taintedHalts() async throws {
        let kernel = try FixtureKernel()
        let scripts: [String: FakeLauncher.Script] = [
            "test /b": .init(.exit(0), effect: kernel.breaks("<4>WARNING: CPU: 0 PID: 42 at drivers/x.c:7 x_probe+0x1/0x2", taint: 512)),
        ]
        let (run, tree) = try await runWatched([plainTest("/a"), plainTest("/b"), plainTest("/c")], kernel: kernel, scripts: scripts)
        #expect(run.test("/a")?.outcome == .pass)
        let b = try #require(run.test("/b"))
        #expect(b.outcome == .fail)
        #expect(b.reason?.hasPrefix("the kernel became tainted while it ran: W (the kernel issued a warning)") == true)
        #expect(b.reason?.contains("WARNING: CPU: 0 PID: 42 at drivers/x.c:7") == true)
        #expect(b.kernelLog?.contains("<4> WARNING: CPU: 0 PID: 42") == true)
        let c = try #require(run.test("/c"))
        #expect(c.outcome == .interrupted)
        #expect(c.reason == "not run: the host became unhealthy: /b tainted the kernel (W)")
        #expect(run.starts("test /c") == 0)
        let health = try #require(run.summary.setups.first { $0.phase == .health })
        #expect(health.outcome == .failed && health.test == "/b" && health.name == "kernel")
        #expect(run.summary.haltedBy == "/b tainted the kernel (W)")
        #expect(run.summary.exitCode() == 3)
        let kmsg = try String(contentsOfFile: tree["tests/b/kmsg.log"], encoding: .utf8)
        #expect(kmsg.hasSuffix("<4> WARNING: CPU: 0 PID: 42 at drivers/x.c:7 x_probe+0x1/0x2\n"))
        #expect(!FileManager.default.fileExists(atPath: tree["tests/a/kmsg.log"]))
    }

    @Test("tests that ran at the same time: the record goes to both, the taint to the one that ended first, the other named")
    func overlapping() async throws {
        let kernel = try FixtureKernel()
        let scripts: [String: FakeLauncher.Script] = [
            "test /a": .init(.exit(0), delay: .milliseconds(400)),
            "test /b": .init(.exit(1), delay: .milliseconds(100), output: "boom\n",
                             effect: kernel.breaks("4,9,5000000,-;BUG: kernel NULL pointer dereference, address: 0000000000000008", taint: 128)),
        ]
        let (run, tree) = try await runWatched([plainTest("/a"), plainTest("/b")], kernel: kernel, jobs: 2, scripts: scripts)
        let b = try #require(run.test("/b"))
        #expect(b.outcome == .fail)
        #expect(b.reason?.contains("D (the kernel died recently: an oops or a BUG)") == true)
        #expect(b.reason?.contains("ran at the same time: /a") == true)
        #expect(b.reason?.hasSuffix("exit 1: boom") == true)
        #expect(run.test("/a")?.outcome == .pass)
        let kmsg = try String(contentsOfFile: tree["tests/a/kmsg.log"], encoding: .utf8)
        #expect(kmsg.hasPrefix("# /b also ran when some of these records arrived: those records are in their kmsg.log too\n"))
        #expect(kmsg.contains("[    5.000000] <4> BUG: kernel NULL pointer dereference"))
    }

    @Test("a taint present at the start and an ignored flag are never blamed; the run's info says the first")
    func notBlamed() async throws {
        let kernel = try FixtureKernel(taint: 512)
        let scripts: [String: FakeLauncher.Script] = ["test /a": .init(.exit(0), effect: kernel.breaks("<4>O module", taint: 512 | 4096))]
        let (run, _) = try await runWatched([plainTest("/a"), plainTest("/b")], kernel: kernel, ignoring: "O", scripts: scripts)
        #expect(run.summary.tests.map(\.outcome) == [.pass, .pass])
        #expect(!run.summary.setups.contains { $0.phase == .health })
        #expect(run.summary.exitCode() == 0)
        let info = run.log.events.withLock { $0.compactMap { if case .started(let info) = $0 { info } else { nil } } }.first
        #expect(info?.taintAtStart == "W")
    }

    @Test("a timed-out test that cannot be killed (D state) is a timeout that says so, and the host is unhealthy")
    func unkillable() async throws {
        let kernel = try FixtureKernel()
        let scripts: [String: FakeLauncher.Script] = ["test /a": .init(.unkillable(wchan: "fuse_wait_answer"))]
        let (run, _) = try await runWatched([plainTest("/a"), plainTest("/b")], kernel: kernel, scripts: scripts)
        let a = try #require(run.test("/a"))
        #expect(a.outcome == .timeout)
        #expect(a.reason?.hasSuffix("could not be killed: in uninterruptible sleep (D) in fuse_wait_answer") == true)
        #expect(run.test("/b")?.reason == "not run: the host became unhealthy: /a could not be killed (uninterruptible sleep in fuse_wait_answer)")
        #expect(run.summary.exitCode() == 3)
    }

    @Test("a flag that appears while no test runs (a setup) is no test's fault, but the host is unhealthy at once, naming the setup")
    func betweenTests() async throws {
        let kernel = try FixtureKernel()
        let scripts: [String: FakeLauncher.Script] = ["make s": .init(.exit(0), effect: kernel.breaks("<4>WARNING: in a setup", taint: 512))]
        let first = TestDefinition(id: "/a", command: .shell("test /a"), setups: ["s"], directory: "/", location: here)
        let (run, _) = try await runWatched([first, plainTest("/b")], setups: [setup("s")], kernel: kernel, scripts: scripts)
        // Nothing starts after the setup that tainted it: not even /a, the test that waited for it.
        #expect(run.test("/a")?.outcome == .interrupted)
        #expect(run.test("/a")?.reason == "not run: the host became unhealthy: the kernel became tainted during setup s (W)")
        #expect(run.test("/b")?.outcome == .interrupted)
        #expect(run.launcher.launch(of: "test /a") == nil)
        let health = try #require(run.summary.setups.first { $0.phase == .health })
        #expect(health.test == nil)
        #expect(health.reason == "the host became unhealthy: the kernel became tainted while no test ran (during setup s): "
                + "W (the kernel issued a warning); not blamed on a test")
        #expect(run.summary.exitCode() == 2)
    }

    @Test("a result keeps at most 64 KiB of the kernel log, cut at a line, and says how many lines were left out")
    func bounded() {
        var capture = KernelLogCapture()
        capture.records = (1...2000).map { KernelLogRecord(priority: 4, sequence: UInt64($0), timestamp: UInt64($0),
                                                           escapedMessage: String(repeating: "x", count: 60) + " \($0)") }
        capture.lost = 2
        capture.gaps = [KernelLogCapture.Gap(before: 0, count: 2)]
        capture.sharedWith = ["/b"]
        let text = OutcomeClassifier.kernelLogText(TestHealth(kernelLog: capture)) ?? ""
        #expect(text.hasPrefix("# /b also ran when some of these records arrived: those records are in their kmsg.log too\n"
                               + "# 2 records lost here: the kernel overwrote them before they were read\n"))
        #expect(text.split(separator: "\n").count == 2002)
        let kept = OutcomeClassifier.boundedKernelLog(text)
        #expect(kept.utf8.count <= TestResult.kernelLogLimit + 100)
        let lines = kept.split(separator: "\n")
        #expect(lines.last?.hasPrefix("# ") == true && lines.last?.hasSuffix("more lines in kmsg.log (the result keeps 65536 bytes)") == true)
        let keptRecords = lines.count - 3
        #expect(lines.last == "# \(2002 - 2 - keptRecords) more lines in kmsg.log (the result keeps 65536 bytes)")
        #expect(OutcomeClassifier.boundedKernelLog("short\n") == "short\n")
        #expect(OutcomeClassifier.kernelLogText(TestHealth(kernelLog: KernelLogCapture())) == nil)
    }

    /// A reader of a fixture kernel log, `/a` attached, `records` appended, `/a` detached: its kmsg.log text.
    static func kmsgText(_ records: String, alsoAttached: (String, String)? = nil) throws -> String {
        let kernel = try FixtureKernel()
        let reader = KernelLogReader(source: try KernelLog.open(kernel.tree["dev/kmsg"]))
        reader.attach("/a")
        let handle = try #require(FileHandle(forWritingAtPath: kernel.tree["dev/kmsg"]))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(records.utf8))
        if let (id, more) = alsoAttached {
            // Another test comes and goes before any record arrives, then one more that gets the next ones.
            reader.attach("/quiet")
            _ = reader.detach("/quiet")
            reader.attach(id)
            try handle.write(contentsOf: Data(more.utf8))
        }
        try handle.close()
        return OutcomeClassifier.kernelLogText(TestHealth(kernelLog: reader.detach("/a"))) ?? ""
    }

    @Test("kmsg.log stays within its 1 MiB, its lines' prefixes counted, and says how many records were left out")
    func fileBounded() throws {
        let message = String(repeating: "m", count: 80)
        let records = (1...20_000).map { "4,\($0),\($0 * 1000),-;\(message) \($0)\n" }.joined()
        let text = try Self.kmsgText(records)
        #expect(text.utf8.count <= KernelLogReader.maximumBytes)
        let lines = text.split(separator: "\n")
        let left = try #require(lines.last)
        #expect(left == "# \(20_000 - (lines.count - 1)) more records left out (over 1048576 bytes)")
        #expect(text.utf8.count > KernelLogReader.maximumBytes - 300)
    }

    @Test("records lost are said where the gap is, in order")
    func lostInPlace() throws {
        let text = try Self.kmsgText("4,100,1,-;one\n4,105,2,-;after the gap\n4,106,3,-;next\n")
        #expect(text == "[    0.000001] <4> one\n# 4 records lost here: the kernel overwrote them before they were read\n"
                + "[    0.000002] <4> after the gap\n[    0.000003] <4> next\n")
    }

    @Test("the header names only the tests running when a record arrived, not one that came and went in between")
    func sharedOnlyWithOverlap() throws {
        let text = try Self.kmsgText("4,1,1,-;alone\n", alsoAttached: ("/b", "4,2,2,-;with b\n"))
        #expect(text.hasPrefix("# /b also ran when some of these records arrived: those records are in their kmsg.log too\n[    0.000001] <4> alone\n"))
        #expect(!text.contains("/quiet"))
    }
}
