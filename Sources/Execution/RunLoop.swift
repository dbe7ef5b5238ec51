import Catalog
import Declarations
import HostFacts
import KernelHealth
import Planning
import ProcessSupervision
import Requirements

/// How a step ended, as the run loop hears it: from the step runner, or from
/// the step gate for a step that did not start.
enum Completion: Sendable {
    case test(Int, TestResult)
    case setup(Int, SetupResult, exports: [String: String], started: Bool, blockedBy: String? = nil,
               services: LeftRunning? = nil)
    case teardown(Int, SetupResult)
    case teardownSkipped(Int)
    case restore(SetupResult)
}

/// Drives a run: takes ready steps off the heap in priority order, asks the
/// step gate whether each may start, keeps at most `jobs` running (a test
/// that is exclusive or dirties the host alone, a restore after it), hands
/// a teardown what its setup left running, and handles each completion
/// (results, exports, blame, the steps it makes ready), emitting the events.
///
/// Teardowns are placed by the plan (each depends on the last step that
/// needs its setup); the loop runs one once it is ready, after a failed
/// setup and after an interrupt too.
struct RunLoop {
    let plan: Plan
    let facts: any FactSource
    let options: ExecutorOptions
    let gate: StepGate
    let runner: StepRunner
    let interruption: Interruption
    let emit: @Sendable (RunEvent) -> Void

    /// Launches every step as soon as it may start and handles each completion,
    /// until none is left to run.
    func run(_ state: inout ExecutionState) async {
        // Every step reports its completion here. Tests are started right from
        // this loop and their completions come from the launcher; setups,
        // teardowns and restores (several processes each) run as child tasks.
        let (completions, sink) = AsyncStream.makeStream(of: Completion.self)
        let runner = self.runner
        await withDiscardingTaskGroup { group in
            var finished = completions.makeAsyncIterator()
            var running = 0
            while true {
                // Launch what can run now.
                launching: while running < options.jobs && !state.exclusiveRunning {
                    // A taint that appeared while no test ran stops what would start next.
                    if let health = options.kernelHealth { checkIdleTaint(health, &state) }
                    if state.restorePending {
                        guard running == 0 else { break launching }
                        state.restorePending = false
                        state.exclusiveRunning = true
                        running += 1
                        let index = state.restoreCount
                        state.restoreCount += 1
                        // One started after an interrupt cleans up like a teardown: it runs to its end.
                        let interruptible = !interruption.interrupted
                        stepStarted(-1, label: "the restore", &state)
                        group.addTask { sink.yield(await runner.runRestore(index: index, interruptible: interruptible)) }
                        break launching
                    }
                    if let held = state.heldExclusive {
                        guard running == 0 else { break launching }
                        state.heldExclusive = nil
                        state.exclusiveRunning = true
                        running += 1
                        start(held, &state, group: &group, sink: sink)
                        break launching
                    }
                    guard let next = state.ready.popMin() else { break launching }
                    switch gate.decide(next, state) {
                    case .skip(let completion):
                        finish(completion, &state)
                    case .launch(let exclusive):
                        if exclusive && running > 0 {
                            state.heldExclusive = next
                            break launching
                        }
                        if exclusive { state.exclusiveRunning = true }
                        running += 1
                        start(next, &state, group: &group, sink: sink)
                    }
                }
                if running == 0 && state.ready.isEmpty && state.heldExclusive == nil && !state.restorePending { break }
                guard let completion = await finished.next() else { break }
                running -= 1
                state.exclusiveRunning = false
                finish(completion, &state)
            }
            sink.finish()
        }
        // A taint from the last teardown still makes the host unhealthy.
        if let health = options.kernelHealth { checkIdleTaint(health, &state) }
    }

