@testable import Catalog
@testable import Declarations
@testable import Execution
import Foundation
@testable import HostFacts
@testable import Planning
@testable import ProcessSupervision
@testable import Requirements
import Synchronization
import TestSupport
import Testing

/// Keeps every event, in order.
final class EventLog: Recorder {
    let events = Mutex<[RunEvent]>([])
    func record(_ event: RunEvent) async { events.withLock { $0.append(event) } }

    var tests: [TestResult] { events.withLock { $0.compactMap { if case .testFinished(let r, _) = $0 { r } else { nil } } } }
    var setups: [SetupResult] { events.withLock { $0.compactMap { if case .setupFinished(let r, _) = $0 { r } else { nil } } } }
}

func execute(_ tests: [TestDefinition], _ setups: [SetupDefinition] = [], facts: any FactSource = host,
             jobs: Int = 2, halt: Bool = false, recorders: [any Recorder] = []) async throws -> (RunSummary, EventLog, TemporaryTree) {
    let plan = try Resolver(catalog: SuiteCatalog(tests: tests, setups: setups, roots: []), facts: facts).resolve()
    let tree = try TemporaryTree()
    let log = EventLog()
    let executor = Executor(plan: plan, facts: facts,
                            options: ExecutorOptions(jobs: jobs, haltOnInfrastructureFailure: halt, runID: "test-\(UUID().uuidString)",
                                                     layout: try RunLayout(directory: tree.path),
                                                     baseEnvironment: ["PATH": "/usr/bin:/bin", "RUN_DIR": tree.path]),
                            supervisor: ProcessSupervisor(grace: .milliseconds(200)), recorders: [log] + recorders)
    return (await executor.run(facts: []), log, tree)
}

func shellTest(_ id: String, _ command: String, setups: [String] = [], requires: [String] = [],
               timeout: Duration = .seconds(30)) -> TestDefinition {
    TestDefinition(id: id, command: .shell(command), requires: requires.map { try! Requirement(parsing: $0) },
                   setups: setups, timeout: timeout, directory: "/", location: here)
}

func shellSetup(_ name: String, _ command: String, teardown: String? = nil, after: [String] = [],
                provides: [String] = [], scope: SetupDefinition.Scope = .run) -> SetupDefinition {
    SetupDefinition(name: name, run: command, teardown: teardown, provides: provides.map { ProvidedFact(parsing: $0)! },
                    after: after, scope: scope, directory: "/", location: here)
}

@Suite("Executor")
struct ExecutorTests {
    @Test("events: started first, finished last, every test once")
    func eventOrder() async throws {
        let (summary, log, _) = try await execute([shellTest("/a", "true"), shellTest("/b", "exit 1"),
                                                    shellTest("/u", "true", requires: ["kvm"])])
        let events = log.events.withLock { $0 }
        guard case .started(let info)? = events.first, case .finished? = events.last else {
            Issue.record("started/finished out of place")
            return
        }
        #expect(info.tests == ["/a", "/b", "/u"])
        #expect(info.decided.map(\.id) == ["/u"])
        #expect(Set(log.tests.map(\.id)) == ["/a", "/b"])
        #expect(summary.tests.map(\.outcome) == [.pass, .fail, .unsupported])
        #expect(summary.exitCode() == 1)
    }

    /// A recorder slow to take the run's start (a loaded machine), which
    /// then makes a file, as the store makes `latest` in the results directory.
    final class SlowStart: Recorder {
        let marker: String
        init(marker: String) { self.marker = marker }
        func record(_ event: RunEvent) async {
            guard case .started = event else { return }
            try? await Task.sleep(for: .milliseconds(300))
            FileManager.default.createFile(atPath: marker, contents: Data())
        }
    }

    @Test("the run's start is recorded before the first step is launched, however slow the recorder (no entry made behind a step's back)")
    func startRecordedBeforeFirstStep() async throws {
        let marks = try TemporaryTree()
        let marker = marks.path + "/started"
        let (summary, _, _) = try await execute([shellTest("/a", "test -e '\(marker)'")], jobs: 1,
                                                recorders: [SlowStart(marker: marker)])
        #expect(summary.tests.map(\.outcome) == [.pass], "\(summary.tests.map(\.reason))")
    }

