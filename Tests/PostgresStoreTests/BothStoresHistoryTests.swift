@testable import Execution
import Foundation
import HostFacts
import Requirements
import Results
import Subtests
import TestSupport
import Testing

/// Records one finished run through the store's recorder: `outcomes` in order, started `hour` hours after a fixed
/// time, its directory `directory/id` (a fixed directory makes two stores' runs the same).
func recordRun(_ store: some RunStore, id: String, hour: Int, host: String?, environment: String = "lab", directory: String? = nil,
               outcomes: [(String, TestOutcome)], snapshot: RunSnapshot? = nil, finish: Bool = true) async {
    var info = RunInfo(id: id, environment: environment, started: Date(timeIntervalSince1970: 1_700_000_000 + Double(hour) * 3600),
                       directory: (directory ?? store.directory) + "/" + id, tests: outcomes.map(\.0), decided: [], facts: [], jobs: 1)
    info.host = host
    info.snapshot = snapshot
    let recorder = store.recorder(runID: id, exitCodes: .standard, layout: nil)
    await recorder.record(.started(info))
    let results = outcomes.map { TestResult(id: $0.0, outcome: $0.1, started: info.started, duration: 0.25) }
    guard finish else {
        if let first = results.first { await recorder.record(.testFinished(first)) }
        return
    }
    for result in results { await recorder.record(.testFinished(result)) }
    await recorder.record(.finished(RunSummary(id: id, started: info.started, finished: info.started.addingTimeInterval(60),
                                               tests: results, setups: [], interrupted: false, haltedBy: nil)))
}

/// The history queries against both stores (SQLite, and PostgreSQL when `TESTBED_TEST_DATABASE` is set): each
/// case runs once per store and expects the same answer.
@Suite("Both stores: the lab's memory read back")
struct BothStoresHistoryTests {
    /// r1..r4 on lab1/lab, r5 on lab2/lab, r6 on lab1/other; /t: pass, skip, fail, pass, fail, pass.
    static func sample(_ kind: StoreKind, _ tree: TemporaryTree, directory: String? = nil) async throws -> any RunStore {
        let store = try kind.open(tree)
        let plan: [(String, String, String, TestOutcome)] = [
            ("r1", "lab1", "lab", .pass), ("r2", "lab1", "lab", .skip), ("r3", "lab1", "lab", .fail), ("r4", "lab1", "lab", .pass),
            ("r5", "lab2", "lab", .fail), ("r6", "lab1", "other", .pass),
        ]
        for (hour, (id, host, environment, outcome)) in plan.enumerated() {
            await recordRun(store, id: id, hour: hour, host: host, environment: environment, directory: directory,
                            outcomes: [("/t", outcome), ("/u", .pass)], snapshot: RunSnapshot(facts: ["kernel": "6.1.0-\(hour)"]))
        }
        return store
    }

    struct FilterCase: Sendable, CustomTestStringConvertible {
        var host: String?
        var environment: String?
        var limit: Int?
        var runs: [String]
        var testDescription: String { "host \(host ?? "any"), environment \(environment ?? "any"), limit \(limit.map(String.init) ?? "none")" }
    }

    static let filters: [FilterCase] = [
        FilterCase(host: nil, environment: nil, limit: nil, runs: ["r6", "r5", "r4", "r3", "r2", "r1"]),
        FilterCase(host: "lab1", environment: nil, limit: nil, runs: ["r6", "r4", "r3", "r2", "r1"]),
        FilterCase(host: "lab1", environment: "lab", limit: nil, runs: ["r4", "r3", "r2", "r1"]),
        FilterCase(host: nil, environment: "lab", limit: 2, runs: ["r5", "r4"]),
        FilterCase(host: "nowhere", environment: nil, limit: nil, runs: []),
    ]