    /// While no test runs: a flag new in the taint (`KernelHealthMonitor.taintWhileIdle`)
    /// makes the host unhealthy before anything else starts; the reason
    /// names the setups and teardowns that ran since the taint was last read.
    func checkIdleTaint(_ health: KernelHealthMonitor, _ state: inout ExecutionState) {
        let taint = health.taintWhileIdle()
        guard !taint.isEmpty else { return }
        let culprits = state.stepsSinceTaintRead
        state.stepsSinceTaintRead = state.stepsRunning.sorted { $0.key < $1.key }.map(\.value)
        let during = culprits.isEmpty ? "while no test ran" : "during " + culprits.joined(separator: ", ")
        let source = culprits.isEmpty ? "by something else on the host" : "during " + culprits.joined(separator: ", ")
        becameUnhealthy("the kernel became tainted \(during) (\(taint.letters))",
                        reason: "the kernel became tainted while no test ran (\(source)): \(taint.decoded); not blamed on a test",
                        test: nil, &state)
    }

    /// A setup, teardown or restore starts: a taint found while no test runs may be its.
    func stepStarted(_ index: Int, label: String, _ state: inout ExecutionState) {
        state.stepsRunning[index] = label
        if !state.stepsSinceTaintRead.contains(label) { state.stepsSinceTaintRead.append(label) }
    }

    /// A setup, teardown or restore ended.
    func stepEnded(_ index: Int, _ state: inout ExecutionState) {
        state.stepsRunning[index] = nil
    }

    /// How a taint found while no test ran names a step: `setup s`, `teardown s [/t]`.
    func taintLabel(_ kind: Step.Kind) -> String {
        switch kind {
        case .setup(let name): "setup \(name)"
        case .testSetup(let name, let test): "setup \(name) [\(test)]"
        case .teardown(let name): "teardown \(name)"
        case .testTeardown(let name, let test): "teardown \(name) [\(test)]"
        case .test(let id): id
        }
    }

    /// Starts a step the gate let through: a test from this loop, a setup or
    /// teardown as a child task (a teardown stops what its setup left running).
    func start(_ index: Int, _ state: inout ExecutionState, group: inout DiscardingTaskGroup,
               sink: AsyncStream<Completion>.Continuation) {
        let step = plan.steps[index]
        emit(.stepStarted(id: index, kind: step.kind, logPath: nil))
        let environment = state.inputExports(for: index)
        // Nothing to look up unless a test runs again (most runs: none).
        let attempt = state.attempt.isEmpty ? 1 : state.attemptOwner(of: index).flatMap { state.attempt[$0] } ?? 1
        if case .test(let id) = step.kind {
            options.kernelHealth?.testStarting(id)
            runner.startTest(index, test: state.planned[id]!.test, environment: environment, attempt: attempt) { sink.yield($0) }
        } else {
            // A teardown stops what its setup left running, once it has run.
            let services = state.setupStep(of: index).flatMap { state.services.removeValue(forKey: $0) }
            if options.kernelHealth != nil { stepStarted(index, label: taintLabel(step.kind), &state) }
            let runner = self.runner
            group.addTask { sink.yield(await runner.runStep(index, environment: environment, services: services, attempt: attempt)) }
        }
    }

    /// Records how a step ended, emits it, and makes ready the steps that waited for it.
    func finish(_ completion: Completion, _ state: inout ExecutionState) {
        var finished: Int?
        switch completion {
        case let .test(index, result):
            // It read the taint as it ended: what ran before is cleared.
            if options.kernelHealth != nil { state.stepsSinceTaintRead = state.stepsRunning.sorted { $0.key < $1.key }.map(\.value) }
            // Halted before a rerun is considered; its health result comes after its own.
            if let why = result.unhealthy { halt(unhealthy: why, &state) }
            defer { if let why = result.unhealthy { recordHealth(reason: why, test: result.id, &state) } }
            if state.planned[result.id]?.test.dirties == true,
               result.outcome != .blocked, result.outcome != .interrupted || result.started != nil,
               options.restore != nil {
                state.restorePending = true
            }
            if rerunsLeft(after: result, state) {
                beginRerun(index, result, &state)
                return
            }
            let final = finalResult(result, &state)
            state.testResults[final.id] = final
            finished = index
            emit(.testFinished(final, step: index))
        case let .setup(index, result, exports, started, blockedBy, services):
            finished = index
            stepEnded(index, &state)
            if let services { state.services[index] = services }
            state.exports[index] = state.inputExports(for: index).merging(exports) { $1 }
            if started { state.started.insert(index) }
            if result.outcome.isInfrastructureFailure {
                state.blame[index] = result.name
                if options.haltOnInfrastructureFailure && state.haltedBy == nil { state.haltedBy = result.name }
            } else if let blockedBy {
                state.blame[index] = blockedBy
            } else if result.outcome == .interrupted {
                state.blame[index] = result.name
            }
            if result.outcome == .ok || result.outcome == .satisfied, let definition = plan.setups[result.name] {
                facts.invalidate(definition.provides.map(\.name))
            }
            state.setupResults.append(result)
            emit(.setupFinished(result, step: index))
        case let .teardown(index, result):
            stepEnded(index, &state)
            finished = teardownEnded(index, &state)
            state.setupResults.append(result)
            if result.outcome.isInfrastructureFailure && options.haltOnInfrastructureFailure && state.haltedBy == nil {
                state.haltedBy = result.label
            }
            emit(.setupFinished(result, step: index))
        case .teardownSkipped(let index):
            stepEnded(index, &state)
            finished = teardownEnded(index, &state)
        case .restore(let result):
            stepEnded(-1, &state)
            state.setupResults.append(result)
            if result.outcome != .ok { state.restoreFailed = true }
            emit(.setupFinished(result))
        }
        if let finished { release(finished, &state) }
    }

