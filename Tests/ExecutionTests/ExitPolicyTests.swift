import Testing
@testable import Execution

/// Every code of README's and DESIGN.md's "Exit codes", from `ExitPolicy`.
struct ExitPolicyTests {
    /// One run: its test outcomes, setup outcomes, whether it was interrupted
    /// and whether its recording failed; the code under each scheme.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let tests: [TestOutcome]
        let setups: [SetupOutcome]
        var interrupted = false
        var recordingFailed = false
        /// The indices of `tests` whose failure the flaky policy forgave.
        var forgiven: Set<Int> = []
        let standard: Int32
        let bisect: Int32

        var testDescription: String { name }

        /// The tests as results (`forgiven` marked).
        var results: [TestResult] {
            tests.enumerated().map { index, outcome in
                TestResult(id: "/t\(index)", outcome: outcome,
                           flaky: forgiven.contains(index) ? .forgiven(failures: 1, window: 3, threshold: 2) : nil)
            }
        }
    }

    static let runs: [Case] = [
        Case(name: "every test passed", tests: [.pass, .pass], setups: [.ok], standard: 0, bisect: 0),
        Case(name: "passed, skipped and unsupported", tests: [.pass, .skip, .unsupported], setups: [], standard: 0, bisect: 0),
        Case(name: "a test failed", tests: [.pass, .fail], setups: [], standard: 1, bisect: 1),
        Case(name: "a test timed out", tests: [.timeout], setups: [], standard: 1, bisect: 1),
        Case(name: "a test could not start", tests: [.error, .pass], setups: [], standard: 1, bisect: 1),
        Case(name: "a setup failed, its test blocked", tests: [.blocked, .pass], setups: [.failed], standard: 2, bisect: 125),
        Case(name: "a teardown timed out", tests: [.pass], setups: [.ok, .timeout], standard: 2, bisect: 125),
        Case(name: "a broken promise: blocked without a failed setup", tests: [.blocked, .pass], setups: [.ok], standard: 2, bisect: 125),
        Case(name: "both: test failure and infrastructure failure", tests: [.fail, .blocked], setups: [.failed], standard: 3, bisect: 1),
        Case(name: "nothing selected", tests: [], setups: [], standard: 4, bisect: 125),
        Case(name: "nothing tested: every test unsupported or skipped", tests: [.unsupported, .skip], setups: [], standard: 0, bisect: 125),
        Case(name: "interrupted, whatever else happened", tests: [.fail, .interrupted], setups: [.failed], interrupted: true,
             standard: 130, bisect: 130),
        Case(name: "interrupted with nothing selected", tests: [], setups: [], interrupted: true, standard: 130, bisect: 130),
        Case(name: "recording failed: the infrastructure bit", tests: [.pass], setups: [], recordingFailed: true, standard: 2, bisect: 0),
        Case(name: "recording failed beside a test failure", tests: [.fail], setups: [], recordingFailed: true, standard: 3, bisect: 1),
        Case(name: "recording failed with nothing selected keeps 4", tests: [], setups: [], recordingFailed: true, standard: 4, bisect: 125),
        Case(name: "a failure its flaky policy forgave leaves the code alone", tests: [.pass, .fail], setups: [], forgiven: [1],
             standard: 0, bisect: 0),
        Case(name: "a forgiven failure beside one that counts", tests: [.fail, .fail], setups: [], forgiven: [1], standard: 1, bisect: 1),
        Case(name: "a forgiven failure is still a verdict", tests: [.skip, .timeout], setups: [], forgiven: [1], standard: 0, bisect: 0),
        Case(name: "recording failed when interrupted keeps 130", tests: [.pass], setups: [], interrupted: true, recordingFailed: true,
             standard: 130, bisect: 130),
    ]

    @Test("a run's exit code under each scheme", arguments: runs)
    func run(_ run: Case) {
        for (scheme, expected) in [(ExitCodes.standard, run.standard), (.bisect, run.bisect)] {
            let code = ExitPolicy(scheme).run(tests: run.results, setups: run.setups, interrupted: run.interrupted,
                                              recordingFailed: run.recordingFailed)
            #expect(code == expected, "\(scheme)")
        }
    }

    @Test("RunSummary.exitCode delegates to the policy", arguments: runs.filter { !$0.recordingFailed })
    func summary(_ run: Case) {
        let summary = RunSummary(
            id: "r", started: .now, finished: .now,
            tests: run.results,
            setups: run.setups.map { SetupResult(name: "s", phase: .setup, outcome: $0) },
            interrupted: run.interrupted, haltedBy: nil)
        #expect(summary.exitCode(.standard) == run.standard)
        #expect(summary.exitCode(.bisect) == run.bisect)
    }

    /// A code that does not come from a run: standard, then bisect.
    @Test("codes outside a run's results", arguments: [
        ("invalid declarations", ExitPolicy(.standard).invalidDeclarations, ExitPolicy(.bisect).invalidDeclarations, Int32(65), Int32(125)),
        ("nothing selected", ExitPolicy(.standard).nothingSelected, ExitPolicy(.bisect).nothingSelected, 4, 125),
        ("testbed cannot work here (descriptors, results directory)", ExitPolicy(.standard).cannotWork, ExitPolicy(.bisect).cannotWork, 2, 125),
        ("bad command line", ExitPolicy(.standard).badCommandLine, ExitPolicy(.bisect).badCommandLine, 64, 128),
    ] as [(String, Int32, Int32, Int32, Int32)])
    func codes(_ name: String, standard: Int32, bisect: Int32, expectedStandard: Int32, expectedBisect: Int32) {
        #expect(standard == expectedStandard, "\(name)")
        #expect(bisect == expectedBisect, "\(name)")
    }

    @Test("a missing suite path or environment file: the usual usage error, or bisect's 125")
    func missingInput() {
        #expect(ExitPolicy(.standard).missingInput == nil)
        #expect(ExitPolicy(.bisect).missingInput == 125)
    }

    @Test("fixed codes", arguments: [
        (ExitPolicy.success, Int32(0)), (ExitPolicy.testFailure, 1), (ExitPolicy.infrastructureFailure, 2),
        (ExitPolicy.usage, 64), (ExitPolicy.noSuchRun, 66), (ExitPolicy.untestable, 125), (ExitPolicy.stopBisection, 128),
        (ExitPolicy.interrupted, 130), (ExitPolicy.killed(by: 15), 143), (ExitPolicy.killed(by: 2), 130),
    ] as [(Int32, Int32)])
    func fixed(code: Int32, expected: Int32) {
        #expect(code == expected)
    }
}