    @Test("runs: newest first, by host and environment, at most limit, each with its counts", arguments: StoreKind.available, filters)
    func runs(_ kind: StoreKind, _ example: FilterCase) async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(kind, tree)
        let runs = try store.runs(RunFilter(host: example.host, environment: example.environment, limit: example.limit))
        #expect(runs.map(\.id) == example.runs)
        #expect(runs.allSatisfy { $0.counts.map { $0.values.reduce(0, +) } == 2 })
        #expect(try store.runs().map(\.id) == ["r6", "r5", "r4", "r3", "r2", "r1"])
    }

    @Test("a test's history: newest first, with its run's host and environment, filtered like runs", arguments: StoreKind.available, filters)
    func testHistory(_ kind: StoreKind, _ example: FilterCase) async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(kind, tree)
        let entries = try store.testHistory("/t", filter: RunFilter(host: example.host, environment: example.environment, limit: example.limit))
        #expect(entries.map(\.runID) == example.runs)
        if let r3 = entries.first(where: { $0.runID == "r3" }) {
            #expect(r3.outcome == .fail && r3.host == "lab1" && r3.environment == "lab" && r3.duration == 0.25)
            #expect(r3.started == Date(timeIntervalSince1970: 1_700_000_000 + 2 * 3600))
        }
        #expect(try store.testHistory("/nothing", filter: RunFilter()).isEmpty)
    }

    @Test("a run without counts on its row (killed) is counted from its results, a result never written as interrupted",
          arguments: StoreKind.available)
    func countedFallback(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        await recordRun(store, id: "k1", hour: 0, host: "lab1", outcomes: [("/a", .pass), ("/b", .pass)], finish: false)
        let run = try #require(try store.runs(RunFilter()).first)
        #expect(run.counts == [.pass: 1, .interrupted: 1])
        #expect(try store.run("k1").counts == [.pass: 1, .interrupted: 1])
        #expect(try store.run("k1").finished == nil)
        #expect(try store.testHistory("/b", filter: RunFilter()).isEmpty)
        let pending = try #require(try store.report("k1").tests.last)
        #expect(pending.outcome == .interrupted && pending.reason?.hasPrefix("not finished:") == true)
    }

    struct PreviousCase: Sendable, CustomTestStringConvertible {
        var run: String
        var previous: String?
        var testDescription: String { run }
    }

    @Test("the previous comparable run: the newest earlier one on the same host and environment", arguments: StoreKind.available,
          [PreviousCase(run: "r4", previous: "r3"), PreviousCase(run: "r5", previous: nil), PreviousCase(run: "r6", previous: nil),
           PreviousCase(run: "r1", previous: nil), PreviousCase(run: "r2", previous: "r1")])
    func previousComparable(_ kind: StoreKind, _ example: PreviousCase) async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(kind, tree)
        #expect(try store.previousComparableRun(of: store.run(example.run))?.id == example.previous)
    }

    @Test("a run without a host has no comparable run", arguments: StoreKind.available)
    func noHost(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        await recordRun(store, id: "o1", hour: 0, host: nil, outcomes: [("/t", .pass)])
        await recordRun(store, id: "o2", hour: 1, host: nil, outcomes: [("/t", .fail)])
        #expect(try store.previousComparableRun(of: store.run("o2")) == nil)
        #expect(try store.latestVerdicts(of: ["/t"], before: store.run("o2")).isEmpty)
    }

    @Test("earlier verdicts pass over skipped, blocked and unsupported runs, also beyond the runs read whole", arguments: StoreKind.available)
    func latestVerdicts(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        for hour in 0..<9 {
            let deep: TestOutcome = hour == 0 ? .pass : hour == 8 ? .fail : .unsupported
            let near: TestOutcome = hour == 6 ? .fail : hour == 7 ? .skip : hour == 8 ? .fail : .pass
            await recordRun(store, id: "h\(hour)", hour: hour, host: "lab1", outcomes: [("/deep", deep), ("/near", near), ("/never", .blocked)])
            await recordRun(store, id: "x\(hour)", hour: hour, host: "lab2", outcomes: [("/deep", .fail), ("/near", .pass)])
        }
        let verdicts = try store.latestVerdicts(of: ["/deep", "/near", "/never", "/absent"], before: store.run("h8"))
        #expect(verdicts["/deep"]?.runID == "h0")
        #expect(verdicts["/deep"]?.outcome == .pass)
        #expect(verdicts["/near"]?.runID == "h6")
        #expect(verdicts["/near"]?.outcome == .fail)
        #expect(verdicts["/never"] == nil && verdicts["/absent"] == nil)
        // The flaky policy's history: the newest verdicts on lab1/lab, the judged run left out.
        let history = store.verdictHistory(host: "lab1", environment: "lab", excludingRun: "h8")
        #expect(history.recentVerdicts(test: "/near", limit: 3) == [.fail, .pass, .pass])
        #expect(history.recentVerdicts(test: "/deep", limit: 5) == [.pass])
    }

    @Test("a run's snapshot decoded; none for a run that recorded none", arguments: StoreKind.available)
    func snapshot(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(kind, tree)
        #expect(try store.snapshot(ofRun: "r3")?.facts["kernel"] == "6.1.0-2")
        await recordRun(store, id: "bare", hour: 10, host: "lab1", outcomes: [("/t", .pass)])
        #expect(try store.snapshot(ofRun: "bare") == nil)
        #expect(try store.snapshot(ofRun: "no-such-run") == nil)
    }

    @Test("known tests and the ids of the latest runs (for did-you-mean)", arguments: StoreKind.available)
    func testIDs(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try await Self.sample(kind, tree)
        await recordRun(store, id: "r7", hour: 10, host: "lab1", outcomes: [("/new", .pass)])
        #expect(try store.hasTest("/t"))
        #expect(try !store.hasTest("/t2"))
        #expect(try store.recentTestIDs(runs: 1) == ["/new"])
        #expect(try store.recentTestIDs(runs: 2) == ["/new", "/t", "/u"])
    }

    @Test("run ids: the latest, a unique prefix, an ambiguous prefix, none; no runs at all", arguments: StoreKind.available)
    func runIDs(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let empty = try kind.open(tree)
        #expect(throws: StoreError.self) { try empty.report(nil) }
        #expect(empty.history().isEmpty)
        let store = try await Self.sample(kind, tree)
        await recordRun(store, id: "r10", hour: 10, host: "lab1", outcomes: [("/t", .pass)])
        #expect(try store.run(nil).id == "r10")
        #expect(try store.run("r10").id == "r10")
        #expect(try store.report("r6").run.id == "r6")
        do {
            _ = try store.run("r1")
        } catch .ambiguousRun(let prefix, let ids, _) {
            // r1 is a run and the prefix of r10: the exact id wins.
            Issue.record("exact id r1 was taken as a prefix of \(ids) (\(prefix))")
        }
        #expect(try store.run("r1").id == "r1")
        do {
            _ = try store.run("r%")
            Issue.record("r% matched a run")
        } catch .noSuchRun(let id, _) {
            #expect(id == "r%")
        }
        var ambiguous: [String] = []
        do { _ = try store.run("r") } catch .ambiguousRun(_, let ids, _) { ambiguous = ids }
        #expect(ambiguous == ["r10", "r6", "r5", "r4", "r3", "r2", "r1"])
        // The executor's ordering: each test's latest verdict.
        let history = store.history()
        #expect(history["/t"]?.failed == false && history["/u"]?.duration == 0.25)
    }

    @Test("a run's outcomes and brief results: tests in plan order, setups in the order they ended", arguments: StoreKind.available)
    func outcomesAndBrief(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        var info = RunInfo(id: "s1", environment: "lab", started: Date(timeIntervalSince1970: 1_700_000_000), directory: store.directory + "/s1",
                           tests: ["/b", "/a", "/c"], decided: [TestResult(id: "/c", outcome: .unsupported, reason: "needs kvm")],
                           facts: [Fact(name: "kernel", value: "6.1", source: "uname")], jobs: 2)
        info.host = "lab1"
        let recorder = store.recorder(runID: "s1", exitCodes: .standard, layout: nil)
        await recorder.record(.started(info))
        let setup = SetupResult(name: "vm", phase: .setup, outcome: .ok, started: info.started, duration: 1.5)
        await recorder.record(.setupFinished(setup))
        let b = TestResult(id: "/b", outcome: .fail, started: info.started, duration: 2, exitStatus: 3, reason: "exit 3", logDirectory: "tests/b")
        await recorder.record(.testFinished(b))
        let teardown = SetupResult(name: "vm", phase: .teardown, outcome: .failed, duration: 0.5, exitStatus: 1, reason: "exit 1")
        await recorder.record(.setupFinished(teardown))
        let outcomes = try store.outcomes(ofRun: "s1")
        #expect(outcomes.tests.map(\.id) == ["/b", "/a", "/c"])
        #expect(outcomes.tests.map(\.outcome) == [.fail, .interrupted, .unsupported])
        #expect(outcomes.setups.map(\.phase) == [.setup, .teardown])
        let brief = try store.briefResults(ofRun: "s1")
        #expect(brief.tests.map(\.id) == ["/b", "/c"])
        #expect(brief.tests.first?.logDirectory == "tests/b" && brief.tests.first?.duration == 2)
        #expect(brief.setups.map(\.outcome) == [.ok, .failed])
        #expect(brief.setups.last?.reason == "exit 1")
        let report = try store.report("s1")
        #expect(report.facts == [Fact(name: "kernel", value: "6.1", source: "uname")])
        #expect(report.run.jobs == 2 && report.run.host == "lab1")
        #expect(report.tests.first?.exitStatus == 3 && report.tests.first?.reason == "exit 3")
        #expect(report.tests.last?.reason == "needs kvm")
    }
}