    /// The host became unhealthy (`why`: "/x tainted the kernel (W)"):
    /// nothing new starts (the first reason halts the run), and a `health`
    /// result, failed, counts as an infrastructure failure in the exit code.
    func becameUnhealthy(_ why: String, reason: String, test: String?, _ state: inout ExecutionState) {
        halt(unhealthy: why, &state)
        recordHealth(reason: reason, test: test, &state)
    }

    /// Nothing new starts: the first reason the host became unhealthy halts the run.
    func halt(unhealthy why: String, _ state: inout ExecutionState) {
        guard state.unhealthy == nil else { return }
        state.unhealthy = why
        if state.haltedBy == nil { state.haltedBy = why }
    }

    /// The `health` result, failed: an infrastructure failure in the exit code.
    func recordHealth(reason: String, test: String?, _ state: inout ExecutionState) {
        let result = SetupResult(name: "kernel", test: test, phase: .health, outcome: .failed,
                                 reason: "the host became unhealthy: " + reason)
        state.setupResults.append(result)
        emit(.setupFinished(result))
    }

    /// Makes ready the steps that waited for `step`; `within`: only those
    /// that belong to this test's attempt (its per-test teardowns), while
    /// the test runs again.
    func release(_ step: Int, within test: String? = nil, _ state: inout ExecutionState) {
        for dependent in state.dependents[step] where test == nil || state.attemptOwner(of: dependent) == test {
            state.remaining[dependent] -= 1
            if state.remaining[dependent] == 0 { state.ready.push(dependent) }
        }
    }

    // MARK: - Reruns (`--rerun-failures`)

    /// Whether a test that ended so runs again: it failed (`fail`, `timeout`,
    /// `error`), has reruns left, and the run was neither interrupted nor halted.
    func rerunsLeft(after result: TestResult, _ state: ExecutionState) -> Bool {
        result.outcome.isTestFailure && (state.failedAttempts[result.id]?.count ?? 0) < options.rerunFailures
            && !interruption.interrupted && state.haltedBy == nil
    }

    /// A failed attempt of a test that runs again: its per-test teardowns run
    /// (what waits for them beyond the test, shared teardowns, still waits),
    /// then its per-test setups and the test run again (`rearm`).
    func beginRerun(_ index: Int, _ result: TestResult, _ state: inout ExecutionState) {
        let id = result.id
        state.failedAttempts[id, default: []].append(result)
        emit(.testRerun(result, attempt: state.failedAttempts[id]!.count, step: index))
        let teardowns = state.dependents[index].filter { state.attemptOwner(of: $0) == id }
        state.awaitingRerun[id] = (index, teardowns.count)
        release(index, within: id, &state)
        if teardowns.isEmpty { rearm(id, &state) }
    }

