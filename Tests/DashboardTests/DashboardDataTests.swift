@testable import Dashboard
@testable import Execution
import Foundation
import History
import HostFacts
import Results
import TestSupport
import Testing

/// One run of the fake history: its host, kernel (in its snapshot), tests and setups.
struct FakeRun {
    var host: String
    var kernel: String
    var tests: [TestResult]
    var setups: [SetupResult] = []
}

/// A history of five runs recorded into a real results database (SQLite), oldest first:
/// run 0 on lab2 (a setup fails there), runs 1–4 on lab1; `/net/virtio` regresses in run 4
/// as the kernel moves from 6.1.0-13 to 6.1.0-15, `/net/flaky` flips every run, `guest-image`
/// fails once on lab1, `/disk/slow` gets slower, `/disk/kvm` is unsupported.
enum FakeHistory {
    static let kernels = ["6.1.0-13", "6.1.0-13", "6.1.0-13", "6.1.0-13", "6.1.0-15"]

    static func runs() -> [FakeRun] {
        (0..<5).map { index in
            let virtio: TestOutcome = index == 4 ? .fail : .pass
            let flaky: TestOutcome = index % 2 == 0 ? .fail : .pass
            var tests = [
                TestResult(id: "/net/virtio", outcome: virtio, started: Date(), duration: 0.5, exitStatus: virtio == .pass ? 0 : 1,
                           reason: virtio == .pass ? nil : "exit 1", logDirectory: "tests/~net~virtio"),
                TestResult(id: "/net/flaky", outcome: flaky, started: Date(), duration: 0.2, logDirectory: "tests/~net~flaky"),
                TestResult(id: "/disk/slow", outcome: .pass, started: Date(), duration: Double(index + 1), logDirectory: "tests/~disk~slow"),
                TestResult(id: "/disk/kvm", outcome: .unsupported, reason: "kvm is missing\nmemory >= 64G (this host has 8G)"),
            ]
            var setups: [SetupResult] = []
            if index == 0 { setups.append(SetupResult(name: "net-bridge", phase: .setup, outcome: .failed, reason: "exit 3: no bridge")) }
            if index == 2 {
                setups.append(SetupResult(name: "guest-image", phase: .setup, outcome: .failed, reason: "exit 7: no space left"))
                tests.append(TestResult(id: "/img/boot", outcome: .blocked, reason: "setup guest-image failed", blockedBy: "guest-image"))
            } else {
                setups.append(SetupResult(name: "guest-image", phase: .setup, outcome: .ok))
                tests.append(TestResult(id: "/img/boot", outcome: .pass, started: Date(), duration: 0.1, logDirectory: "tests/~img~boot"))
            }
            return FakeRun(host: index == 0 ? "lab2" : "lab1", kernel: kernels[index], tests: tests, setups: setups)
        }
    }

    /// The run ids, oldest first.
    static let ids = (0..<5).map { "2026113\($0)-010000-000\($0)" }

    /// Records the runs into a store in `tree`.
    static func record(in tree: TemporaryTree) async throws -> SQLiteRunStore {
        let store = try SQLiteRunStore(directory: tree.path)
        for (index, run) in runs().enumerated() {
            let started = Date(timeIntervalSince1970: 1_790_000_000 + Double(index) * 3600)
            let snapshot = RunSnapshot(facts: ["kernel": run.kernel, "arch": "x86_64"], packages: ["libvirt0": "9.0.0-4"])
            let info = RunInfo(id: ids[index], environment: "local", started: started, directory: tree.path + "/" + ids[index],
                               tests: run.tests.map(\.id), decided: run.tests.filter { $0.outcome == .unsupported }, facts: [],
                               jobs: 1, provenance: RunProvenance(host: run.host, snapshot: snapshot, labels: ["qemu": "9.\(index)"]))
            let recorder = store.recorder(runID: ids[index], exitCodes: .standard, layout: nil)
            await recorder.record(.started(info))
            for test in run.tests where test.outcome != .unsupported { await recorder.record(.testFinished(test)) }
            for setup in run.setups { await recorder.record(.setupFinished(setup)) }
            await recorder.record(.finished(RunSummary(id: ids[index], started: started, finished: started.addingTimeInterval(60),
                                                       tests: run.tests, setups: run.setups, interrupted: false, haltedBy: nil)))
        }
        return store
    }
}

