import Catalog
import Declarations
import Foundation
import HostFacts
import KernelHealth
import Planning
import ProcessSupervision
import Requirements
import Synchronization

/// How the executor runs a plan.
public struct ExecutorOptions: Sendable {
    /// How many steps run at once.
    public var jobs: Int
    /// Stop launching new steps after the first infrastructure failure.
    public var haltOnInfrastructureFailure: Bool
    /// The run's id: the prefix of every process tag.
    public var runID: String
    /// The run directory: steps' logs, setups' export files.
    public var layout: RunLayout
    /// The environment every process starts from (the caller's, plus the
    /// environment's binaries).
    public var baseEnvironment: [String: String]
    /// The environment's `restore` command and its directory.
    public var restore: (command: String, directory: String)?
    /// Earlier results by test id: failed-last and longest tests start first.
    public var history: [String: TestHistory]
    /// Every test's and setup's timeout is multiplied by this (meson's
    /// `--timeout-multiplier`, for slow hosts such as TCG); zero or less: no limits.
    public var timeoutMultiplier: Double
    /// How many more times a test that fails (`fail`, `timeout`, `error`) is
    /// run, with its `scope: test` setups (`--rerun-failures`); 0: none.
    public var rerunFailures: Int = 0
    /// Earlier verdicts on this host and environment, for the flaky policy
    /// of a test that declares `flaky: K/N` and failed; nil: none known.
    public var verdictHistory: (any VerdictHistory)?
    /// The kernel's health, watched as each test starts and ends (its kernel
    /// log, the taint: docs/kernel-health.md); nil: not watched.
    public var kernelHealth: KernelHealthMonitor?

    /// How to run a plan.
    /// - Parameters:
    ///   - jobs: How many steps run at once (at least 1).
    ///   - haltOnInfrastructureFailure: Stop launching new steps after the first infrastructure failure.
    ///   - runID: The run's id.
    ///   - layout: The run directory.
    ///   - baseEnvironment: The environment every process starts from.
    ///   - restore: The environment's `restore` command and its directory, if it declares one.
    ///   - history: Earlier results by test id.
    ///   - timeoutMultiplier: What every timeout is multiplied by; zero or less: no limits.
    public init(jobs: Int, haltOnInfrastructureFailure: Bool = false, runID: String, layout: RunLayout,
                baseEnvironment: [String: String], restore: (command: String, directory: String)? = nil,
                history: [String: TestHistory] = [:], timeoutMultiplier: Double = 1) {
        self.history = history
        self.timeoutMultiplier = timeoutMultiplier
        self.jobs = max(1, jobs)
        self.haltOnInfrastructureFailure = haltOnInfrastructureFailure
        self.runID = runID
        self.layout = layout
        self.baseEnvironment = baseEnvironment
        self.restore = restore
    }
}

/// Runs a plan as it stands: each step once its dependencies are done, at most
/// `jobs` at a time, in plan order among those ready.
///
/// A setup that fails blocks every step that depends on it (each blocked test
/// names the setup at the root of the failure); steps that do not depend on it
/// still run, unless `haltOnInfrastructureFailure`. Teardowns run after every
/// setup that started, even a failed one, and also after an interrupt.
///
/// The work is cut in four: `RunLoop` (order, slots, completions, events),
/// `StepGate` (whether a step may start), `StepRunner` (its processes) and
/// `OutcomeClassifier` (how they ended, as a result). Processes start through
/// a `ProcessLauncher`.
public final class Executor: Sendable {
    /// The plan it runs.
    public let plan: Plan
    /// The host's facts: promises are re-checked against them, tests get theirs as variables.
    public let facts: any FactSource
    /// How it runs the plan.
    public let options: ExecutorOptions
    /// What starts and stops the processes.
    public let launcher: any ProcessLauncher
    let dispatcher: EventDispatcher
    let interruption = Interruption()

    /// What a test blocked by a full results disk names as `blockedBy`.
    public static let fullDiskBlocker = "results disk"

    /// The most a setup's export file may hold, in bytes.
    public static let exportLimit = StepRunner.exportLimit

    /// An executor of `plan`.
    /// - Parameters:
    ///   - plan: The plan to run.
    ///   - facts: The host's facts.
    ///   - options: How to run it.
    ///   - launcher: What starts the processes (the real `SupervisedLauncher` by default).
    ///   - recorders: Who hears the run's events, in order.
    public init(plan: Plan, facts: any FactSource, options: ExecutorOptions,
                launcher: any ProcessLauncher = SupervisedLauncher(), recorders: [any Recorder]) {
        self.plan = plan
        self.facts = facts
        self.options = options
        self.launcher = launcher
        self.dispatcher = EventDispatcher(recorders: recorders)
    }