    /// A teardown step ended: the step whose dependents it makes ready (nil
    /// when it was the last per-test teardown of an attempt and the test runs again).
    func teardownEnded(_ index: Int, _ state: inout ExecutionState) -> Int? {
        guard !state.awaitingRerun.isEmpty, case .testTeardown(_, let test) = plan.steps[index].kind,
              let waiting = state.awaitingRerun[test] else { return index }
        release(index, within: test, &state)
        state.awaitingRerun[test] = (waiting.step, waiting.teardowns - 1)
        if waiting.teardowns == 1 { rearm(test, &state) }
        return nil
    }

    /// Runs a test's attempt again once the last one's per-test teardowns
    /// ended: its per-test setups, the test and its teardowns wait again for
    /// one another (its shared setups are still up: what they wait for
    /// includes the test). After an interrupt or a halt it does not run
    /// again: its last failure is its result.
    func rearm(_ id: String, _ state: inout ExecutionState) {
        guard let (testStep, _) = state.awaitingRerun.removeValue(forKey: id) else { return }
        let steps = state.attemptSteps(ofTest: testStep)
        if interruption.interrupted || state.haltedBy != nil {
            var failures = state.failedAttempts.removeValue(forKey: id) ?? []
            guard var last = failures.popLast() else { return }
            last.attempts = failures.map(TestAttempt.init)
            last = judged(last, state)
            state.testResults[id] = last
            emit(.testFinished(last, step: testStep))
            // What waited for the test and its teardowns beyond this attempt (shared teardowns).
            for step in steps where step == testStep || state.attemptOwner(of: step) == id && plan.steps[step].kind.isTeardown {
                for dependent in state.dependents[step] where state.attemptOwner(of: dependent) != id {
                    state.remaining[dependent] -= 1
                    if state.remaining[dependent] == 0 { state.ready.push(dependent) }
                }
            }
            return
        }
        state.attempt[id] = (state.failedAttempts[id]?.count ?? 0) + 1
        let group = Set(steps)
        for step in steps {
            state.remaining[step] = plan.steps[step].dependencies.filter { group.contains($0) }.count
            if case .testSetup = plan.steps[step].kind {
                state.started.remove(step)
                state.blame[step] = nil
                state.exports[step] = nil
                if let left = state.services.removeValue(forKey: step) { state.retiredServices.append(left) }
            }
        }
        for step in steps where state.remaining[step] == 0 { state.ready.push(step) }
    }

    /// A test's result after its last attempt: its earlier attempts in
    /// `attempts`, a pass after failures marked `.rerun`, a failure judged by
    /// its flaky policy. An attempt that never started (an interrupt, a halt or
    /// a failed setup kept it from running again) is no attempt: the last
    /// failure is the result, its reason saying why it did not run again.
    func finalResult(_ result: TestResult, _ state: inout ExecutionState) -> TestResult {
        var final = result
        if var failures = state.failedAttempts.removeValue(forKey: result.id), !failures.isEmpty {
            if result.started == nil && (result.outcome == .blocked || result.outcome == .interrupted) {
                final = failures.removeLast()
                final.reason = OutcomeClassifier.adding("not run again: \(result.reason ?? result.outcome.rawValue)", to: final.reason)
            }
            final.attempts = failures.map(TestAttempt.init)
            if final.outcome == .pass { final.flaky = .rerun(attempts: failures.count + 1) }
        }
        return judged(final, state)
    }

    /// A failure of a test that declares `flaky: K/N`, forgiven (`.forgiven`)
    /// unless it failed in K of its last N runs on this host and environment.
    func judged(_ result: TestResult, _ state: ExecutionState) -> TestResult {
        guard result.outcome.isTestFailure, let policy = state.planned[result.id]?.test.flaky else { return result }
        let earlier = policy.window > 1 ? options.verdictHistory?.recentVerdicts(test: result.id, limit: policy.window - 1) ?? [] : []
        var judged = result
        judged.flaky = FlakyJudge.forgiveness(policy, earlier: earlier)
        return judged
    }
}

extension Step.Kind {
    /// A shared or per-test teardown.
    var isTeardown: Bool {
        switch self {
        case .teardown, .testTeardown: true
        case .setup, .testSetup, .test: false
        }
    }
}
