import Catalog
import Declarations
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Requirements

/// What the executor knows as a run goes; owned by the task that drives the
/// run, never shared.
struct ExecutionState {
    let plan: Plan
    let planned: [String: PlannedTest]
    let dependents: [[Int]]
    var remaining: [Int]
    var ready: MinHeap
    /// Setup steps that started their `run` (their teardown is due).
    var started: Set<Int> = []
    /// Setup steps that failed or were blocked, with the setup at the root.
    var blame: [Int: String] = [:]
    /// What each setup step left running (its services), until its teardown.
    var services: [Int: LeftRunning] = [:]
    /// Each finished setup step's exports, its dependencies' included.
    var exports: [Int: [String: String]] = [:]
    var testResults: [String: TestResult] = [:]
    var setupResults: [SetupResult] = []
    /// An exclusive test waiting for the others to finish.
    var heldExclusive: Int?
    var exclusiveRunning = false
    var restorePending = false
    var restoreCount = 0
    var restoreFailed = false
    var haltedBy: String?
    /// Why the host became unhealthy (a test tainted the kernel or could
    /// not be killed): nothing new starts (`haltedBy` is set too).
    var unhealthy: String?
    /// The setups, teardowns and restores running now (by step index, -1
    /// for a restore), each as a taint found while no test runs names it.
    var stepsRunning: [Int: String] = [:]
    /// Those that ran since the taint was last read while no test ran
    /// (or a test ended), in the order they started: a taint found then
    /// appeared while one of them ran.
    var stepsSinceTaintRead: [String] = []
    /// The failed attempts of each test run again (`--rerun-failures`), first first.
    var failedAttempts: [String: [TestResult]] = [:]
    /// A test between attempts: its step, and how many of its per-test
    /// teardowns are still to end before it runs again.
    var awaitingRerun: [String: (step: Int, teardowns: Int)] = [:]
    /// The attempt each test run again is on (absent: its first).
    var attempt: [String: Int] = [:]
    /// What a per-test setup without a teardown left running before its test
    /// ran again: released at the end of the run, as `services` are.
    var retiredServices: [LeftRunning] = []
    /// Setup step index by setup name and test (nil for shared setups).
    let setupSteps: [SetupKey: Int]

    struct SetupKey: Hashable {
        let name: String
        let test: String?
    }

    init(plan: Plan, history: [String: TestHistory] = [:]) {
        self.plan = plan
        ready = MinHeap(keys: plan.steps.map { step in
            switch step.kind {
            case .test(let id):
                return StepPriority(history: history[id], order: step.id)
            case .testSetup(_, let test):
                // A per-test setup ranks as its test: what it starts lives until
                // its test has run, so instances must not pile up ahead of the
                // tests. Its test, ready once it is done, then outranks the next
                // test's setup (same key, earlier in plan order): with -j 1,
                // setup, test and teardown run in turn, in the tests' order.
                return StepPriority(history: history[test], order: step.id)
            default:
                return StepPriority(tier: 0, cost: 0, order: step.id)
            }
        })
        var planned: [String: PlannedTest] = [:]
        for test in plan.tests { planned[test.test.id] = test }
        self.planned = planned
        var dependents = Array(repeating: [Int](), count: plan.steps.count)
        var remaining = Array(repeating: 0, count: plan.steps.count)
        var setupSteps: [SetupKey: Int] = [:]
        for step in plan.steps {
            remaining[step.id] = step.dependencies.count
            for dependency in step.dependencies { dependents[dependency].append(step.id) }
            switch step.kind {
            case .setup(let name): setupSteps[SetupKey(name: name, test: nil)] = step.id
            case let .testSetup(name, test): setupSteps[SetupKey(name: name, test: test)] = step.id
            default: break
            }
        }
        self.dependents = dependents
        self.remaining = remaining
        self.setupSteps = setupSteps
        for step in plan.steps where step.dependencies.isEmpty { ready.push(step.id) }
    }

    /// The setup step a teardown step undoes.
    func setupStep(of teardown: Int) -> Int? {
        switch plan.steps[teardown].kind {
        case .teardown(let name): setupSteps[SetupKey(name: name, test: nil)]
        case let .testTeardown(name, test): setupSteps[SetupKey(name: name, test: test)]
        default: nil
        }
    }

    func setupName(of step: Int) -> String {
        switch plan.steps[step].kind {
        case .setup(let name), .testSetup(let name, _), .teardown(let name), .testTeardown(let name, _): name
        case .test(let id): id
        }
    }

    /// The test a step belongs to when it is a test or one of its
    /// `scope: test` setups or teardowns: the steps run again with it.
    func attemptOwner(of step: Int) -> String? {
        switch plan.steps[step].kind {
        case .test(let id): id
        case .testSetup(_, let test), .testTeardown(_, let test): test
        case .setup, .teardown: nil
        }
    }

    /// The steps of one attempt of the test at step `testStep`: its
    /// `scope: test` setups (each a direct dependency of the test), the test
    /// and its per-test teardowns (each depends on the test directly).
    func attemptSteps(ofTest testStep: Int) -> [Int] {
        guard case .test(let id) = plan.steps[testStep].kind else { return [] }
        let setups = plan.steps[testStep].dependencies.filter { attemptOwner(of: $0) == id }
        let teardowns = dependents[testStep].filter { attemptOwner(of: $0) == id }
        return setups + [testStep] + teardowns
    }

    /// The first dependency that failed or was blocked, and the setup at the root.
    func firstFailure(among dependencies: [Int]) -> (Int, String)? {
        for dependency in dependencies {
            if let root = blame[dependency] { return (dependency, root) }
        }
        return nil
    }

    /// The exports a step gets: those of every setup it depends on.
    func inputExports(for step: Int) -> [String: String] {
        var merged: [String: String] = [:]
        for dependency in plan.steps[step].dependencies {
            if let values = exports[dependency] { merged.merge(values) { $1 } }
        }
        return merged
    }
}
