import Foundation
@testable import KernelHealth
import Testing
import TestSupport

@Suite("KernelLogReader and KernelHealthMonitor over fixture files")
struct KernelLogReaderTests {
    /// A fixture kernel log and taint file in a temporary tree.
    static func fixture(taint: String = "0") throws -> TemporaryTree {
        try TemporaryTree(["dev/kmsg": "6,1,100,-;before the reader opened\n", "proc/sys/kernel/tainted": taint + "\n"])
    }

    static func append(_ tree: TemporaryTree, _ text: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: tree["dev/kmsg"]))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    @Test("a fixture is read from its size at open: earlier lines are not given; both formats; continuation lines")
    func fileSource() throws {
        let tree = try Self.fixture()
        let source = try KernelLog.open(tree["dev/kmsg"])
        #expect(source.readAvailable(limit: 100).records.isEmpty)
        try Self.append(tree, "4,7,2000,-;WARNING: at x.c\n SUBSYSTEM=x\n<3>written as echo would\n<5>partial")
        let records = source.readAvailable(limit: 100).records
        #expect(records.map(\.message) == ["WARNING: at x.c", "written as echo would"])
        #expect(records.first?.dictionary == ["SUBSYSTEM=x"])
        #expect(records.last?.priority == 3)
        #expect(records.last?.sequence == 8)
        try Self.append(tree, " line\n")
        #expect(source.readAvailable(limit: 100).records.map(\.message) == ["partial line"])
    }

    @Test("a missing kernel log or one that is neither a device nor a file is unreadable, with the path")
    func unreadable() throws {
        let tree = try TemporaryTree()
        #expect(throws: KernelHealthError.self) { try KernelLog.open(tree["dev/kmsg"]) }
        do {
            _ = try KernelLog.open(tree.path)
            Issue.record("a directory opened")
        } catch {
            #expect(error.description.contains(tree.path) && error.description.contains("neither"))
        }
    }

    @Test("records go to every test attached when they arrived; a record before a test started is not its")
    func attribution() throws {
        let tree = try Self.fixture()
        let reader = KernelLogReader(source: try KernelLog.open(tree["dev/kmsg"]))
        try Self.append(tree, "<6>before any test\n")
        reader.attach("/a")
        try Self.append(tree, "<4>while a ran alone\n")
        reader.attach("/b")
        try Self.append(tree, "<4>while a and b ran\n")
        let a = reader.detach("/a")
        try Self.append(tree, "<4>while b ran alone\n")
        let b = reader.detach("/b")
        try Self.append(tree, "<4>after both\n")
        reader.drain()
        #expect(a.records.map(\.message) == ["while a ran alone", "while a and b ran"])
        #expect(b.records.map(\.message) == ["while a and b ran", "while b ran alone"])
        #expect(reader.detach("/a").records.isEmpty)
    }

    @Test("a gap in sequence numbers counts as records lost for the tests attached")
    func lost() throws {
        let tree = try Self.fixture()
        let reader = KernelLogReader(source: try KernelLog.open(tree["dev/kmsg"]))
        reader.attach("/a")
        try Self.append(tree, "4,10,1,-;one\n4,14,2,-;five\n")
        let capture = reader.detach("/a")
        #expect(capture.records.count == 2)
        #expect(capture.lost == 3)
    }

    @Test("the background look reads without a drain")
    func background() async throws {
        let tree = try Self.fixture()
        let reader = KernelLogReader(source: try KernelLog.open(tree["dev/kmsg"]))
        reader.attach("/a")
        reader.start(interval: .milliseconds(10))
        try Self.append(tree, "<4>seen by the background look\n")
        // Seen by the thread (without a drain) once the fixture, truncated, has nothing left to give.
        for _ in 0..<500 where reader.state.withLock({ $0.attached["/a"]?.records.isEmpty ?? true }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        // Truncated: the look reads it again from its start, and the record is there already.
        try "".write(toFile: tree["dev/kmsg"], atomically: false, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(100))
        reader.stop()
        let capture = reader.detach("/a")
        #expect(capture.records.map(\.message) == ["seen by the background look"])
    }

    @Test("the monitor blames a new flag on the test that ends first after it, names who ran alongside, never blames one twice")
    func blame() throws {
        let tree = try Self.fixture(taint: "4096")
        let taint = tree["proc/sys/kernel/tainted"]
        let atStart = try KernelHealthMonitor.readTaint(taint)
        let monitor = KernelHealthMonitor(log: KernelLogReader(source: try KernelLog.open(tree["dev/kmsg"])), taintPath: taint,
                                          ignored: .none, atStart: atStart)
        #expect(monitor.taintWhileIdle().isEmpty)
        monitor.testStarting("/a")
        monitor.testStarting("/b")
        try Self.append(tree, "<4>WARNING: CPU: 0 PID: 7 at lib/x.c:1\n")
        try "4608\n".write(toFile: taint, atomically: false, encoding: .utf8)
        let b = monitor.testEnded("/b")
        #expect(b.newTaint.letters == "W")
        #expect(b.alongside == ["/a"])
        #expect(b.kernelLog?.explaining().map(\.message) == ["WARNING: CPU: 0 PID: 7 at lib/x.c:1"])
        let a = monitor.testEnded("/a")
        #expect(a.newTaint.isEmpty)
        #expect(a.alongside == ["/b"])
        #expect(a.kernelLog?.records.count == 1)
    }

    @Test("ignored flags and flags present at the start are never blamed; a flag that appears while no test runs is returned once, by taintWhileIdle")
    func ignoredAndBetween() throws {
        let tree = try Self.fixture(taint: "512")
        let taint = tree["proc/sys/kernel/tainted"]
        let monitor = KernelHealthMonitor(log: nil, taintPath: taint, ignored: try Taint.letters("O"), atStart: try KernelHealthMonitor.readTaint(taint))
        monitor.testStarting("/a")
        try "4608\n".write(toFile: taint, atomically: false, encoding: .utf8)  // W (at start) and O (ignored)
        #expect(monitor.testEnded("/a").newTaint.isEmpty)
        try "4736\n".write(toFile: taint, atomically: false, encoding: .utf8)  // D, while no test ran
        #expect(monitor.taintWhileIdle().letters == "D")
        #expect(monitor.taintWhileIdle().isEmpty)
        monitor.testStarting("/b")
        try "4737\n".write(toFile: taint, atomically: false, encoding: .utf8)  // P, while /b runs: its, not the idle look's
        #expect(monitor.taintWhileIdle().isEmpty)
        #expect(monitor.testEnded("/b").newTaint.letters == "P")
        #expect(monitor.testEnded("/c").kernelLog == nil)
    }

    @Test("an unreadable taint file mid-run is said once and blames nothing")
    func taintGone() throws {
        let tree = try Self.fixture()
        let taint = tree["proc/sys/kernel/tainted"]
        let monitor = KernelHealthMonitor(log: nil, taintPath: taint, ignored: .none, atStart: .none)
        try FileManager.default.removeItem(atPath: taint)
        monitor.testStarting("/a")
        #expect(monitor.testEnded("/a").newTaint.isEmpty)
        #expect(monitor.taintFailure?.contains(taint) == true)
    }

    @Test("on a host with a readable and writable /dev/kmsg, a record written there is read back",
          .enabled(if: access("/dev/kmsg", R_OK | W_OK) == 0 && (try? DeviceKernelLog(path: "/dev/kmsg")) != nil))
    func realDevice() throws {
        let source = try DeviceKernelLog(path: "/dev/kmsg")
        let marker = "testbed-kernelhealth-\(UUID().uuidString)"
        let handle = try #require(FileHandle(forWritingAtPath: "/dev/kmsg"))
        try handle.write(contentsOf: Data("<4>\(marker)\n".utf8))
        try handle.close()
        let records = source.readAvailable(limit: 1000).records
        let record = try #require(records.first { $0.message == marker })
        #expect(record.level == 4)
        #expect(record.dmesgLine.hasSuffix("<12> \(marker)"))
    }
}
