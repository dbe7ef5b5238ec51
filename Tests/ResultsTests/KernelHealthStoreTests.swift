@testable import Execution
import Foundation
@testable import Results
import TestSupport
import Testing

@Suite("Result store: kernel health (schema v6)", .serialized)
struct KernelHealthStoreTests {
    @Test("a v2 database migrated to v6 keeps its runs; a new run's kernel log, taint at start and health result are read back")
    func migratedAndReadBack() async throws {
        let tree = try oldResults()
        let store = try SQLiteRunStore(directory: tree.path)
        let old = try store.report("20261130-020433-7e54")
        #expect(old.run.taintAtStart == nil && old.tests.allSatisfy { $0.kernelLog == nil })
        let id = "20261201-000000-0006"
        var info = RunInfo(id: id, environment: "lab", started: Date(timeIntervalSince1970: 1_800_000_000),
                           directory: store.directory + "/" + id, tests: ["/t", "/u"], decided: [], facts: [], jobs: 1)
        info.taintAtStart = "O"
        let recorder = store.recorder(runID: id)
        await recorder.record(.started(info))
        var tainted = TestResult(id: "/t", outcome: .fail, started: info.started, duration: 1, exitStatus: 0,
                                 reason: "the kernel became tainted while it ran: W (the kernel issued a warning)")
        tainted.kernelLog = "[   43.559333] <4> WARNING: CPU: 0 PID: 1 at x.c:1\n"
        let plain = TestResult(id: "/u", outcome: .interrupted, reason: "not run: the host became unhealthy: /t tainted the kernel (W)")
        let health = SetupResult(name: "kernel", test: "/t", phase: .health, outcome: .failed,
                                 reason: "the host became unhealthy: /t tainted the kernel (W)")
        await recorder.record(.testFinished(tainted))
        await recorder.record(.setupFinished(health))
        await recorder.record(.testFinished(plain))
        await recorder.record(.finished(RunSummary(id: id, started: info.started, finished: info.started.addingTimeInterval(5),
                                                   tests: [tainted, plain], setups: [health], interrupted: false,
                                                   haltedBy: "/t tainted the kernel (W)")))
        let report = try store.report(id)
        #expect(report.run.taintAtStart == "O")
        #expect(report.tests.first { $0.id == "/t" }?.kernelLog == tainted.kernelLog)
        #expect(report.tests.first { $0.id == "/u" }?.kernelLog == nil)
        #expect(report.setups.map(\.phase) == [.health])
        #expect(report.run.exitCode == 3)
        #expect(report.exitCode(.standard) == 3)
    }
}