    @Test("exports flow to everything after the setup, transitively, as literal text")
    func exports() async throws {
        let (summary, _, tree) = try await execute(
            [shellTest("/t", #"printf '%s|%s' "$FIRST" "$SECOND" > "$RUN_DIR/seen""#, setups: ["second"])],
            [shellSetup("first", #"echo 'FIRST=$(echo evaluated)' >> "$TESTBED_EXPORT""#),
             shellSetup("second", #"echo "SECOND=got $FIRST" >> "$TESTBED_EXPORT""#, after: ["first"])])
        #expect(summary.tests.first?.outcome == .pass)
        #expect(try String(contentsOfFile: tree["seen"], encoding: .utf8) == "$(echo evaluated)|got $(echo evaluated)")
    }

    @Test("a bad export file fails the setup, naming the line")
    func badExport() async throws {
        let (summary, _, _) = try await execute([shellTest("/t", "true", setups: ["s"])],
                                                [shellSetup("s", #"echo "not an assignment" >> "$TESTBED_EXPORT""#)])
        #expect(summary.setups.first?.outcome == .failed)
        #expect(summary.setups.first?.reason?.contains("line 1: expected KEY=VALUE") == true)
        #expect(summary.tests.first?.blockedBy == "s")
    }

    @Test("blame goes to the root of a chain; a failed setup is torn down")
    func blame() async throws {
        let (summary, _, tree) = try await execute(
            [shellTest("/t", "true", setups: ["c"]), shellTest("/free", "true")],
            [shellSetup("a", "exit 3", teardown: #"touch "$RUN_DIR/a-torn-down""#),
             shellSetup("b", "true", after: ["a"]), shellSetup("c", "true", after: ["b"])])
        let test = try #require(summary.tests.first)
        #expect(test.outcome == .blocked)
        #expect(test.blockedBy == "a")
        #expect(test.reason == "setup a failed")
        #expect(summary.tests[1].outcome == .pass)
        #expect(summary.setups.map { "\($0.label) \($0.outcome)" }.contains("a failed"))
        #expect(summary.setups.map { "\($0.label) \($0.outcome)" }.contains("b blocked"))
        #expect(FileManager.default.fileExists(atPath: tree["a-torn-down"]))
        #expect(summary.exitCode() == 2)
        #expect(summary.exitCode(.bisect) == 125)
    }

    @Test("a satisfied setup does not run and is not torn down")
    func satisfied() async throws {
        var setup = shellSetup("s", #"touch "$RUN_DIR/ran""#, teardown: #"touch "$RUN_DIR/torn""#)
        setup = SetupDefinition(name: setup.name, run: setup.run, teardown: setup.teardown, check: "true",
                                directory: "/", location: here)
        let (summary, _, tree) = try await execute([shellTest("/t", "true", setups: ["s"])], [setup])
        #expect(summary.setups.map(\.outcome) == [.satisfied])
        #expect(!FileManager.default.fileExists(atPath: tree["ran"]))
        #expect(!FileManager.default.fileExists(atPath: tree["torn"]))
        #expect(summary.tests.first?.outcome == .pass)
    }

    @Test("-j bounds how many run at once")
    func parallelism() async throws {
        let script = #"echo start >> "$RUN_DIR/log"; sleep 0.1; echo end >> "$RUN_DIR/log""#
        let (_, _, tree) = try await execute((1...6).map { shellTest("/t\($0)", script) }, jobs: 2)
        var running = 0
        var most = 0
        for line in try String(contentsOfFile: tree["log"], encoding: .utf8).split(separator: "\n") {
            running += line == "start" ? 1 : -1
            most = max(most, running)
        }
        #expect(most <= 2)
        #expect(running == 0)
    }
}

@Suite("Run layout and exit codes")
struct LayoutTests {
    @Test("ids become one safe directory name", arguments: [
        ("/migration/precopy/tcp", "migration~precopy~tcp"),
        ("/a b", "a%20b"),
        ("/../../etc", "..~..~etc"),
        ("/..", "%2E%2E"),
        ("/.", "%2E"),
        ("/~x%", "%7Ex%25"),
        ("/tmp/x.sh", "tmp~x.sh"),
        ("/ünï", "%C3%BCn%C3%AF"),
        ("/m/precopy[machine=pc,accel=tcg+x]", "m~precopy[machine=pc,accel=tcg+x]"),
    ])
    func encode(id: String, name: String) {
        #expect(RunLayout.encode(id) == name)
        #expect(!RunLayout.encode(id).contains("/"))
    }

    @Test("long ids stay under the name limit and apart")
    func long() {
        let a = RunLayout.encode("/" + String(repeating: "a", count: 300) + "1")
        let b = RunLayout.encode("/" + String(repeating: "a", count: 300) + "2")
        #expect(a.utf8.count <= 255)
        #expect(a != b)
    }

    @Test("exit codes", arguments: [
        (0, 0, false, false, ExitCodes.standard, Int32(0)),
        (1, 0, false, false, .standard, 1),
        (0, 1, false, false, .standard, 2),
        (2, 3, false, false, .standard, 3),
        (0, 0, false, true, .standard, 4),
        (1, 1, true, false, .standard, 130),
        (0, 0, false, false, .bisect, 0),
        (1, 0, false, false, .bisect, 1),
        (1, 1, false, false, .bisect, 1),
        (0, 1, false, false, .bisect, 125),
        (0, 0, false, true, .bisect, 125),
    ])
    func exitCodes(tests: Int, infra: Int, interrupted: Bool, nothing: Bool, codes: ExitCodes, expected: Int32) {
        #expect(codes.code(testFailures: tests, infrastructureFailures: infra, interrupted: interrupted, nothingSelected: nothing) == expected)
    }

    @Test("nothing tested (every test unsupported or skipped): bisect's 125, standard's 0", arguments: [
        (ExitCodes.standard, Int32(0)), (.bisect, 125),
    ])
    func nothingTested(codes: ExitCodes, expected: Int32) {
        #expect(codes.code(testFailures: 0, infrastructureFailures: 0, interrupted: false, nothingSelected: false,
                           nothingTested: true) == expected)
    }

    @Test("history: the test that failed last time starts first, then the longest; no history keeps plan order")
    func historyOrder() throws {
        let p = try plan([test("/short"), test("/long"), test("/failed"), test("/new"), test("/medium")])
        let history: [String: TestHistory] = [
            "/short": TestHistory(duration: 0.1, failed: false),
            "/long": TestHistory(duration: 9, failed: false),
            "/failed": TestHistory(duration: 0.5, failed: true),
            "/medium": TestHistory(duration: 2, failed: false),
        ]
        var state = ExecutionState(plan: p, history: history)
        var order: [String] = []
        while let next = state.ready.popMin() { order.append(p.steps[next].label) }
        #expect(order == ["/failed", "/new", "/long", "/medium", "/short"])
        var plain = ExecutionState(plan: p)
        var planOrder: [String] = []
        while let next = plain.ready.popMin() { planOrder.append(p.steps[next].label) }
        #expect(planOrder == ["/short", "/long", "/failed", "/new", "/medium"])
    }

    @Test("setups go before any test, whatever the history")
    func setupsFirst() throws {
        let p = try plan([test("/a"), test("/b", setups: ["s"])], [setup("s")])
        var state = ExecutionState(plan: p, history: ["/a": TestHistory(duration: 100, failed: true)])
        #expect(state.ready.popMin().map { p.steps[$0].label } == "s")
    }

    @Test("the ready heap pops in plan order")
    func heap() {
        var heap = MinHeap()
        for value in [5, 3, 9, 1, 7, 3, 0] { heap.push(value) }
        var popped: [Int] = []
        while let value = heap.popMin() { popped.append(value) }
        #expect(popped == [0, 1, 3, 3, 5, 7, 9])
    }
}

@Suite("which processes carry a tag")
struct TagMatchTests {
    static let environ = Array("HOME=/root\0TESTBED_PROCESS_TAG=run1/50\0PATH=/bin\0".utf8)

    @Test("a step's own tag matches its whole entry only: step 5 is not step 50", arguments: [
        ("TESTBED_PROCESS_TAG=run1/50", false, true),
        ("TESTBED_PROCESS_TAG=run1/5", false, false),
        ("TESTBED_PROCESS_TAG=run1/", true, true),
        ("TESTBED_PROCESS_TAG=run2/", true, false),
        ("TESTBED_PROCESS_TAG=run1/500", false, false),
    ])
    func match(entry: String, prefix: Bool, expected: Bool) {
        #expect(ProcessSupervisor.hasEntry(Self.environ, Array(entry.utf8), prefix: prefix) == expected)
    }
}

@Suite("Event dispatcher")
struct EventDispatcherTests {
    actor Collected: Recorder {
        var labels: [String] = []
        var waiting: CheckedContinuation<Void, Never>?

        func record(_ event: RunEvent) async {
            if case .stepStarted(_, .test(let label), _) = event { labels.append(label) }
            waiting?.resume()
            waiting = nil
        }

        func firstEvent() async {
            if !labels.isEmpty { return }
            await withCheckedContinuation { waiting = $0 }
        }
    }

    /// The pause between batches is an hour here: `finish` must end it, and
    /// what was sent during it still arrives, in order. (Before, the end of
    /// every run waited out the pause.)
    @Test(.timeLimit(.minutes(1)))
    func finishEndsThePauseAndDeliversTheRest() async {
        let collected = Collected()
        let dispatcher = EventDispatcher(recorders: [collected], interval: .seconds(3600))
        let delivery = Task { await dispatcher.deliver() }
        dispatcher.send(.stepStarted(id: 0, kind: .test("first"), logPath: nil))
        await collected.firstEvent()
        dispatcher.send(.stepStarted(id: 1, kind: .test("second"), logPath: nil))
        dispatcher.send(.stepStarted(id: 2, kind: .test("third"), logPath: nil))
        dispatcher.finish()
        await delivery.value
        #expect(await collected.labels == ["first", "second", "third"])
    }
}