    /// An executor whose processes `supervisor` starts.
    /// - Parameters:
    ///   - plan: The plan to run.
    ///   - facts: The host's facts.
    ///   - options: How to run it.
    ///   - supervisor: The process supervisor (its grace period between SIGTERM and SIGKILL).
    ///   - recorders: Who hears the run's events, in order.
    public convenience init(plan: Plan, facts: any FactSource, options: ExecutorOptions,
                            supervisor: ProcessSupervisor, recorders: [any Recorder]) {
        self.init(plan: plan, facts: facts, options: options, launcher: SupervisedLauncher(supervisor: supervisor),
                  recorders: recorders)
    }

    /// Stops the run: the first call stops launching and terminates running
    /// tests and setups (teardowns still run); a second kills everything at once.
    public func interrupt() {
        if interruption.raise() == 1 { launcher.interruptAll() } else { launcher.killAll() }
    }

    /// Runs the plan; returns when every step has finished or been skipped.
    /// - Parameters:
    ///   - recordedFacts: The facts to record with the run (`RunInfo.facts`).
    ///   - provenance: The host, its snapshot, the labels and the suite's revision, recorded with the run (`RunInfo`).
    ///   - started: When the run started.
    /// - Returns: Every test's and setup's result, in plan order.
    public func run(facts recordedFacts: [Fact], provenance: RunProvenance = RunProvenance(), started: Date = Date()) async -> RunSummary {
        let dispatcher = self.dispatcher
        var state = ExecutionState(plan: plan, history: options.history)
        let decided = plan.tests.compactMap { planned -> TestResult? in
            guard case .unsupported(let unmet) = planned.status else { return nil }
            return TestResult(id: planned.test.id, outcome: .unsupported,
                              reason: unmet.map(\.description).joined(separator: "\n"))
        }
        for result in decided { state.testResults[result.id] = result }
        var info = RunInfo(
            id: options.runID, environment: plan.environment, started: started, directory: options.layout.directory,
            tests: plan.tests.map(\.test.id), decided: decided, facts: recordedFacts, jobs: options.jobs,
            provenance: provenance)
        info.rerunFailures = options.rerunFailures
        if let health = options.kernelHealth, !health.atStart.isEmpty { info.taintAtStart = health.atStart.letters }
        // One reader of the kernel log for the whole run; each test also drains it as it starts and ends.
        options.kernelHealth?.log?.start()
        defer { options.kernelHealth?.log?.stop() }
        // Recorded before the first step is launched (the run's row, `latest`):
        // made while a step is at work in the results directory, `latest`
        // would make a test's `rm -rf` of it fail ("Directory not empty").
        await dispatcher.deliverNow([.started(info)])
        let delivery = Task { await dispatcher.deliver() }

        // A TESTBED_VARIANT_* of the caller's (testbed run from a variant test) would reach every test and setup as its own.
        let base = EnvironmentBlock(options.baseEnvironment.filter { !$0.key.hasPrefix("TESTBED_VARIANT_") })
        let loop = RunLoop(
            plan: plan, facts: facts, options: options,
            gate: StepGate(plan: plan, facts: facts, interruption: interruption, base: base),
            runner: StepRunner(plan: plan, facts: facts, options: options, launcher: launcher, interruption: interruption, base: base),
            interruption: interruption, emit: { dispatcher.send($0) })
        // The loop runs on the launcher's thread (the exit watcher's, when it
        // has one): a test's exit and the start of the next test happen there,
        // with no other thread to wake in between.
        await withTaskExecutorPreference(launcher.preferredExecutor) {
            await loop.run(&state)
        }
        // What setups without a teardown (or whose teardown did not run) left
        // running lives until now.
        let services = Array(state.services.values) + state.retiredServices
        let launcher = self.launcher
        let immediately = interruption.hardStopped
        await withDiscardingTaskGroup { group in
            for left in services { group.addTask { await launcher.release(left, immediately: immediately) } }
        }
        await launcher.settle()

        let tests = plan.tests.map { state.testResults[$0.test.id] ?? TestResult(id: $0.test.id, outcome: .interrupted, reason: "not run") }
        let summary = RunSummary(id: options.runID, started: started, finished: Date(), tests: tests,
                                 setups: state.setupResults, interrupted: interruption.interrupted, haltedBy: state.haltedBy)
        dispatcher.send(.finished(summary))
        dispatcher.finish()
        await delivery.value
        return summary
    }
}

/// How many times the run was interrupted: once stops launching and
/// terminates what runs; twice kills everything.
final class Interruption: Sendable {
    let count = Mutex(0)

    /// Counts one more interrupt; returns how many there were.
    func raise() -> Int {
        count.withLock { value -> Int in
            value += 1
            return value
        }
    }

    /// Whether the run was interrupted.
    var interrupted: Bool { count.withLock { $0 > 0 } }
    /// Whether it was interrupted twice (everything is killed, no teardown starts).
    var hardStopped: Bool { count.withLock { $0 > 1 } }
}
