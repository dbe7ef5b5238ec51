import Catalog
@testable import Execution
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import TestSupport
import Testing

/// A run of the executor on a `FakeLauncher`: no process is started.
struct FakeRun {
    let summary: RunSummary
    let log: EventLog
    let launcher: FakeLauncher

    /// The test results, by id.
    func test(_ id: String) -> TestResult? { summary.tests.first { $0.id == id } }

    /// The steps that started, as the events say: id and kind, in order.
    var started: [String] {
        log.events.withLock { events in
            events.compactMap { event -> String? in
                guard case let .stepStarted(id, kind, _) = event else { return nil }
                return "\(id) \(kind)"
            }
        }
    }
}

/// Runs tests and setups on a fake launcher; interrupts the run once the
/// commands `interrupts` name have started (one interrupt each, in order).
/// The run's id is `fake`: step N's processes have the tag `fake/N`.
func runOnFake(_ tests: [TestDefinition], _ setups: [SetupDefinition] = [], scripts: [String: FakeLauncher.Script] = [:],
               facts: any FactSource = host, jobs: Int = 1, halt: Bool = false, interrupts: [String] = []) async throws -> FakeRun {
    let plan = try Resolver(catalog: SuiteCatalog(tests: tests, setups: setups, roots: []), facts: facts).resolve()
    let tree = try TemporaryTree()
    let log = EventLog()
    let launcher = FakeLauncher(scripts)
    let executor = Executor(plan: plan, facts: facts,
                            options: ExecutorOptions(jobs: jobs, haltOnInfrastructureFailure: halt, runID: "fake",
                                                     layout: try RunLayout(directory: tree.path), baseEnvironment: ["PATH": "/bin"]),
                            launcher: launcher, recorders: [log])
    let run = Task { await executor.run(facts: []) }
    for command in interrupts {
        await launcher.started(command)
        executor.interrupt()
    }
    return FakeRun(summary: await run.value, log: log, launcher: launcher)
}

@Suite("Run loop on a fake launcher", .timeLimit(.minutes(1)))
struct RunLoopTests {
    @Test("-j 1 runs one step at a time in plan order; -j 2 overlaps them", arguments: [
        (1, ["start test /a", "end test /a", "start test /b", "end test /b"]),
        (2, ["start test /a", "start test /b", "end test /b", "end test /a"]),
    ])
    func jobs(jobs: Int, expected: [String]) async throws {
        let run = try await runOnFake([shellTest("/a", "test /a"), shellTest("/b", "test /b")],
                                      scripts: ["test /a": .init(.exit(0), delay: .milliseconds(300))], jobs: jobs)
        #expect(run.launcher.events == expected)
        #expect(run.started == ["0 test(\"/a\")", "1 test(\"/b\")"])
        #expect(run.summary.tests.map(\.outcome) == [.pass, .pass])
    }

