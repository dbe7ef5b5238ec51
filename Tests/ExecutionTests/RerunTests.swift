import Catalog
@testable import Execution
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Synchronization
import TestSupport
import Testing

/// Earlier verdicts as a test gives them; counts what it was asked.
final class FixedVerdicts: VerdictHistory {
    let verdicts: [String: [TestOutcome]]
    let asked = Mutex<[(String, Int)]>([])

    init(_ verdicts: [String: [TestOutcome]]) {
        self.verdicts = verdicts
    }

    func recentVerdicts(test: String, limit: Int) -> [TestOutcome] {
        asked.withLock { $0.append((test, limit)) }
        return Array((verdicts[test] ?? []).prefix(limit))
    }
}

/// Runs on a fake launcher with `--rerun-failures reruns`; `sequences`: commands
/// that end differently each time; interrupts once `interruptAt` has started
/// `interruptAfter` times.
func rerunOnFake(_ tests: [TestDefinition], _ setups: [SetupDefinition] = [], reruns: Int,
                 scripts: [String: FakeLauncher.Script] = [:], sequences: [String: [FakeLauncher.Script]] = [:],
                 verdicts: (any VerdictHistory)? = nil,
                 interruptAt: String? = nil, interruptAfter: Int = 1) async throws -> FakeRun {
    let plan = try Resolver(catalog: SuiteCatalog(tests: tests, setups: setups, roots: []), facts: host).resolve()
    let tree = try TemporaryTree()
    let log = EventLog()
    let launcher = FakeLauncher(scripts, sequences: sequences)
    var options = ExecutorOptions(jobs: 1, runID: "fake", layout: try RunLayout(directory: tree.path), baseEnvironment: ["PATH": "/bin"])
    options.rerunFailures = reruns
    options.verdictHistory = verdicts
    let executor = Executor(plan: plan, facts: host, options: options, launcher: launcher, recorders: [log])
    let run = Task { await executor.run(facts: []) }
    if let interruptAt {
        // Polled without blocking a thread: the run goes on on the same pool.
        var waited = 0
        while launcher.launches.filter({ $0.command == interruptAt }).count < interruptAfter && waited < 3000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        executor.interrupt()
    }
    return FakeRun(summary: await run.value, log: log, launcher: launcher)
}

func flakyTest(_ id: String, _ command: String, flaky: String? = nil, setups: [String] = []) -> TestDefinition {
    TestDefinition(id: id, command: .shell(command), setups: setups, directory: "/", location: here, flaky: flaky.flatMap(FlakyPolicy.init))
}

extension FakeRun {
    /// The `testRerun` events: test id and attempt.
    var reruns: [String] {
        log.events.withLock { events in
            events.compactMap { event -> String? in
                guard case let .testRerun(result, attempt, _) = event else { return nil }
                return "\(result.id) \(attempt) \(result.outcome)"
            }
        }
    }

    /// How many times `command` started.
    func starts(_ command: String) -> Int { launcher.launches.filter { $0.command == command }.count }
}

@Suite("Reruns (--rerun-failures) and the flaky policy on a fake launcher", .timeLimit(.minutes(1)))
struct RerunTests {
    @Test("a test that fails, then passes: two attempts, a pass marked flaky, the first attempt kept with its own directory")
    func failThenPass() async throws {
        let run = try await rerunOnFake([flakyTest("/a", "test /a"), flakyTest("/b", "test /b")], reruns: 2,
                                        sequences: ["test /a": [.init(.exit(1), output: "boom\n"), .init(.exit(0))]])
        let a = try #require(run.test("/a"))
        #expect(a.outcome == .pass)
        #expect(a.flaky == .rerun(attempts: 2))
        #expect(a.attempts.map(\.outcome) == [.fail])
        #expect(a.attempts.first?.exitStatus == 1)
        #expect(a.attempts.first?.logDirectory == "tests/a")
        #expect(a.logDirectory == "tests/a/attempt-2")
        #expect(run.starts("test /a") == 2)
        #expect(run.starts("test /b") == 1)
        #expect(run.reruns == ["/a 1 fail"])
        #expect(run.summary.exitCode() == 0)
        #expect(run.test("/b")?.attempts == [])
        #expect(run.test("/b")?.flaky == nil)
    }

    @Test("a test that fails every attempt: N + 1 attempts, the last is the result, no flaky mark", arguments: [0, 1, 3])
    func failsEveryTime(reruns: Int) async throws {
        let run = try await rerunOnFake([flakyTest("/a", "test /a")], reruns: reruns, scripts: ["test /a": .init(.exit(3))])
        let a = try #require(run.test("/a"))
        #expect(a.outcome == .fail)
        #expect(a.flaky == nil)
        #expect(a.attempts.count == reruns)
        #expect(run.starts("test /a") == reruns + 1)
        #expect(a.logDirectory == (reruns == 0 ? "tests/a" : "tests/a/attempt-\(reruns + 1)"))
        #expect(run.summary.exitCode() == 1)
    }