@Suite("DashboardData from a store")
struct DashboardDataTests {
    @Test("runs oldest first, the latest at a glance: the code's failures apart from the lab's")
    func runsAndSummary() async throws {
        let tree = try TemporaryTree()
        let store = try await FakeHistory.record(in: tree)
        let data = try DashboardData(store: store, last: 20)
        #expect(data.runs.map(\.id) == FakeHistory.ids)
        #expect(data.runs.map(\.directory) == FakeHistory.ids)
        #expect(data.runs[2].infrastructureFailures == 1)
        let summary = try #require(data.summary)
        #expect(summary.run.id == FakeHistory.ids[4])
        #expect(summary.run.testFailures == 2)
        #expect(summary.failedSetups.isEmpty)
        #expect(summary.blocked == 0)
        #expect(summary.run.counts == [.pass: 2, .fail: 2, .unsupported: 1])
        #expect(data.tests.map(\.id) == ["/disk/kvm", "/disk/slow", "/img/boot", "/net/flaky", "/net/virtio"])
        let virtio = try #require(data.tests.last)
        #expect(virtio.outcomes == [.pass, .pass, .pass, .pass, .fail])
        #expect(virtio.log == "tests/~net~virtio")
        #expect(virtio.logged == [true, true, true, true, true])
        let boot = try #require(data.tests.first { $0.id == "/img/boot" })
        #expect(boot.outcomes[2] == .blocked)
        #expect(boot.logged == [true, true, false, true, true])
    }

    @Test("the diff against the previous run on the same host: the regression with its why and the kernel that moved")
    func comparison() async throws {
        let tree = try TemporaryTree()
        let data = try DashboardData(store: try await FakeHistory.record(in: tree), last: 20)
        let comparison = try #require(data.comparison)
        #expect(comparison.previous == FakeHistory.ids[3])
        // /net/flaky passed in run 3 and fails in run 4: a regression by the same rule.
        #expect(comparison.regressions.map(\.test) == ["/net/flaky", "/net/virtio"])
        let regression = try #require(comparison.regressions.last)
        #expect(regression.outcome == .fail)
        #expect(regression.lastPass == FakeHistory.ids[3])
        #expect(regression.changes.contains("kernel 6.1.0-13 → 6.1.0-15"), "\(regression.changes)")
        #expect(regression.why.contains("last passed in run \(FakeHistory.ids[3])"), "\(regression.why)")
        #expect(regression.log == "tests/~net~virtio")
        #expect(comparison.fixes == [])
        #expect(comparison.stillFailing == [])
        #expect(comparison.changes.contains("kernel 6.1.0-13 → 6.1.0-15"), "\(comparison.changes)")
        #expect(comparison.changes.contains("label qemu 9.3 → 9.4"), "\(comparison.changes)")
    }

    @Test("the flaky list, the most fragile setups and hosts, the slowest tests and the unsupported ones")
    func lists() async throws {
        let tree = try TemporaryTree()
        let data = try DashboardData(store: try await FakeHistory.record(in: tree), last: 20)
        #expect(data.flaky.map(\.test) == ["/net/flaky", "/net/virtio"])
        let flaky = try #require(data.flaky.first)
        #expect(flaky.flips == 4)
        #expect(flaky.ratio == FailRatio(failures: 3, verdicts: 5))
        #expect(data.fragileSetups.map(\.name) == ["guest-image", "net-bridge"])
        let image = try #require(data.fragileSetups.first)
        #expect((image.failures, image.failedRuns, image.runs, image.lastRun) == (1, 1, 5, FakeHistory.ids[2]))
        #expect(image.lastReason == "guest-image: exit 7: no space left")
        #expect(data.fragileHosts.map(\.name) == ["lab1", "lab2"])
        #expect(data.fragileHosts.map(\.runs) == [4, 1])
        #expect(data.fragileHosts.map(\.failures) == [1, 1])
        #expect(data.slowest.first?.id == "/disk/slow")
        #expect(data.slowest.first?.durations == [1, 2, 3, 4, 5])
        #expect(data.slowest.contains { $0.id == "/disk/kvm" } == false)
        #expect(data.unsupported == [DashboardData.UnsupportedRow(test: "/disk/kvm", reason: "kvm is missing\nmemory >= 64G (this host has 8G)")])
    }

    @Test("--last N: only the newest N runs are columns")
    func last() async throws {
        let tree = try TemporaryTree()
        let data = try DashboardData(store: try await FakeHistory.record(in: tree), last: 2)
        #expect(data.runs.map(\.id) == Array(FakeHistory.ids.suffix(2)))
        #expect(data.tests.allSatisfy { $0.outcomes.count == 2 })
        #expect(data.flaky.map(\.test) == ["/net/flaky", "/net/virtio"])
        #expect(data.fragileSetups.isEmpty)
        #expect(data.comparison?.previous == FakeHistory.ids[3])
    }

    @Test("a store without runs gives an empty dashboard, not an error")
    func empty() throws {
        let tree = try TemporaryTree()
        let data = try DashboardData(store: try SQLiteRunStore(directory: tree.path), last: 20)
        #expect(data.runs.isEmpty)
        #expect(data.summary == nil)
        #expect(data.comparison == nil)
        let html = DashboardPage(data: data).render()
        #expect(html.contains("No runs recorded"))
    }
}