    @Test("-j 1: a per-test setup, its test and its teardown run in turn, in the tests' order; services go after the teardown")
    func perTestSetupsInTurn() async throws {
        let run = try await runOnFake(
            [shellTest("/a", "test /a", setups: ["vm"]), shellTest("/b", "test /b", setups: ["vm"]), shellTest("/c", "test /c")],
            [shellSetup("vm", "make vm", teardown: "undo vm", scope: .test)])
        let tags = run.launcher.launches.filter { $0.command == "make vm" }.map(\.tag)
        try #require(tags.count == 2)
        #expect(run.launcher.events == [
            "start make vm", "end make vm", "start test /a", "end test /a", "start undo vm", "end undo vm", "release \(tags[0])",
            "start make vm", "end make vm", "start test /b", "end test /b", "start undo vm", "end undo vm", "release \(tags[1])",
            "start test /c", "end test /c",
        ])
        #expect(run.summary.tests.map(\.outcome) == [.pass, .pass, .pass])
        #expect(run.summary.setups.map(\.label) == ["vm [/a]", "vm [/a] (teardown)", "vm [/b]", "vm [/b] (teardown)"])
        #expect(run.summary.setups.map(\.outcome) == [.ok, .ok, .ok, .ok])
    }

    @Test("a shared setup's teardown runs after the last test that needs it, whichever ends last")
    func teardownAfterLastDependent() async throws {
        let run = try await runOnFake(
            [shellTest("/a", "test /a", setups: ["s"]), shellTest("/b", "test /b", setups: ["s"]), shellTest("/c", "test /c")],
            [shellSetup("s", "make s", teardown: "undo s")],
            scripts: ["test /a": .init(.exit(0), delay: .milliseconds(300))], jobs: 2)
        let events = run.launcher.events
        let teardown = try #require(events.firstIndex(of: "start undo s"))
        #expect(try #require(events.firstIndex(of: "end test /a")) < teardown)
        #expect(try #require(events.firstIndex(of: "end test /b")) < teardown)
        #expect(Array(events[teardown...]).filter { !$0.hasSuffix("test /c") }
                    == ["start undo s", "end undo s", "release \(run.launcher.launch(of: "make s")!.tag)"])
        #expect(events.filter { $0 == "start undo s" }.count == 1)
        #expect(run.summary.setups.map(\.label) == ["s", "s (teardown)"])
    }

    @Test("a setup that started and failed is still torn down; one that never started is not", arguments: [
        (FakeLauncher.Script(.exit(1)), ["start make s", "end make s", "start undo s", "end undo s", "release fake/0"],
         ["s failed exit 1", "s (teardown) ok -"]),
        (FakeLauncher.Script(.cannotStart(LaunchFailure(program: "make", errno: ENOENT, cause: .notFound(in: nil)))),
         ["start make s", "end make s"], ["s failed \(LaunchFailure(program: "make", errno: ENOENT, cause: .notFound(in: nil)))"]),
    ])
    func teardownAfterFailedSetup(script: FakeLauncher.Script, events: [String], setups: [String]) async throws {
        let run = try await runOnFake([shellTest("/a", "test /a", setups: ["s"])], [shellSetup("s", "make s", teardown: "undo s")],
                                      scripts: ["make s": script])
        #expect(run.launcher.events == events)
        #expect(run.summary.setups.map { "\($0.label) \($0.outcome) \($0.reason ?? "-")" } == setups)
        #expect(run.test("/a")?.outcome == .blocked)
        #expect(run.test("/a")?.blockedBy == "s")
        #expect(run.summary.exitCode() == 2)
    }

    @Test("an interrupt stops the running test, starts nothing new, and the teardown still runs to its end")
    func interrupt() async throws {
        let run = try await runOnFake(
            [shellTest("/a", "test /a", setups: ["s"]), shellTest("/b", "test /b", setups: ["s"])],
            [shellSetup("s", "make s", teardown: "undo s")],
            scripts: ["test /a": .init(.hang)], interrupts: ["test /a"])
        #expect(run.launcher.events == [
            "start make s", "end make s", "start test /a", "interrupt", "end test /a",
            "start undo s", "end undo s", "release fake/0",
        ])
        #expect(run.summary.tests.map { "\($0.id) \($0.outcome) \($0.reason ?? "-")" } == [
            "/a interrupted stopped by an interrupt",
            "/b interrupted the run was interrupted before it started",
        ])
        #expect(run.summary.setups.map { "\($0.label) \($0.outcome)" } == ["s ok", "s (teardown) ok"])
        #expect(run.summary.interrupted)
        #expect(run.summary.exitCode() == 130)
    }

    @Test("a second interrupt kills the teardown too, and what the setup left running goes at once")
    func secondInterrupt() async throws {
        let run = try await runOnFake(
            [shellTest("/a", "test /a", setups: ["s"])], [shellSetup("s", "make s", teardown: "undo s")],
            scripts: ["test /a": .init(.hang), "undo s": .init(.hang)], interrupts: ["test /a", "undo s"])
        #expect(run.launcher.events == [
            "start make s", "end make s", "start test /a", "interrupt", "end test /a",
            "start undo s", "kill", "end undo s", "release fake/0 at once",
        ])
        #expect(run.launcher.launch(of: "undo s")?.interruptible == false)
        #expect(run.summary.setups.map { "\($0.label) \($0.outcome) \($0.reason ?? "-")" } == [
            "s ok -", "s (teardown) interrupted stopped by an interrupt",
        ])
        #expect(run.test("/a")?.outcome == .interrupted)
    }

    @Test("a test's verdict from how its process ended", arguments: [
        (FakeLauncher.Script(.exit(0)), TestOutcome.pass, nil as String?, 0 as Int32?, nil as Int32?),
        (FakeLauncher.Script(.exit(3), output: "starting\nboom\n"), .fail, "exit 3: boom", 3, nil),
        (FakeLauncher.Script(.exit(77), output: "no kvm\n"), .skip, "skipped itself (exit 77): no kvm", 77, nil),
        (FakeLauncher.Script(.signal(SIGKILL)), .fail, "killed by signal 9 (SIGKILL)", nil, SIGKILL),
        (FakeLauncher.Script(.timeout), .timeout, "ran past its timeout of 30s and was killed", nil, SIGTERM),
    ])
    func testVerdicts(script: FakeLauncher.Script, outcome: TestOutcome, reason: String?, status: Int32?, signal: Int32?) async throws {
        let run = try await runOnFake([shellTest("/t", "test /t")], scripts: ["test /t": script])
        let result = try #require(run.test("/t"))
        #expect(result.outcome == outcome)
        #expect(result.reason == reason)
        #expect(result.exitStatus == status)
        #expect(result.signal == signal)
        #expect(result.logDirectory == "tests/t")
        #expect(run.launcher.launch(of: "test /t")?.timeout == .seconds(30))
    }

    @Test("a setup's exports reach the steps after it; each process gets its step's variables")
    func exports() async throws {
        let run = try await runOnFake([shellTest("/t", "test /t", setups: ["s"])], [shellSetup("s", "make s", teardown: "undo s")],
                                      scripts: ["make s": .init(.exit(0), exports: "IMAGE=/img/a.qcow2\n")])
        let setup = try #require(run.launcher.launch(of: "make s"))
        let test = try #require(run.launcher.launch(of: "test /t"))
        let teardown = try #require(run.launcher.launch(of: "undo s"))
        #expect(setup.environment["TESTBED_SETUP"] == "s")
        #expect(setup.environment["IMAGE"] == nil)
        #expect(setup.keepsLeftovers && setup.interruptible)
        #expect(test.environment["IMAGE"] == "/img/a.qcow2")
        #expect(test.environment["TESTBED_TEST_ID"] == "/t")
        #expect(!test.keepsLeftovers)
        #expect(teardown.environment["IMAGE"] == "/img/a.qcow2")
        #expect(teardown.environment["TESTBED_SETUP"] == "s")
        #expect([setup.tag, test.tag, teardown.tag] == ["fake/0", "fake/1", "fake/2"])
        #expect(run.test("/t")?.outcome == .pass)
    }
}