    @Test("a pass, a skip and a timeout: only failures (fail, timeout, error) run again")
    func onlyFailuresRerun() async throws {
        let run = try await rerunOnFake([flakyTest("/p", "pass"), flakyTest("/s", "skip"), flakyTest("/t", "slow")], reruns: 1,
                                        scripts: ["skip": .init(.exit(77)), "slow": .init(.timeout)])
        #expect(run.starts("pass") == 1)
        #expect(run.starts("skip") == 1)
        #expect(run.starts("slow") == 2)
        #expect(run.test("/t")?.attempts.map(\.outcome) == [.timeout])
    }

    @Test("per-test setups and teardowns run around each attempt; a shared setup stays up until the last attempt's teardown")
    func setupsAroundEachAttempt() async throws {
        let run = try await rerunOnFake(
            [flakyTest("/a", "test /a", setups: ["vm"])],
            [shellSetup("net", "make net", teardown: "undo net"), shellSetup("vm", "make vm", teardown: "undo vm", after: ["net"], scope: .test)],
            reruns: 2, sequences: ["test /a": [.init(.exit(1)), .init(.exit(1)), .init(.exit(0))]])
        let commands = run.launcher.events.filter { !$0.hasPrefix("release") }
        #expect(commands == [
            "start make net", "end make net",
            "start make vm", "end make vm", "start test /a", "end test /a", "start undo vm", "end undo vm",
            "start make vm", "end make vm", "start test /a", "end test /a", "start undo vm", "end undo vm",
            "start make vm", "end make vm", "start test /a", "end test /a", "start undo vm", "end undo vm",
            "start undo net", "end undo net",
        ])
        let a = try #require(run.test("/a"))
        #expect(a.flaky == .rerun(attempts: 3))
        #expect(a.attempts.map(\.logDirectory) == ["tests/a", "tests/a/attempt-2"])
        // Each attempt's setup logs are its own.
        let logs = run.summary.setups.filter { $0.name == "vm" }.map { $0.logPath ?? "" }
        #expect(logs == [
            "setups/vm/for/a/run.log", "setups/vm/for/a/teardown.log",
            "setups/vm/for/a/attempt-2/run.log", "setups/vm/for/a/attempt-2/teardown.log",
            "setups/vm/for/a/attempt-3/run.log", "setups/vm/for/a/attempt-3/teardown.log",
        ])
        // Each attempt's test directory is its own too.
        let outputs = run.launcher.launches.filter { $0.command == "test /a" }.compactMap { $0.environment["TESTBED_OUTPUT_DIR"] }
        #expect(outputs.map { $0.split(separator: "/").suffix(2).joined(separator: "/") } == ["tests/a", "a/attempt-2", "a/attempt-3"])
    }

    @Test("a rerun's per-test setup that fails: the test is not run again, its failure stands, the setup's failure is the lab's")
    func rerunSetupFails() async throws {
        let run = try await rerunOnFake([flakyTest("/a", "test /a", setups: ["vm"])],
                                        [shellSetup("vm", "make vm", teardown: "undo vm", scope: .test)],
                                        reruns: 2, scripts: ["test /a": .init(.exit(1))],
                                        sequences: ["make vm": [.init(.exit(0)), .init(.exit(5))]])
        let a = try #require(run.test("/a"))
        #expect(a.outcome == .fail)
        #expect(a.attempts.isEmpty)
        #expect(a.reason?.contains("not run again: setup vm failed") == true)
        #expect(run.starts("test /a") == 1)
        #expect(run.summary.exitCode() == 3)
    }

    @Test("an interrupt while an attempt runs: no further attempt, the teardowns run")
    func interruptDuringRerun() async throws {
        let run = try await rerunOnFake([flakyTest("/a", "test /a", setups: ["vm"]), flakyTest("/b", "test /b")],
                                        [shellSetup("vm", "make vm", teardown: "undo vm", scope: .test)], reruns: 3,
                                        sequences: ["test /a": [.init(.exit(1)), .init(.hang)]],
                                        interruptAt: "test /a", interruptAfter: 2)
        let a = try #require(run.test("/a"))
        #expect(a.outcome == .interrupted)
        #expect(a.attempts.map(\.outcome) == [.fail])
        #expect(run.starts("test /a") == 2)
        #expect(run.starts("undo vm") == 2)
        #expect(run.starts("test /b") == 0)
        #expect(run.summary.exitCode() == 130)
    }

    @Test("an interrupt between attempts (during the teardown): not run again, the failure is the result")
    func interruptBetweenAttempts() async throws {
        let run = try await rerunOnFake([flakyTest("/a", "test /a", setups: ["vm"])],
                                        [shellSetup("vm", "make vm", teardown: "undo vm", scope: .test)], reruns: 3,
                                        scripts: ["test /a": .init(.exit(1)), "undo vm": .init(.exit(0), delay: .milliseconds(200))],
                                        interruptAt: "undo vm")
        let a = try #require(run.test("/a"))
        #expect(a.outcome == .fail)
        #expect(a.attempts.isEmpty)
        #expect(run.starts("test /a") == 1)
        #expect(run.starts("make vm") == 1)
        #expect(run.starts("undo vm") == 1)
    }

    @Test("flaky: 2/3 forgives a first failure after passes, counts a second", arguments: [
        ([TestOutcome.pass, .pass], FlakyMark?.some(.forgiven(failures: 1, window: 3, threshold: 2)), Int32(0)),
        ([.fail, .pass], nil, 1),
        ([.pass, .timeout], nil, 1),
        ([], .forgiven(failures: 1, window: 1, threshold: 2), 0),
        ([.pass, .pass, .fail, .fail], .forgiven(failures: 1, window: 3, threshold: 2), 0),
    ])
    func policy(earlier: [TestOutcome], mark: FlakyMark?, code: Int32) async throws {
        let verdicts = FixedVerdicts(["/a": earlier])
        let run = try await rerunOnFake([flakyTest("/a", "test /a", flaky: "2/3")], reruns: 0,
                                        scripts: ["test /a": .init(.exit(1))], verdicts: verdicts)
        let a = try #require(run.test("/a"))
        #expect(a.outcome == .fail)
        #expect(a.flaky == mark)
        #expect(run.summary.exitCode() == code)
        #expect(verdicts.asked.withLock { $0.map(\.1) } == [2])
    }

    @Test("the policy judges the last attempt; a test without flaky is never looked up; a pass is never judged")
    func policyAfterReruns() async throws {
        let verdicts = FixedVerdicts(["/a": [.pass, .pass], "/b": [.pass, .pass]])
        let run = try await rerunOnFake([flakyTest("/a", "test /a", flaky: "2/3"), flakyTest("/b", "test /b"),
                                         flakyTest("/c", "test /c", flaky: "1/5")],
                                        reruns: 1, scripts: ["test /a": .init(.exit(1)), "test /b": .init(.exit(1))], verdicts: verdicts)
        #expect(run.test("/a")?.flaky == .forgiven(failures: 1, window: 3, threshold: 2))
        #expect(run.test("/a")?.attempts.count == 1)
        #expect(run.test("/b")?.flaky == nil)
        #expect(run.test("/c")?.flaky == nil)
        #expect(verdicts.asked.withLock { $0.map(\.0) } == ["/a"])
        #expect(run.summary.exitCode() == 1)
        #expect(run.summary.testFailures == 1)
    }

    @Test("FlakyJudge: failures counted in the last N runs, this one included", arguments: [
        ("1/1", [TestOutcome](), nil as FlakyMark?),
        ("3/10", [.fail, .pass, .skip, .fail], nil),
        ("3/10", [.fail, .pass, .pass], .forgiven(failures: 2, window: 4, threshold: 3)),
        ("2/2", [.pass, .fail], .forgiven(failures: 1, window: 2, threshold: 2)),
    ])
    func judge(policy: String, earlier: [TestOutcome], expected: FlakyMark?) throws {
        let policy = try #require(FlakyPolicy(policy))
        #expect(FlakyJudge.forgiveness(policy, earlier: earlier) == expected)
    }
}

@Suite("TestResult as JSON")
struct TestResultCodingTests {
    @Test("attempts and the flaky mark round-trip; a result written before them reads as one attempt, not flaky")
    func coding() throws {
        let result = TestResult(id: "/a", outcome: .pass, duration: 1, exitStatus: 0, logDirectory: "tests/a/attempt-2",
                                attempts: [TestAttempt(outcome: .fail, exitStatus: 1, reason: "exit 1", logDirectory: "tests/a")],
                                flaky: .rerun(attempts: 2))
        let decoded = try JSONDecoder().decode(TestResult.self, from: JSONEncoder().encode(result))
        #expect(decoded == result)
        let old = try JSONDecoder().decode(TestResult.self, from: Data(#"{"id": "/b", "outcome": "fail", "duration": 2}"#.utf8))
        #expect(old == TestResult(id: "/b", outcome: .fail, duration: 2))
    }
}
